using System.Globalization;
using Iced.Intel;

namespace Repl.Machine;

/// <summary>The model-specific registers the machine implements, named as the SDM names them (Vol. 4, Table 2-2,
/// without the IA32_ prefix), each valued by its index (what RDMSR and WRMSR take in ECX).</summary>
public enum Msr : uint
{
    TimeStampCounter = 0x10,
    PlatformId = 0x17,
    ApicBase = 0x1B,
    FeatureControl = 0x3A,
    SpecCtrl = 0x48,
    PredCmd = 0x49,
    /// <summary>IA32_BIOS_SIGN_ID: the microcode revision (Linux's MSR_IA32_UCODE_REV; AMD's patch level).</summary>
    BiosSignId = 0x8B,
    MtrrCap = 0xFE,
    ArchCapabilities = 0x10A,
    SysenterCs = 0x174,
    SysenterEsp = 0x175,
    SysenterEip = 0x176,
    McgCap = 0x179,
    McgStatus = 0x17A,
    MiscEnable = 0x1A0,
    Pat = 0x277,
    MtrrDefType = 0x2FF,
    Efer = 0xC000_0080,
    Star = 0xC000_0081,
    Lstar = 0xC000_0082,
    Cstar = 0xC000_0083,
    /// <summary>IA32_FMASK, which the APM calls SFMASK.</summary>
    Fmask = 0xC000_0084,
    FsBase = 0xC000_0100,
    GsBase = 0xC000_0101,
    KernelGsBase = 0xC000_0102,
    TscAux = 0xC000_0103,
}

/// <summary>One row of the MSR table: the register, its SDM name, and what it holds.</summary>
public readonly record struct MsrInfo(Msr Msr, string Name, string Description)
{
    public uint Index => (uint)Msr;
}

/// <summary>
/// The MSR table (SDM Vol. 4, chapter 2; APM Vol. 2, appendix A): which registers exist on each vendor profile,
/// their names as users type them, and their values at the multiboot hand-off.
/// </summary>
public static class ModelSpecificRegisters
{
    public static IReadOnlyList<MsrInfo> Table { get; } =
    [
        new(Msr.TimeStampCounter, "IA32_TIME_STAMP_COUNTER", "TSC: retired instructions plus the offset a write sets"),
        new(Msr.PlatformId, "IA32_PLATFORM_ID", "read-only: platform ID 0, for microcode matching (Intel)"),
        new(Msr.ApicBase, "IA32_APIC_BASE", "local APIC base address (35:12), global enable (11), BSP (8, read-only)"),
        new(Msr.FeatureControl, "IA32_FEATURE_CONTROL", "locked by firmware with VMX and SMX off (Intel)"),
        new(Msr.SpecCtrl, "IA32_SPEC_CTRL", "IBRS (0), STIBP (1), SSBD (2) (Intel)"),
        new(Msr.PredCmd, "IA32_PRED_CMD", "write-only: IBPB (0) (Intel)"),
        new(Msr.BiosSignId, "IA32_BIOS_SIGN_ID", "microcode revision (63:32): none loaded, so 0; writes are accepted and change nothing"),
        new(Msr.MtrrCap, "IA32_MTRRCAP", "read-only: no variable or fixed ranges"),
        new(Msr.ArchCapabilities, "IA32_ARCH_CAPABILITIES", "read-only: claims no immunity, so kernels keep their mitigations (Intel)"),
        new(Msr.SysenterCs, "IA32_SYSENTER_CS", "SYSENTER CS selector; SS is CS+8, SYSEXIT's CS is CS+16 or CS+32"),
        new(Msr.SysenterEsp, "IA32_SYSENTER_ESP", "SYSENTER stack pointer"),
        new(Msr.SysenterEip, "IA32_SYSENTER_EIP", "SYSENTER entry point"),
        new(Msr.McgCap, "IA32_MCG_CAP", "read-only: no machine-check banks"),
        new(Msr.McgStatus, "IA32_MCG_STATUS", "RIPV (0), EIPV (1), MCIP (2)"),
        new(Msr.MiscEnable, "IA32_MISC_ENABLE", "fast strings (0), TCC (3); BTS and PEBS unavailable (11, 12) (Intel)"),
        new(Msr.Pat, "IA32_PAT", "page attribute table: eight memory types"),
        new(Msr.MtrrDefType, "IA32_MTRR_DEF_TYPE", "default memory type (7:0), MTRRs enabled (11)"),
        new(Msr.Efer, "IA32_EFER", "SCE (0), LME (8), LMA (10, read-only), NXE (11)"),
        new(Msr.Star, "IA32_STAR", "SYSRET CS/SS base (63:48), SYSCALL CS/SS (47:32)"),
        new(Msr.Lstar, "IA32_LSTAR", "SYSCALL target from 64-bit mode"),
        new(Msr.Cstar, "IA32_CSTAR", "SYSCALL target from compatibility mode (AMD)"),
        new(Msr.Fmask, "IA32_FMASK", "RFLAGS bits SYSCALL clears (SFMASK)"),
        new(Msr.FsBase, "IA32_FS_BASE", "FS.base"),
        new(Msr.GsBase, "IA32_GS_BASE", "GS.base"),
        new(Msr.KernelGsBase, "IA32_KERNEL_GS_BASE", "what SWAPGS exchanges with GS.base"),
        new(Msr.TscAux, "IA32_TSC_AUX", "returned by RDTSCP (ECX) and RDPID"),
    ];

