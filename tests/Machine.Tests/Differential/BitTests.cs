using System.Runtime.Intrinsics.X86;
using Iced.Intel;

namespace Repl.Machine.Tests.Differential;

public partial class HostDifferentialTests
{
    /// <summary>A register bit offset into memory reaches ±4 KiB at 16 bits (±32 Ki bits): the window covers it.</summary>
    const int BitStringReach = 4096 + 512;

    [Theory, InlineData(64), InlineData(32)]
    public void Bit_tests_match_host(int bitness)
    {
        if (Family.Start("bit tests", bitness, output, totals) is not { } f)
            return;
        var options = new FormOptions { Immediate8 = Family.ShiftCount, WindowHalf = BitStringReach + 512 };
        // "The CF flag contains the value of the selected bit. The ZF flag is unaffected. The OF, SF, AF, and PF
        // flags are undefined." LOCK is legal on BTS, BTR, BTC with memory.
        f.Forms(f.CodesOf(Mnemonic.Bt), 40, 15, options, c => BitOffset(f, c));
        f.Forms(f.CodesOf(Mnemonic.Bts, Mnemonic.Btr, Mnemonic.Btc), 40, 15, options with { LockShare = 0.25 }, c => BitOffset(f, c));
        f.Finish();
    }

    /// <summary>
    /// With a register offset and a memory operand the offset is signed and selects any bit of a bit string
    /// ("Effective Address + (OperandSize/8 * (BitOffset DIV OperandSize))"): keep it where the host's scratch
    /// is, with the edge offsets 0, ±1, ±(size), ±(size-1) among them.
    /// </summary>
    static bool BitOffset(Family f, DiffCase c)
    {
        c.Undefined(Flag.OF | Flag.SF | Flag.AF | Flag.PF, "bit test");
        if (c.Instruction.Op0Kind != OpKind.Memory || c.Instruction.Op1Kind != OpKind.Register)
            return true;
        int bits = c.Bits;
        long reach = bits == 16 ? 1L << 15 : BitStringReach * 8L;
        long offset = f.Rng.Next(4) switch
        {
            0 => f.Rng.Next(-bits - 1, bits + 2),
            1 => f.Rng.Next(2) == 0 ? reach - 1 - f.Rng.Next(bits) : -reach + f.Rng.Next(bits),
            _ => f.Rng.NextInt64(-reach, reach),
        };
        c.Write(1, (ulong)offset & DiffCase.Mask(bits));
        long unit = Math.DivRem(offset, bits, out long rem) - (rem < 0 ? 1 : 0);
        ulong address = c.MemoryAddress + (ulong)(unit * (bits / 8));
        c.Bytes(address, bits / 8); // inside the window, or the harness is wrong
        return true;
    }

    [Theory, InlineData(64), InlineData(32)]
    public void Bit_scans_and_counts_match_host(int bitness)
    {
        if (Family.Start("bit scans", bitness, output, totals) is not { } f)
            return;
        // BSF/BSR: "The ZF flag is set to 1 if the source operand is 0; otherwise, the ZF flag is cleared. The CF,
        // OF, SF, AF, and PF flags are undefined." With a zero source Intel leaves the destination undefined;
        // AMD's APM defines it: the instruction "does not change the contents of the destination register".
        f.Forms(f.CodesOf(Mnemonic.Bsf, Mnemonic.Bsr), 40, 20, prepare: c =>
        {
            ZeroSourceSometimes(f, c, 1);
            c.Undefined(Flag.CF | Flag.OF | Flag.SF | Flag.AF | Flag.PF, "bit scan");
            if (c.Read(1) == 0 && f.Vendor == CpuVendor.Intel)
                c.UndefinedOperand(0, "bit scan of zero on Intel");
            return true;
        });
        // TZCNT/LZCNT: CF set for a zero source, ZF for a zero result; "OF, SF, PF and AF flags are undefined."
        var counts = new List<Mnemonic>();
        if (Bmi1.IsSupported)
            counts.Add(Mnemonic.Tzcnt);
        else
            f.Skip("TZCNT", "the host lacks BMI1 (it would run as BSF)");
        if (Lzcnt.IsSupported)
            counts.Add(Mnemonic.Lzcnt);
        else
            f.Skip("LZCNT", "the host lacks LZCNT (it would run as BSR)");
        f.Forms(f.CodesOf([.. counts]), 40, 20, prepare: c =>
        {
            ZeroSourceSometimes(f, c, 1);
            c.Undefined(Flag.OF | Flag.SF | Flag.PF | Flag.AF, "TZCNT/LZCNT");
            return true;
        });
        // POPCNT defines all six: ZF from the source, the others cleared.
        if (Popcnt.IsSupported)
            f.Forms(f.CodesOf(Mnemonic.Popcnt), 40, 20, prepare: c => ZeroSourceSometimes(f, c, 1));
        else
            f.Skip("POPCNT", "the host lacks POPCNT");
        f.Finish();
    }

