using Iced.Intel;
using IcedRegister = Iced.Intel.Register;

namespace Repl.Machine.Tests.Differential;

public partial class HostDifferentialTests
{
    const int StringWindowHalf = 2048;
    const int MaxRepeat = 40;

    [Theory, InlineData(64), InlineData(32)]
    public void Strings_match_host(int bitness)
    {
        if (Family.Start("strings", bitness, output, totals) is not { } f)
            return;
        var options = new FormOptions { WindowHalf = StringWindowHalf };
        // The code's address size and the one a 0x67 prefix selects: 32 in 64-bit code, 16 in 32-bit code.
        foreach (int addressSize in new[] { bitness, bitness / 2 })
        {
            if (addressSize == 16 && !f.Addresses16)
                continue; // the family has said why
            foreach (var instruction in StringInstructions(addressSize).Where(i => f.Exists(i.Code)))
            {
                string rep = instruction.HasRepePrefix ? "rep " : instruction.HasRepnePrefix ? "repne " : "";
                f.Custom(instruction, $"{rep}{instruction.Code} a{addressSize}", 150, options, c => StringOperands(f, c, addressSize));
            }
        }
        f.Finish();
    }

    /// <summary>MOVS, STOS, LODS without and with REP; CMPS and SCAS without, with REPE and with REPNE; every element size.</summary>
    static IEnumerable<Instruction> StringInstructions(int a)
    {
        RepPrefixKind[] plain = [RepPrefixKind.None, RepPrefixKind.Repe];
        RepPrefixKind[] compare = [RepPrefixKind.None, RepPrefixKind.Repe, RepPrefixKind.Repne];
        var none = IcedRegister.None;
        foreach (var r in plain)
        {
            yield return Instruction.CreateMovsb(a, none, r);
            yield return Instruction.CreateMovsw(a, none, r);
            yield return Instruction.CreateMovsd(a, none, r);
            yield return Instruction.CreateMovsq(a, none, r);
            yield return Instruction.CreateStosb(a, r);
            yield return Instruction.CreateStosw(a, r);
            yield return Instruction.CreateStosd(a, r);
            yield return Instruction.CreateStosq(a, r);
            yield return Instruction.CreateLodsb(a, none, r);
            yield return Instruction.CreateLodsw(a, none, r);
            yield return Instruction.CreateLodsd(a, none, r);
            yield return Instruction.CreateLodsq(a, none, r);
        }
        foreach (var r in compare)
        {
            yield return Instruction.CreateCmpsb(a, none, r);
            yield return Instruction.CreateCmpsw(a, none, r);
            yield return Instruction.CreateCmpsd(a, none, r);
            yield return Instruction.CreateCmpsq(a, none, r);
            yield return Instruction.CreateScasb(a, r);
            yield return Instruction.CreateScasw(a, r);
            yield return Instruction.CreateScasd(a, r);
            yield return Instruction.CreateScasq(a, r);
        }
    }

    /// <summary>
    /// Points RSI and RDI into the scratch (sometimes overlapping, as memmove cases do), sets a small count for
    /// REP forms, and for CMPS/SCAS shapes the data so that repeated compares run for a while and then stop on a
    /// difference. With an address size below the code's only ESI, EDI, ECX (SI, DI, CX) count: their upper bits
    /// hold garbage. 16-bit addresses are offsets in the host's scratch segment (DS and ES alike).
    /// </summary>
    static bool StringOperands(Family f, DiffCase c, int addressSize)
    {
        var i = c.Instruction;
        int element = i.MemorySize.GetSize();
        bool repeated = i.HasRepePrefix || i.HasRepnePrefix;
        bool down = (c.Flags & Flag.DF) != 0;
        int count = !repeated ? 1 : f.Rng.Next(3) switch
        {
            0 => f.Rng.Next(4),
            1 => new[] { 7, 8, 15, 16, 31, 32 }[f.Rng.Next(6)],
            _ => f.Rng.Next(MaxRepeat + 1),
        };
        ulong middle = f.ScratchMiddle;
        ulong source = middle - 1024 + (ulong)(long)f.Rng.Next(-64, 65);
        ulong destination = f.Rng.Next(5) == 0
            ? source + (ulong)(long)f.Rng.Next(-24, 25)
            : middle + 1024 + (ulong)(long)f.Rng.Next(-64, 65);

        ulong narrow = DiffCase.Mask(addressSize), wide = DiffCase.Mask(f.Bitness);
        ulong Garbage(ulong low) => addressSize < f.Bitness ? (f.U64() & ~narrow & wide) | (low & narrow) : low;
        c.ScratchSegment = addressSize == 16;
        ulong segmentBase = c.ScratchSegment ? f.ScratchSegmentBase : 0;
        c.SetGpr(Gpr.Rsi, Garbage(source - segmentBase));
        c.SetGpr(Gpr.Rdi, Garbage(destination - segmentBase));
        if (repeated)
            c.SetGpr(Gpr.Rcx, Garbage((ulong)count));

        // The elements touched, lowest first, for each pointer.
        int span = Math.Max(count, 1) * element;
        ulong Low(ulong start) => down ? start - (ulong)((Math.Max(count, 1) - 1) * element) : start;
        var sourceBytes = c.Bytes(Low(source), span);
        var destinationBytes = c.Bytes(Low(destination), span);

        bool compares = i.Mnemonic is Mnemonic.Cmpsb or Mnemonic.Cmpsw or Mnemonic.Cmpsd or Mnemonic.Cmpsq;
        bool scans = i.Mnemonic is Mnemonic.Scasb or Mnemonic.Scasw or Mnemonic.Scasd or Mnemonic.Scasq;
        if ((compares || scans) && f.Rng.Next(3) != 0)
        {
            if (compares)
                sourceBytes.CopyTo(destinationBytes);
            else
            {
                ulong accumulator = c.GetGpr(Gpr.Rax);
                for (int e = 0; e < span; e += element)
                    c.WriteMemory(Low(destination) + (ulong)e, element, accumulator);
            }
            if (f.Rng.Next(4) != 0)
                destinationBytes[f.Rng.Next(span)] ^= (byte)(1 << f.Rng.Next(8));
        }
        return true;
    }
}
