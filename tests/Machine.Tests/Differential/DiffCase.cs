using System.Buffers.Binary;
using Iced.Intel;
using IcedRegister = Iced.Intel.Register;

namespace Repl.Machine.Tests.Differential;

/// <summary>RFLAGS bits the differential tests set and compare.</summary>
static class Flag
{
    public const ulong CF = 1 << 0, PF = 1 << 2, AF = 1 << 4, ZF = 1 << 6, SF = 1 << 7, DF = 1 << 10, OF = 1 << 11;
    public const ulong Status = CF | PF | AF | ZF | SF | OF;

    /// <summary>Everything compared by default: the six status flags, and DF, which no instruction here changes.</summary>
    public const ulong All = Status | DF;

    static readonly (ulong Bit, string Name)[] Names = [(CF, "CF"), (PF, "PF"), (AF, "AF"), (ZF, "ZF"), (SF, "SF"), (OF, "OF"), (DF, "DF")];

    public static string Format(ulong flags)
    {
        var set = Names.Where(n => (flags & n.Bit) != 0).Select(n => n.Name).ToArray();
        return set.Length == 0 ? "-" : string.Join(" ", set);
    }
}

/// <summary>
/// One differential case: an instruction (encoded for the host's slot address), the GPRs, flags and scratch
/// memory it starts from, and what of the outcome is architecturally defined and therefore compared.
/// </summary>
sealed class DiffCase
{
    public Instruction Instruction;
    public byte[] Code = [];
    /// <summary>The key under which results are tallied: the Iced code plus the operand shape.</summary>
    public string Form = "";

    public readonly ulong[] Gpr = new ulong[16];
    public ulong Flags;

    /// <summary>Per GPR, the bits compared; cleared where the manual leaves the result undefined.</summary>
    public readonly ulong[] RegisterMask = new ulong[16];
    /// <summary>The RFLAGS bits compared: <see cref="Flag.All"/> less the flags the manual calls undefined.</summary>
    public ulong FlagMask;
    /// <summary>Why something is not compared, for the report.</summary>
    public readonly List<string> Notes = [];

    /// <summary>The scratch bytes copied to both sides before, and compared after: [WindowAddress, +Window.Length).</summary>
    public ulong WindowAddress;
    public byte[] Window = [];
    /// <summary>Bytes of the window whose final content is undefined (a memory destination with an undefined result).</summary>
    public ulong IgnoredAddress;
    public int IgnoredLength;

    /// <summary>The explicit memory operand's linear address, when there is one.</summary>
    public ulong MemoryAddress;
    public bool HasMemory;

    /// <summary>In 32-bit code: DS, ES and SS are the host's scratch segment (for 16-bit addresses) rather than flat.</summary>
    public bool ScratchSegment;

    /// <summary>Registers that hold addresses (bases, indexes, string pointers): their values must stay as set.</summary>
    public readonly List<(int Gpr, ulong Value)> Pins = [];

    public int Bits => OperandBits(0);

    public void Reset()
    {
        Array.Fill(RegisterMask, ulong.MaxValue);
        FlagMask = Flag.All;
        Notes.Clear();
        IgnoredLength = 0;
        Pins.Clear();
        HasMemory = false;
        ScratchSegment = false;
    }

    public void Undefined(ulong flags, string why)
    {
        FlagMask &= ~flags;
        Notes.Add($"{Flag.Format(flags)} undefined: {why}");
    }

    public int OperandBits(int n) => Instruction.GetOpKind(n) switch
    {
        OpKind.Register => Instruction.GetOpRegister(n).GetSize() * 8,
        OpKind.Memory => Instruction.MemorySize.GetSize() * 8,
        OpKind.Immediate8 => 8,
        OpKind.Immediate16 or OpKind.Immediate8to16 => 16,
        OpKind.Immediate32 or OpKind.Immediate8to32 => 32,
        _ => 64,
    };

