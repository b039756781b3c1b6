namespace Repl.Machine;

/// <summary>Exception and interrupt vectors 0-31, by their SDM mnemonics (Vol. 3, Table 6-1).</summary>
public enum Vector : byte
{
    DE = 0, DB = 1, NMI = 2, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7, DF = 8,
    TS = 10, NP = 11, SS = 12, GP = 13, PF = 14, MF = 16, AC = 17, MC = 18, XM = 19, VE = 20, CP = 21,
}

public static class VectorNames
{
    /// <summary>"#GP", "#PF", "NMI"...; vectors without a mnemonic print as their number.</summary>
    public static string Mnemonic(Vector v) =>
        Enum.IsDefined(v) ? v == Vector.NMI ? "NMI" : "#" + v : ((byte)v).ToString();

    /// <summary>Exceptions that push an error code (SDM Vol. 3, 6.13).</summary>
    public static bool HasErrorCode(Vector v) =>
        v is Vector.DF or Vector.TS or Vector.NP or Vector.SS or Vector.GP or Vector.PF or Vector.AC or Vector.CP;
}

/// <summary>
/// An exception raised by the instruction being executed. It unwinds only as far as the run loop, which
/// owns delivering it; it never leaves the machine. Instructions check everything that can fault before
/// they change any architectural state, so unwinding leaves the state as it was before the instruction.
/// </summary>
public sealed class CpuFault(Vector vector, uint? errorCode = null, ulong? pageFaultAddress = null)
    : Exception($"{VectorNames.Mnemonic(vector)}{(errorCode is { } e ? $"(0x{e:x})" : "")}")
{
    public Vector Vector { get; } = vector;
    public uint? ErrorCode { get; } = errorCode;
    /// <summary>The linear address for CR2, on #PF.</summary>
    public ulong? PageFaultAddress { get; } = pageFaultAddress;

    /// <summary>A trap (INT3, INT n, INTO, INT1) is reported after its instruction completes: the RIP it
    /// reports is the next instruction's (SDM Vol. 3, 6.5). A fault reports the faulting instruction's.</summary>
    public bool IsTrap { get; init; }

    /// <summary>What raised the event, which decides the gate-DPL check, the EXT bit and the exception class.</summary>
    public EventSource Origin { get; init; }

    /// <summary>A #DB reporting an instruction breakpoint, or the traps of the instruction before (System/Debug.cs),
    /// rather than a fault of the current instruction (DR7.GD): its frame takes RF as it is (SDM Vol. 3, 18.3.1.1).</summary>
    public bool DebugCondition { get; init; }

    public static CpuFault Trap(Vector vector, EventSource source = EventSource.Exception) =>
        new(vector) { IsTrap = true, Origin = source };
}

/// <summary>Where an interrupt or exception comes from (SDM Vol. 3, 6.3 and 6.13).</summary>
public enum EventSource : byte
{
    /// <summary>A processor-detected exception.</summary>
    Exception,
    /// <summary>INT n, INT3 or INTO: the gate's DPL is checked against CPL, and EXT is clear in nested error codes.</summary>
    SoftwareInterrupt,
    /// <summary>INT1 (ICEBP): a #DB delivered like a hardware event (no DPL check, EXT set).</summary>
    PrivilegedSoftwareException,
    /// <summary>A maskable interrupt from outside the processor.</summary>
    ExternalInterrupt,
    Nmi,
}