    /// <summary>The registers of <paramref name="vendor"/>'s profile.</summary>
    public static IEnumerable<MsrInfo> For(CpuVendor vendor) => Table.Where(m => Exists(m.Msr, vendor));

    /// <summary>IA32_PLATFORM_ID, IA32_FEATURE_CONTROL and IA32_MISC_ENABLE are Intel's own; SPEC_CTRL, PRED_CMD and ARCH_CAPABILITIES
    /// are enumerated in CPUID leaf 7 EDX on Intel only (AMD enumerates its own in leaf 8000_0008h, which the AMD
    /// profile does not report), so on the AMD profile they do not exist.</summary>
    public static bool Exists(Msr msr, CpuVendor vendor) =>
        Enum.IsDefined(msr) && (vendor == CpuVendor.Intel
            || msr is not (Msr.PlatformId or Msr.FeatureControl or Msr.MiscEnable or Msr.SpecCtrl or Msr.PredCmd or Msr.ArchCapabilities));

    public static MsrInfo Info(Msr msr) => Table.First(m => m.Msr == msr);

    static readonly Dictionary<string, Msr> ByName = BuildNames();

    static Dictionary<string, Msr> BuildNames()
    {
        var names = new Dictionary<string, Msr>(StringComparer.OrdinalIgnoreCase);
        foreach (var m in Table)
        {
            names[m.Name] = m.Msr;                     // IA32_KERNEL_GS_BASE
            names[m.Name["IA32_".Length..]] = m.Msr;   // KERNEL_GS_BASE
            names[m.Msr.ToString()] = m.Msr;           // KernelGsBase
        }
        // The names the APM and Linux use where they differ from the SDM's.
        names["tsc"] = Msr.TimeStampCounter;
        names["sfmask"] = Msr.Fmask;
        names["syscall_mask"] = Msr.Fmask;
        names["ucode_rev"] = Msr.BiosSignId;
        return names;
    }

    /// <summary>The names <see cref="TryParse"/> takes for the registers of <paramref name="vendor"/>'s profile, in their
    /// table spelling (it takes any case), without Linux's MSR_ prefix or indexes.</summary>
    public static IEnumerable<string> NamesFor(CpuVendor vendor) => ByName.Where(n => Exists(n.Value, vendor)).Select(n => n.Key);

    /// <summary>Parses an MSR name as users type it: "IA32_LSTAR", "lstar", "kernel_gs_base", "KernelGsBase",
    /// Linux's "MSR_LSTAR" or "MSR_IA32_SYSENTER_CS", or an index in hex ("0xc0000082").</summary>
    public static bool TryParse(string name, out Msr msr)
    {
        name = name.Trim();
        if (name.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            && uint.TryParse(name.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint index))
        {
            msr = (Msr)index;
            return Enum.IsDefined(msr);
        }
        return ByName.TryGetValue(name, out msr)
            || name.StartsWith("msr_", StringComparison.OrdinalIgnoreCase) && ByName.TryGetValue(name[4..], out msr);
    }