    static bool ZeroSourceSometimes(Family f, DiffCase c, int source)
    {
        if (f.Rng.Next(8) == 0)
            c.Write(source, 0);
        return true;
    }

    [Theory, InlineData(64), InlineData(32)]
    public void Bmi1_matches_host(int bitness)
    {
        if (Family.Start("bmi1", bitness, output, totals, Bmi1.IsSupported ? null : "BMI1") is not { } f)
            return;
        // ANDN: "SF and ZF are updated based on result. OF and CF flags are cleared. AF and PF flags are undefined."
        f.Forms(f.CodesOf(Mnemonic.Andn), 40, 20, prepare: c => Undefined(c, Flag.AF | Flag.PF, "ANDN"));
        // BEXTR: "ZF is updated based on the result. AF, SF, and PF are undefined. All other flags are cleared."
        // The control operand gives start (bits 7:0) and length (bits 15:8), each tried around the width.
        f.Forms(f.CodesOf(Mnemonic.Bextr), 60, 20, prepare: c =>
        {
            if (f.Rng.Next(4) != 0)
            {
                ulong control = Family.ShiftCount(f.Rng, c.Bits) | Family.ShiftCount(f.Rng, c.Bits) << 8;
                c.Write(2, (c.Read(2) & ~0xFFFFUL) | control);
            }
            return Undefined(c, Flag.AF | Flag.SF | Flag.PF, "BEXTR");
        });
        // BLSI, BLSMSK, BLSR: CF from the source, OF cleared; "AF and PF flags are undefined."
        f.Forms(f.CodesOf(Mnemonic.Blsi, Mnemonic.Blsmsk, Mnemonic.Blsr), 40, 20, prepare: c =>
        {
            ZeroSourceSometimes(f, c, 1);
            return Undefined(c, Flag.AF | Flag.PF, "BLSI/BLSMSK/BLSR");
        });
        f.Finish();
    }

    static bool Undefined(DiffCase c, ulong flags, string why)
    {
        c.Undefined(flags, why);
        return true;
    }

    [Theory, InlineData(64), InlineData(32)]
    public void Bmi2_matches_host(int bitness)
    {
        if (Family.Start("bmi2", bitness, output, totals, Bmi2.IsSupported ? null : "BMI2") is not { } f)
            return;
        // BZHI: the index is bits 7:0 of the second source; CF is set when it is beyond the width;
        // "AF and PF flags are undefined."
        f.Forms(f.CodesOf(Mnemonic.Bzhi), 60, 20, prepare: c =>
        {
            if (f.Rng.Next(4) != 0)
                c.Write(2, (c.Read(2) & ~0xFFUL) | Family.ShiftCount(f.Rng, c.Bits));
            return Undefined(c, Flag.AF | Flag.PF, "BZHI");
        });
        // MULX, PDEP, PEXT, RORX, SARX, SHLX, SHRX affect no flags.
        f.Forms(f.CodesOf(Mnemonic.Mulx, Mnemonic.Pdep, Mnemonic.Pext), 40, 20);
        f.Forms(f.CodesOf(Mnemonic.Rorx), 40, 20, Counted);
        f.Forms(f.CodesOf(Mnemonic.Sarx, Mnemonic.Shlx, Mnemonic.Shrx), 40, 20, prepare: c =>
        {
            if (f.Rng.Next(2) == 0)
                c.Write(2, (c.Read(2) & ~0xFFUL) | Family.ShiftCount(f.Rng, c.Bits));
            return true;
        });
        f.Finish();
    }
}
