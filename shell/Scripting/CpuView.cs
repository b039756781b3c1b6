namespace Repl.Shell.Scripting;

using Repl.Machine;

/// <summary>
/// <c>Cpu</c> in scripts: the processor's registers by their manual names, read and written as a debugger does
/// (the value goes in as given, without the checks a guest instruction meets). <see cref="Cpl"/> and <see cref="Mode"/>
/// follow from CS and the control registers, so they are read-only: change CS or CR0/EFER to change them.
/// </summary>
public sealed class CpuView(Machine machine)
{
    public ulong Rax { get => Get(Register.Rax); set => Set(Register.Rax, value); }
    public ulong Rbx { get => Get(Register.Rbx); set => Set(Register.Rbx, value); }
    public ulong Rcx { get => Get(Register.Rcx); set => Set(Register.Rcx, value); }
    public ulong Rdx { get => Get(Register.Rdx); set => Set(Register.Rdx, value); }
    public ulong Rsi { get => Get(Register.Rsi); set => Set(Register.Rsi, value); }
    public ulong Rdi { get => Get(Register.Rdi); set => Set(Register.Rdi, value); }
    public ulong Rbp { get => Get(Register.Rbp); set => Set(Register.Rbp, value); }
    public ulong Rsp { get => Get(Register.Rsp); set => Set(Register.Rsp, value); }
    public ulong R8 { get => Get(Register.R8); set => Set(Register.R8, value); }
    public ulong R9 { get => Get(Register.R9); set => Set(Register.R9, value); }
    public ulong R10 { get => Get(Register.R10); set => Set(Register.R10, value); }
    public ulong R11 { get => Get(Register.R11); set => Set(Register.R11, value); }
    public ulong R12 { get => Get(Register.R12); set => Set(Register.R12, value); }
    public ulong R13 { get => Get(Register.R13); set => Set(Register.R13, value); }
    public ulong R14 { get => Get(Register.R14); set => Set(Register.R14, value); }
    public ulong R15 { get => Get(Register.R15); set => Set(Register.R15, value); }
    public ulong Rip { get => Get(Register.Rip); set => Set(Register.Rip, value); }
    public ulong Rflags { get => Get(Register.Rflags); set => Set(Register.Rflags, value); }

    public ulong Cr0 { get => Get(Register.Cr0); set => Set(Register.Cr0, value); }
    public ulong Cr2 { get => Get(Register.Cr2); set => Set(Register.Cr2, value); }
    public ulong Cr3 { get => Get(Register.Cr3); set => Set(Register.Cr3, value); }
    public ulong Cr4 { get => Get(Register.Cr4); set => Set(Register.Cr4, value); }
    public ulong Cr8 { get => Get(Register.Cr8); set => Set(Register.Cr8, value); }
    public ulong Efer { get => Get(Register.Efer); set => Set(Register.Efer, value); }

    public ulong Dr0 { get => Get(Register.Dr0); set => Set(Register.Dr0, value); }
    public ulong Dr1 { get => Get(Register.Dr1); set => Set(Register.Dr1, value); }
    public ulong Dr2 { get => Get(Register.Dr2); set => Set(Register.Dr2, value); }
    public ulong Dr3 { get => Get(Register.Dr3); set => Set(Register.Dr3, value); }
    public ulong Dr6 { get => Get(Register.Dr6); set => Set(Register.Dr6, value); }
    public ulong Dr7 { get => Get(Register.Dr7); set => Set(Register.Dr7, value); }

    public SegmentView Es => new(machine, SegmentRegister.Es);
    public SegmentView Cs => new(machine, SegmentRegister.Cs);
    public SegmentView Ss => new(machine, SegmentRegister.Ss);
    public SegmentView Ds => new(machine, SegmentRegister.Ds);
    public SegmentView Fs => new(machine, SegmentRegister.Fs);
    public SegmentView Gs => new(machine, SegmentRegister.Gs);

    public TableRegisterView Gdtr => new(machine, Register.GdtrBase, Register.GdtrLimit);
    public TableRegisterView Idtr => new(machine, Register.IdtrBase, Register.IdtrLimit);

    /// <summary>The current privilege level: CS.DPL.</summary>
    public int Cpl => machine.State.Cpl;

    public CpuMode Mode => machine.State.Mode;

    /// <summary>Instructions retired since reset: the machine's virtual time.</summary>
    public ulong InstructionsRetired => machine.State.InstructionsRetired;

    /// <summary>Any register by the name the shell and gdb use ("rax", "fs_base", "eflags").</summary>
    public ulong this[string name] { get => machine.ReadRegister(name); set => machine.WriteRegister(name, value); }

    ulong Get(Register r) => machine.ReadRegister(r);

    void Set(Register r, ulong value) => machine.WriteRegister(r, value);
}

/// <summary>One segment register: the visible selector and the hidden part the processor loaded from the descriptor.
/// Writing one field changes only that field, as a debugger's write does; the descriptor table is not read.</summary>
public sealed class SegmentView(Machine machine, SegmentRegister register)
{
    public ushort Selector { get => Cache.Selector; set => Cache.Selector = value; }
    public ulong Base { get => Cache.Base; set => Cache.Base = value; }
    public uint Limit { get => Cache.Limit; set => Cache.Limit = value; }
    /// <summary>Descriptor bits 40-55 without the limit nibble: type, S, DPL, P, AVL, L, D/B, G.</summary>
    public ushort Attributes { get => Cache.Attributes; set => Cache.Attributes = value; }
    public int Dpl => Cache.Dpl;
    public bool Present => Cache.Present;
    public bool Long => Cache.Long;

    ref SegmentCache Cache => ref machine.State.Segments[(int)register];

    public override string ToString() => $"{register.ToString().ToLowerInvariant()}: {Cache}";
}

/// <summary>GDTR or IDTR: the linear base and the limit that LGDT and LIDT load.</summary>
public sealed class TableRegisterView(Machine machine, Register baseRegister, Register limitRegister)
{
    public ulong Base { get => machine.ReadRegister(baseRegister); set => machine.WriteRegister(baseRegister, value); }
    public ushort Limit { get => (ushort)machine.ReadRegister(limitRegister); set => machine.WriteRegister(limitRegister, value); }

    public override string ToString() => $"base={Base:x16} limit={Limit:x4}";
}