    // IA32_APIC_BASE (SDM Vol. 3, 11.4.4).
    internal const ulong ApicBsp = 1 << 8, ApicGlobalEnable = 1 << 11;
    const ulong ApicBaseDefault = 0xFEE0_0000;
    /// <summary>MAXPHYADDR: 36 bits, which the SDM (Vol. 3, 4.1.4) gives to a processor that does not report
    /// CPUID leaf 8000_0008h, as this machine does not.</summary>
    internal const int MaxPhysicalAddressBits = 36;
    const ulong PhysicalAddressMask = (1UL << MaxPhysicalAddressBits) - 1;
    /// <summary>IA32_APIC_BASE bits a write may set besides BSP: the enable and a 4 KiB-aligned base below MAXPHYADDR.</summary>
    internal const ulong ApicBaseWritable = ApicGlobalEnable | (PhysicalAddressMask & ~0xFFFUL);

    // IA32_MISC_ENABLE (SDM Vol. 4, Table 2-2).
    const ulong MiscFastStrings = 1 << 0, MiscAutomaticThermalControl = 1 << 3;
    const ulong MiscBtsUnavailable = 1 << 11, MiscPebsUnavailable = 1 << 12;
    /// <summary>The IA32_MISC_ENABLE bits a write may change; the others select behaviour the machine does not model.</summary>
    internal const ulong MiscEnableWritable = MiscFastStrings | MiscAutomaticThermalControl;

    // IA32_MTRR_DEF_TYPE (SDM Vol. 3, 12.11.2.1): type in 7:0, E (11); FE (10) needs fixed ranges, which MTRRCAP denies.
    const ulong MtrrEnable = 1 << 11;
    const ulong MemoryTypeWriteBack = 6;

    // IA32_SPEC_CTRL and IA32_PRED_CMD (SDM Vol. 4, Table 2-2).
    const ulong SpecCtrlIbrs = 1 << 0, SpecCtrlStibp = 1 << 1, SpecCtrlSsbd = 1 << 2;
    internal const ulong SpecCtrlWritable = SpecCtrlIbrs | SpecCtrlStibp | SpecCtrlSsbd;
    internal const ulong PredCmdIbpb = 1 << 0;

    /// <summary>IA32_FEATURE_CONTROL as firmware leaves it: lock (0) set, VMX and SMX off, so every write faults.</summary>
    internal const ulong FeatureControlLocked = 1 << 0;

    /// <summary>IA32_MCG_STATUS: RIPV (0), EIPV (1), MCIP (2).</summary>
    internal const ulong McgStatusWritable = 0b111;

    /// <summary>The IA32_EFER bits (SDM Vol. 3, 2.2.1) a write may set, LMA aside, which only CR0.PG changes.</summary>
    internal const ulong EferWritable = CpuState.EferSCE | CpuState.EferLME | CpuState.EferNXE;

    /// <summary>The MSRs' values at the multiboot hand-off, where firmware has run: the APIC at its default base,
    /// enabled, this processor the BSP; PAT at its power-up value (SDM Vol. 3, 12.12.4); fast strings on; MTRRs
    /// enabled with write-back as the default type, as firmware leaves them.</summary>
    internal static void Reset(ref CpuState s)
    {
        s.ApicBase = ApicBaseDefault | ApicGlobalEnable | ApicBsp;
        s.Pat = 0x0007_0406_0007_0406;
        s.MiscEnable = MiscFastStrings | MiscBtsUnavailable | MiscPebsUnavailable;
        s.MtrrDefType = MtrrEnable | MemoryTypeWriteBack;
    }

    /// <summary>A memory type a PAT entry may hold (SDM Vol. 3, Table 12-10): UC, WC, WT, WP, WB, UC-.</summary>
    static bool IsPatType(ulong type) => type is 0 or 1 or 4 or 5 or 6 or 7;

    internal static bool IsValidPat(ulong value)
    {
        for (int i = 0; i < 64; i += 8)
            if (!IsPatType((value >> i) & 0xFF))
                return false;
        return true;
    }

    /// <summary>An MTRR default type (SDM Vol. 3, Table 12-8): UC, WC, WT, WP, WB.</summary>
    internal static bool IsValidMtrrDefType(ulong value) =>
        (value & ~(MtrrEnable | 0xFF)) == 0 && (value & 0xFF) is 0 or 1 or 4 or 5 or 6;
}

/// <summary>RDMSR and WRMSR (SDM Vol. 2, RDMSR/WRMSR; Vol. 4, chapter 2), and the MSR access the shell and the GDB
/// stub use, which bypasses the guest's checks.</summary>
public sealed unsafe partial class Cpu
{
    static delegate*<Cpu, ref Decoded, void> SelectMsrs(in Instruction i) => i.Mnemonic switch
    {
        Mnemonic.Rdmsr => &Rdmsr,
        Mnemonic.Wrmsr => &Wrmsr,
        _ => null,
    };