    /// <summary>Operand <paramref name="n"/> as the instruction reads it (zero-extended to 64 bits).</summary>
    public ulong Read(int n) => Instruction.GetOpKind(n) switch
    {
        OpKind.Register => ReadRegister(Instruction.GetOpRegister(n)),
        OpKind.Memory => ReadMemory(MemoryAddress, Instruction.MemorySize.GetSize()),
        _ => Instruction.GetImmediate(n) & Mask(OperandBits(n)),
    };

    /// <summary>Sets the input value of operand <paramref name="n"/> (a register or the memory operand).</summary>
    public void Write(int n, ulong value)
    {
        if (Instruction.GetOpKind(n) == OpKind.Register)
            WriteRegister(Instruction.GetOpRegister(n), value);
        else if (Instruction.GetOpKind(n) == OpKind.Memory)
            WriteMemory(MemoryAddress, Instruction.MemorySize.GetSize(), value);
        else
            throw new InvalidOperationException($"operand {n} of {Instruction} is not writable input");
    }

    public static ulong Mask(int bits) => bits >= 64 ? ulong.MaxValue : (1UL << bits) - 1;

    /// <summary>The GPR number of a register and the bit position of its low end (8 for AH, CH, DH, BH).</summary>
    public static (int Gpr, int Shift) Locate(IcedRegister r) =>
        r is >= IcedRegister.AH and <= IcedRegister.BH
            ? (r - IcedRegister.AH, 8)
            : (r.GetFullRegister() - IcedRegister.RAX, 0);

    public ulong ReadRegister(IcedRegister r)
    {
        var (g, shift) = Locate(r);
        return (Gpr[g] >> shift) & Mask(r.GetSize() * 8);
    }

    /// <summary>Replaces the register's bits, leaving the rest of the GPR as it was (this sets inputs; it is
    /// not an instruction's write, so there is no zero-extension).</summary>
    public void WriteRegister(IcedRegister r, ulong value)
    {
        var (g, shift) = Locate(r);
        ulong m = Mask(r.GetSize() * 8) << shift;
        Gpr[g] = (Gpr[g] & ~m) | ((value << shift) & m);
    }

    public void SetGpr(Gpr r, ulong value) => Gpr[(int)r] = value;

    public ulong GetGpr(Gpr r) => Gpr[(int)r];

    /// <summary>Marks bits of a register as undefined after the instruction.</summary>
    public void UndefinedRegister(IcedRegister r, string why)
    {
        var (g, shift) = Locate(r);
        RegisterMask[g] &= ~(Mask(r.GetSize() * 8) << shift);
        Notes.Add($"{r.ToString().ToLowerInvariant()} undefined: {why}");
    }

    /// <summary>Marks operand <paramref name="n"/>'s final value as undefined (register bits or memory bytes).</summary>
    public void UndefinedOperand(int n, string why)
    {
        if (Instruction.GetOpKind(n) == OpKind.Register)
        {
            UndefinedRegister(Instruction.GetOpRegister(n), why);
            return;
        }
        IgnoredAddress = MemoryAddress;
        IgnoredLength = Instruction.MemorySize.GetSize();
        Notes.Add($"memory operand undefined: {why}");
    }

    Span<byte> WindowBytes(ulong address, int size)
    {
        ulong offset = address - WindowAddress;
        if (address < WindowAddress || offset + (ulong)size > (ulong)Window.Length)
            throw new InvalidOperationException($"0x{address:x}+{size} lies outside the scratch window");
        return Window.AsSpan((int)offset, size);
    }

    public ulong ReadMemory(ulong address, int size)
    {
        Span<byte> b = stackalloc byte[8];
        WindowBytes(address, size).CopyTo(b);
        return BinaryPrimitives.ReadUInt64LittleEndian(b) & Mask(size * 8);
    }

    public void WriteMemory(ulong address, int size, ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        b[..size].CopyTo(WindowBytes(address, size));
    }

    public Span<byte> Bytes(ulong address, int length) => WindowBytes(address, length);
}
