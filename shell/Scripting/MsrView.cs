namespace Repl.Shell.Scripting;

using Repl.Machine;

/// <summary>
/// <c>Msr</c> in scripts: model-specific registers by name (<c>Msr.Lstar</c>) or index (<c>Msr[0xC0000082]</c>),
/// read and written as a debugger does, without the guest's privilege checks. An MSR the vendor profile lacks
/// throws with its name.
/// </summary>
public sealed class MsrView(Machine machine)
{
    public ulong Efer { get => Get(Msr.Efer); set => Set(Msr.Efer, value); }
    public ulong Star { get => Get(Msr.Star); set => Set(Msr.Star, value); }
    public ulong Lstar { get => Get(Msr.Lstar); set => Set(Msr.Lstar, value); }
    public ulong Cstar { get => Get(Msr.Cstar); set => Set(Msr.Cstar, value); }
    /// <summary>IA32_FMASK, which the APM calls SFMASK: the RFLAGS bits SYSCALL clears.</summary>
    public ulong Sfmask { get => Get(Msr.Fmask); set => Set(Msr.Fmask, value); }
    public ulong FsBase { get => Get(Msr.FsBase); set => Set(Msr.FsBase, value); }
    public ulong GsBase { get => Get(Msr.GsBase); set => Set(Msr.GsBase, value); }
    public ulong KernelGsBase { get => Get(Msr.KernelGsBase); set => Set(Msr.KernelGsBase, value); }
    public ulong SysenterCs { get => Get(Msr.SysenterCs); set => Set(Msr.SysenterCs, value); }
    public ulong SysenterEsp { get => Get(Msr.SysenterEsp); set => Set(Msr.SysenterEsp, value); }
    public ulong SysenterEip { get => Get(Msr.SysenterEip); set => Set(Msr.SysenterEip, value); }
    public ulong TscAux { get => Get(Msr.TscAux); set => Set(Msr.TscAux, value); }
    public ulong Tsc { get => Get(Msr.TimeStampCounter); set => Set(Msr.TimeStampCounter, value); }
    public ulong ApicBase { get => Get(Msr.ApicBase); set => Set(Msr.ApicBase, value); }
    public ulong Pat { get => Get(Msr.Pat); set => Set(Msr.Pat, value); }

    /// <summary>Any MSR by its index, as RDMSR and WRMSR take it in ECX.</summary>
    public ulong this[uint index] { get => Get((Msr)index); set => Set((Msr)index, value); }

    /// <summary>Any MSR by the names the shell accepts ("lstar", "IA32_KERNEL_GS_BASE", "MSR_STAR").</summary>
    public ulong this[string name] { get => machine.ReadMsr(name); set => machine.WriteMsr(name, value); }

    ulong Get(Msr msr) => machine.ReadMsr(msr);

    void Set(Msr msr, ulong value) => machine.WriteMsr(msr, value);
}