    /// <summary>The time-stamp counter: virtual time (retired instructions) plus what a TSC write added, so runs
    /// stay repeatable whatever the guest writes.</summary>
    internal ulong TimeStampCounter => State.InstructionsRetired + State.TscOffset;

    /// <summary>Reads an MSR of this processor's profile as the host sees it.</summary>
    public ulong ReadMsr(Msr msr)
    {
        ref CpuState s = ref State;
        return msr switch
        {
            Msr.TimeStampCounter => TimeStampCounter,
            Msr.ApicBase => s.ApicBase,
            Msr.FeatureControl => ModelSpecificRegisters.FeatureControlLocked,
            Msr.SpecCtrl => s.SpecCtrl,
            Msr.PredCmd or Msr.BiosSignId => 0,
            Msr.PlatformId or Msr.MtrrCap or Msr.ArchCapabilities or Msr.McgCap => 0,
            Msr.SysenterCs => s.SysenterCs,
            Msr.SysenterEsp => s.SysenterEsp,
            Msr.SysenterEip => s.SysenterEip,
            Msr.McgStatus => s.McgStatus,
            Msr.MiscEnable => s.MiscEnable,
            Msr.Pat => s.Pat,
            Msr.MtrrDefType => s.MtrrDefType,
            Msr.Efer => s.Efer,
            Msr.Star => s.Star,
            Msr.Lstar => s.Lstar,
            Msr.Cstar => s.Cstar,
            Msr.Fmask => s.Sfmask,
            Msr.FsBase => s.Segments[(int)SegmentRegister.Fs].Base,
            Msr.GsBase => s.Segments[(int)SegmentRegister.Gs].Base,
            Msr.KernelGsBase => s.KernelGsBase,
            Msr.TscAux => s.TscAux,
            _ => throw new ArgumentOutOfRangeException(nameof(msr), msr, "not an MSR this machine implements"),
        };
    }

    /// <summary>Writes an MSR as a debugger does: the value goes in as given, without the reserved-bit, canonical
    /// and mode checks a guest WRMSR meets. Writing the TSC sets it from now on. The read-only MSRs refuse.</summary>
    public void WriteMsr(Msr msr, ulong value)
    {
        ref CpuState s = ref State;
        switch (msr)
        {
            case Msr.TimeStampCounter: s.TscOffset = value - s.InstructionsRetired; break;
            case Msr.ApicBase: s.ApicBase = value; Apic?.ApicBaseWritten(); break;
            case Msr.SpecCtrl: s.SpecCtrl = value; break;
            // Commands with no state: the barrier has nothing to flush here; the write Linux makes before reading
            // the microcode revision (SDM Vol. 3, 10.11.7.1) has no revision to clear.
            case Msr.PredCmd or Msr.BiosSignId: break;
            case Msr.SysenterCs: s.SysenterCs = value; break;
            case Msr.SysenterEsp: s.SysenterEsp = value; break;
            case Msr.SysenterEip: s.SysenterEip = value; break;
            case Msr.McgStatus: s.McgStatus = value; break;
            case Msr.MiscEnable: s.MiscEnable = value; break;
            case Msr.Pat: s.Pat = value; break;
            case Msr.MtrrDefType: s.MtrrDefType = value; break;
            case Msr.Efer: s.Efer = value; break;
            case Msr.Star: s.Star = value; break;
            case Msr.Lstar: s.Lstar = value; break;
            case Msr.Cstar: s.Cstar = value; break;
            case Msr.Fmask: s.Sfmask = value; break;
            case Msr.FsBase: s.Segments[(int)SegmentRegister.Fs].Base = value; break;
            case Msr.GsBase: s.Segments[(int)SegmentRegister.Gs].Base = value; break;
            case Msr.KernelGsBase: s.KernelGsBase = value; break;
            case Msr.TscAux: s.TscAux = value; break;
            case Msr.PlatformId or Msr.FeatureControl or Msr.MtrrCap or Msr.ArchCapabilities or Msr.McgCap:
                throw new ArgumentException($"{ModelSpecificRegisters.Info(msr).Name} is read-only", nameof(msr));
            default: throw new ArgumentOutOfRangeException(nameof(msr), msr, "not an MSR this machine implements");
        }
    }

