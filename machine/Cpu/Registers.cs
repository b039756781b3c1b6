namespace Repl.Machine;

/// <summary>General-purpose registers in their encoding order (the ModRM/REX register number).</summary>
public enum Gpr : byte
{
    Rax, Rcx, Rdx, Rbx, Rsp, Rbp, Rsi, Rdi, R8, R9, R10, R11, R12, R13, R14, R15,
}

/// <summary>Segment registers in their encoding order (the Sreg field of MOV Sreg).</summary>
public enum SegmentRegister : byte
{
    Es, Cs, Ss, Ds, Fs, Gs,
}

/// <summary>Every architectural register the machine exposes by name, to the shell, the GDB stub and scripts.</summary>
public enum Register
{
    Rax, Rcx, Rdx, Rbx, Rsp, Rbp, Rsi, Rdi, R8, R9, R10, R11, R12, R13, R14, R15,
    Rip, Rflags,
    Es, Cs, Ss, Ds, Fs, Gs,
    EsBase, CsBase, SsBase, DsBase, FsBase, GsBase,
    Cr0, Cr2, Cr3, Cr4, Cr8,
    Dr0, Dr1, Dr2, Dr3, Dr6, Dr7,
    Efer,
    GdtrBase, GdtrLimit, IdtrBase, IdtrLimit, Ldtr, Tr,
}

/// <summary>RFLAGS bits, named as in the SDM (Vol. 1, 3.4.3).</summary>
[Flags]
public enum RflagsBit : ulong
{
    CF = 1 << 0,
    Reserved1 = 1 << 1,
    PF = 1 << 2,
    AF = 1 << 4,
    ZF = 1 << 6,
    SF = 1 << 7,
    TF = 1 << 8,
    IF = 1 << 9,
    DF = 1 << 10,
    OF = 1 << 11,
    IOPL = 3 << 12,
    NT = 1 << 14,
    RF = 1 << 16,
    VM = 1 << 17,
    AC = 1 << 18,
    VIF = 1 << 19,
    VIP = 1 << 20,
    ID = 1 << 21,
    /// <summary>The six status flags that arithmetic instructions define.</summary>
    Arithmetic = CF | PF | AF | ZF | SF | OF,
}

public static class RegisterNames
{
    static readonly Dictionary<string, Register> ByName = BuildNames();

    static Dictionary<string, Register> BuildNames()
    {
        var names = new Dictionary<string, Register>(StringComparer.OrdinalIgnoreCase);
        foreach (Register r in Enum.GetValues<Register>())
            names[r.ToString()] = r;
        // Aliases users type in gdb and QEMU's monitor.
        names["eflags"] = Register.Rflags;
        names["pc"] = Register.Rip;
        names["fs_base"] = Register.FsBase;
        names["gs_base"] = Register.GsBase;
        return names;
    }

    public static bool TryParse(string name, out Register register) =>
        ByName.TryGetValue(name.TrimStart('$', '%'), out register);

    public static string NameOf(Register register) => register.ToString().ToLowerInvariant();

    static readonly Dictionary<string, RegisterPart> PartsByName = BuildParts();

    /// <summary>The names of the general-purpose registers' low parts, as the SDM (vol. 1, 3.4.1.1) and gdb name them:
    /// eax, ax, al and ah of rax; esi, si, sil of rsi; r8d, r8w, r8l of r8.</summary>
    static Dictionary<string, RegisterPart> BuildParts()
    {
        var parts = new Dictionary<string, RegisterPart>(StringComparer.OrdinalIgnoreCase);
        foreach (var (letter, r) in new[] { ("a", Register.Rax), ("b", Register.Rbx), ("c", Register.Rcx), ("d", Register.Rdx) })
        {
            parts[$"e{letter}x"] = new(r, 0, 32);
            parts[$"{letter}x"] = new(r, 0, 16);
            parts[$"{letter}l"] = new(r, 0, 8);
            parts[$"{letter}h"] = new(r, 8, 8);
        }
        foreach (var (name, r) in new[] { ("si", Register.Rsi), ("di", Register.Rdi), ("bp", Register.Rbp), ("sp", Register.Rsp) })
        {
            parts[$"e{name}"] = new(r, 0, 32);
            parts[name] = new(r, 0, 16);
            parts[$"{name}l"] = new(r, 0, 8);
        }
        for (int n = 8; n <= 15; n++)
        {
            var r = Register.R8 + (n - 8);
            parts[$"r{n}d"] = new(r, 0, 32);
            parts[$"r{n}w"] = new(r, 0, 16);
            parts[$"r{n}l"] = new(r, 0, 8);
        }
        return parts;
    }

    /// <summary>A register or a part of one (<see cref="RegisterPart"/>) by name, with or without '$' or '%'.</summary>
    public static bool TryParsePart(string name, out RegisterPart part)
    {
        if (TryParse(name, out var register))
        {
            part = new(register, 0, 64);
            return true;
        }
        return PartsByName.TryGetValue(name.TrimStart('$', '%'), out part);
    }
}

/// <summary>A register, or the bits of one that a name like eax or ah selects: <see cref="Bits"/> bits from bit
/// <see cref="Shift"/>.</summary>
public readonly record struct RegisterPart(Register Register, int Shift, int Bits)
{
    ulong Mask => Bits == 64 ? ulong.MaxValue : ((1UL << Bits) - 1) << Shift;

    public ulong Read(ulong full) => (full & Mask) >> Shift;

    /// <summary>The full register after a debugger writes <paramref name="value"/> to the part: the other bits are
    /// kept, as gdb's `set $eax=1` keeps RAX's upper half (an instruction writing EAX would clear it).</summary>
    public ulong Merge(ulong full, ulong value) => full & ~Mask | value << Shift & Mask;
}