    /// <summary>The MSR that ECX names, if this profile has it; the upper half of RCX is ignored.</summary>
    Msr GuestMsr()
    {
        RequireCpl0();
        var msr = (Msr)(uint)State.Gpr[(int)Gpr.Rcx];
        if (!ModelSpecificRegisters.Exists(msr, Vendor))
            throw new CpuFault(Vector.GP, 0);
        return msr;
    }

    /// <summary>RDMSR: EDX:EAX := MSR[ECX]; #GP(0) above CPL 0, for an MSR the profile lacks, and for the
    /// write-only IA32_PRED_CMD.</summary>
    static void Rdmsr(Cpu c, ref Decoded d)
    {
        Msr msr = c.GuestMsr();
        if (msr == Msr.PredCmd)
            throw new CpuFault(Vector.GP, 0);
        ulong value = c.ReadMsr(msr);
        c.State.Gpr[(int)Gpr.Rax] = (uint)value;
        c.State.Gpr[(int)Gpr.Rdx] = value >> 32;
    }

    /// <summary>WRMSR: MSR[ECX] := EDX:EAX after the register's own checks. The block ends after it
    /// (Handlers.ChangesCodeDecoding): EFER, for one, changes how code runs.</summary>
    static void Wrmsr(Cpu c, ref Decoded d)
    {
        Msr msr = c.GuestMsr();
        ulong value = (c.State.Gpr[(int)Gpr.Rdx] << 32) | (uint)c.State.Gpr[(int)Gpr.Rax];
        value = c.CheckedMsrValue(msr, value);
        ulong old = c.Sink is null ? 0 : c.ReadMsr(msr);
        c.WriteMsr(msr, value);
        c.Sink?.Msr(msr, old);
    }

    /// <summary>
    /// What a guest WRMSR of <paramref name="value"/> stores, or #GP(0) when the SDM forbids the write: a reserved
    /// bit set, a read-only register, a non-canonical address in a base or entry-point MSR. Read-only bits inside
    /// a writable register (EFER.LMA, APIC_BASE.BSP) keep their value whatever is written.
    /// </summary>
    ulong CheckedMsrValue(Msr msr, ulong value)
    {
        ref CpuState s = ref State;
        bool ok = msr switch
        {
            Msr.TimeStampCounter or Msr.Star or Msr.SysenterCs or Msr.BiosSignId => true,
            Msr.ApicBase => (value & ~(ModelSpecificRegisters.ApicBaseWritable | ModelSpecificRegisters.ApicBsp)) == 0,
            Msr.SpecCtrl => (value & ~ModelSpecificRegisters.SpecCtrlWritable) == 0,
            Msr.PredCmd => (value & ~ModelSpecificRegisters.PredCmdIbpb) == 0,
            Msr.McgStatus => (value & ~ModelSpecificRegisters.McgStatusWritable) == 0,
            // The bits without a modelled effect must be written back as they read.
            Msr.MiscEnable => ((value ^ s.MiscEnable) & ~ModelSpecificRegisters.MiscEnableWritable) == 0,
            Msr.Pat => ModelSpecificRegisters.IsValidPat(value),
            Msr.MtrrDefType => ModelSpecificRegisters.IsValidMtrrDefType(value),
            // Changing LME while paging is on would leave LMA disagreeing with it (SDM Vol. 3, 10.8.5).
            Msr.Efer => (value & ~(ModelSpecificRegisters.EferWritable | CpuState.EferLMA)) == 0
                        && ((s.Cr0 & CpuState.Cr0PG) == 0 || ((value ^ s.Efer) & CpuState.EferLME) == 0),
            Msr.Lstar or Msr.Cstar or Msr.FsBase or Msr.GsBase or Msr.KernelGsBase or Msr.SysenterEsp or Msr.SysenterEip
                => IsCanonical(value),
            Msr.Fmask or Msr.TscAux => value >> 32 == 0,
            _ => false, // PLATFORM_ID, FEATURE_CONTROL (locked), MTRRCAP, ARCH_CAPABILITIES, MCG_CAP: read-only
        };
        if (!ok)
            throw new CpuFault(Vector.GP, 0);
        return msr switch
        {
            Msr.Efer => (value & ~CpuState.EferLMA) | (s.Efer & CpuState.EferLMA),
            Msr.ApicBase => (value & ~ModelSpecificRegisters.ApicBsp) | (s.ApicBase & ModelSpecificRegisters.ApicBsp),
            _ => value,
        };
    }
}
