namespace Repl.Machine;

/// <summary>The operating mode the processor executes in (SDM Vol. 3, 2.2 and Figure 2-3), with the code size of CS:
/// real-address mode; protected mode with 16- or 32-bit code; IA-32e mode as compatibility mode with 16- or 32-bit
/// code, or 64-bit mode. Virtual-8086 mode is not modelled.</summary>
public enum CpuMode : byte { Real, Protected16, Protected32, Compatibility16, Compatibility32, Long64 }

public partial struct CpuState
{
    /// <summary>The operating mode: CR0.PE, EFER.LMA and the L and D bits of CS decide it.</summary>
    public readonly CpuMode Mode => ModeOf(Cr0, Efer, Segments[(int)SegmentRegister.Cs]);

    internal static CpuMode ModeOf(ulong cr0, ulong efer, in SegmentCache cs) =>
        (cr0 & Cr0PE) == 0 ? CpuMode.Real
        : (efer & EferLMA) == 0 ? cs.DefaultBig ? CpuMode.Protected32 : CpuMode.Protected16
        : cs.Long ? CpuMode.Long64
        : cs.DefaultBig ? CpuMode.Compatibility32 : CpuMode.Compatibility16;
}

/// <summary>Where the processor is on one side of a control transfer: CS:RIP, RSP, CPL and mode.</summary>
public readonly record struct CpuContext(ushort Cs, ulong Rip, ulong Rsp, int Cpl, CpuMode Mode)
{
    public override string ToString() => $"{Cs:x}:{Rip:x} rsp={Rsp:x} cpl{Cpl} {Mode}";
}

/// <summary>What every machine event carries: the virtual time (instructions retired before the instruction or
/// boundary that caused it) and the RIP of that instruction, or of the instruction an interrupt came before.</summary>
public interface IMachineEvent
{
    ulong Instructions { get; }
    ulong Rip { get; }
}

/// <summary>An exception, NMI, external or software interrupt delivered through the IDT (SDM Vol. 3, chapter 6):
/// <see cref="ReturnRip"/> is the RIP the frame holds; <see cref="To"/> is the handler with RSP at the frame.
/// A #PF's <see cref="Cr2"/> is the faulting address.</summary>
public readonly record struct InterruptDelivered(ulong Instructions, ulong Rip, Vector Vector, EventSource Source, uint? ErrorCode,
                                                 ulong? Cr2, ulong ReturnRip, CpuContext From, CpuContext To) : IMachineEvent
{
    public override string ToString() =>
        $"[{Instructions}] {VectorNames.Mnemonic(Vector)} ({Source}){(ErrorCode is { } e ? $" error=0x{e:x}" : "")}"
        + $"{(Cr2 is { } cr2 ? $" cr2=0x{cr2:x}" : "")} at 0x{Rip:x}, return 0x{ReturnRip:x}: {From} -> {To}";
}

/// <summary>The instructions that change privilege without a gate or a descriptor read, and IRET.</summary>
public enum TransferKind : byte { Syscall, Sysret, Sysenter, Sysexit, Iret }

/// <summary>A SYSCALL, SYSRET, SYSENTER, SYSEXIT or IRET completed: the context before and after it.</summary>
public readonly record struct ControlTransfer(ulong Instructions, ulong Rip, TransferKind Kind, CpuContext From, CpuContext To)
    : IMachineEvent
{
    public override string ToString() => $"[{Instructions}] {Kind.ToString().ToUpperInvariant()} at 0x{Rip:x}: {From} -> {To}";
}

/// <summary>SWAPGS exchanged GS.base and IA32_KERNEL_GS_BASE: these are the values after it.</summary>
public readonly record struct SwapgsExecuted(ulong Instructions, ulong Rip, ulong GsBase, ulong KernelGsBase) : IMachineEvent
{
    public override string ToString() => $"[{Instructions}] SWAPGS at 0x{Rip:x}: gs.base=0x{GsBase:x} kernel_gs_base=0x{KernelGsBase:x}";
}

/// <summary>MOV to CR0, CR2, CR3 or CR4, CLTS or LMSW wrote control register CR<see cref="Register"/>.</summary>
public readonly record struct ControlRegisterWritten(ulong Instructions, ulong Rip, int Register, ulong Old, ulong New) : IMachineEvent
{
    public override string ToString() => $"[{Instructions}] cr{Register} 0x{Old:x} -> 0x{New:x} at 0x{Rip:x}";
}

/// <summary>A guest WRMSR: the register's value before and after (what it stores, which may differ from EDX:EAX).</summary>
public readonly record struct MsrWritten(ulong Instructions, ulong Rip, Msr Msr, ulong Old, ulong New) : IMachineEvent
{
    public override string ToString() =>
        $"[{Instructions}] wrmsr {ModelSpecificRegisters.Info(Msr).Name} 0x{Old:x} -> 0x{New:x} at 0x{Rip:x}";
}

/// <summary>The operating mode changed: by a CR0 write (PE, or PG activating IA-32e mode), or by a transfer loading
/// a CS of another kind (far JMP/CALL/RET, IRET, SYSCALL/SYSRET/SYSENTER/SYSEXIT, an interrupt or exception).</summary>
public readonly record struct ModeChanged(ulong Instructions, ulong Rip, CpuMode Before, CpuMode After) : IMachineEvent
{
    public override string ToString() => $"[{Instructions}] mode {Before} -> {After} at 0x{Rip:x}";
}

/// <summary>The guest transmitted a byte on a serial port.</summary>
public readonly record struct SerialOutput(ulong Instructions, ulong Rip, ushort Port, byte Value) : IMachineEvent
{
    public override string ToString() => $"[{Instructions}] serial 0x{Port:x} <- 0x{Value:x2} at 0x{Rip:x}";
}

/// <summary>
/// The machine's events, for listeners (the shell's tracing and "catch" commands, scripts). They cost nothing while
/// nobody listens: the processor holds this object in <see cref="Cpu.Sink"/> only while some event has a handler, so
/// each raise site is one null test and builds no value otherwise. Handlers run on the machine's thread in the middle
/// of the instruction, once its architectural change is complete; they may read the machine and call
/// <see cref="RequestStop{T}"/>, and must not change it (an exception a handler throws ends the run as an internal
/// error). Only the guest's own actions raise events: the host's register and MSR writes through <see cref="Machine"/> do not.
/// </summary>
public sealed class MachineEvents(Cpu cpu)
{
    Action<InterruptDelivered>? _interruptDelivered;
    Action<ControlTransfer>? _controlTransfer;
    Action<SwapgsExecuted>? _swapgs;
    Action<ControlRegisterWritten>? _controlRegisterWritten;
    Action<MsrWritten>? _msrWritten;
    Action<ModeChanged>? _modeChanged;
    Action<SerialOutput>? _serialOutput;

    public event Action<InterruptDelivered>? InterruptDelivered { add => Update(ref _interruptDelivered, value, true); remove => Update(ref _interruptDelivered, value, false); }
    public event Action<ControlTransfer>? ControlTransfer { add => Update(ref _controlTransfer, value, true); remove => Update(ref _controlTransfer, value, false); }
    public event Action<SwapgsExecuted>? Swapgs { add => Update(ref _swapgs, value, true); remove => Update(ref _swapgs, value, false); }
    public event Action<ControlRegisterWritten>? ControlRegisterWritten { add => Update(ref _controlRegisterWritten, value, true); remove => Update(ref _controlRegisterWritten, value, false); }
    public event Action<MsrWritten>? MsrWritten { add => Update(ref _msrWritten, value, true); remove => Update(ref _msrWritten, value, false); }
    public event Action<ModeChanged>? ModeChanged { add => Update(ref _modeChanged, value, true); remove => Update(ref _modeChanged, value, false); }
    public event Action<SerialOutput>? SerialOutput { add => Update(ref _serialOutput, value, true); remove => Update(ref _serialOutput, value, false); }

    /// <summary>Called from a handler: the run stops once the current instruction (or delivery) completes, with
    /// <see cref="StopKind.EventCaught"/> and the event as its detail. The first request of an instruction wins.</summary>
    public void RequestStop<T>(T caught) where T : struct, IMachineEvent =>
        cpu.StopAfterInstruction(new StopReason(StopKind.EventCaught, caught.Rip, Detail: caught.ToString()));

    void Update<T>(ref Action<T>? handlers, Action<T>? handler, bool add)
    {
        handlers = add ? (Action<T>?)Delegate.Combine(handlers, handler) : (Action<T>?)Delegate.Remove(handlers, handler);
        bool any = _interruptDelivered is not null || _controlTransfer is not null || _swapgs is not null
                   || _controlRegisterWritten is not null || _msrWritten is not null || _modeChanged is not null
                   || _serialOutput is not null;
        cpu.Sink = any ? this : null;
    }

    // The raise methods, called through Cpu.Sink, so only while someone listens. Instructions raise theirs while
    // State.Rip is still their own address and State.InstructionsRetired does not count them yet.

    internal void Delivered(CpuFault evt, in CpuContext from, ulong returnRip)
    {
        var to = cpu.Context(cpu.State.Rip);
        _interruptDelivered?.Invoke(new(cpu.State.InstructionsRetired, from.Rip, evt.Vector, evt.Origin, evt.ErrorCode,
            evt.PageFaultAddress, returnRip, from, to));
        CheckMode(from.Rip, from.Mode, to.Mode);
    }

    internal void Transferred(TransferKind kind, in CpuContext from)
    {
        var to = cpu.Context(cpu.NextRip);
        _controlTransfer?.Invoke(new(cpu.State.InstructionsRetired, from.Rip, kind, from, to));
        CheckMode(from.Rip, from.Mode, to.Mode);
    }

    /// <summary>A far JMP, CALL or RET loaded CS: an event only if the mode changed.</summary>
    internal void CodeSegmentLoaded(CpuMode before) => CheckMode(cpu.State.Rip, before, cpu.State.Mode);

    internal void Swapped() =>
        _swapgs?.Invoke(new(cpu.State.InstructionsRetired, cpu.State.Rip, cpu.State.Segments[(int)SegmentRegister.Gs].Base,
            cpu.State.KernelGsBase));

    /// <summary>A control register changed. A CR0 write can change the mode: PE, and PG, which sets or clears EFER.LMA
    /// when EFER.LME is set (LME cannot change while PG is set, so LMA before the write was PG before it and LME).</summary>
    internal void ControlRegister(int register, ulong old, ulong value)
    {
        ref CpuState s = ref cpu.State;
        _controlRegisterWritten?.Invoke(new(s.InstructionsRetired, s.Rip, register, old, value));
        if (register != 0)
            return;
        ulong lmaBefore = (old & CpuState.Cr0PG) != 0 && (s.Efer & CpuState.EferLME) != 0 ? CpuState.EferLMA : 0;
        CheckMode(s.Rip, CpuState.ModeOf(old, (s.Efer & ~CpuState.EferLMA) | lmaBefore, s.Segments[(int)SegmentRegister.Cs]), s.Mode);
    }

    internal void Msr(Msr msr, ulong old) =>
        _msrWritten?.Invoke(new(cpu.State.InstructionsRetired, cpu.State.Rip, msr, old, cpu.ReadMsr(msr)));

    internal void Serial(ushort port, byte value) =>
        _serialOutput?.Invoke(new(cpu.State.InstructionsRetired, cpu.State.Rip, port, value));

    void CheckMode(ulong rip, CpuMode before, CpuMode after)
    {
        if (before != after)
            _modeChanged?.Invoke(new(cpu.State.InstructionsRetired, rip, before, after));
    }
}

public sealed partial class Cpu
{
    /// <summary>The events a listener can subscribe to.</summary>
    public MachineEvents Events => _events ??= new MachineEvents(this);

    MachineEvents? _events;

    /// <summary><see cref="Events"/> while some event has a handler, else null: raise sites test only this.</summary>
    internal MachineEvents? Sink;

    /// <summary>The current CS, RSP, CPL and mode with <paramref name="rip"/>.</summary>
    internal CpuContext Context(ulong rip) =>
        new(State.Cs.Selector, rip, State.Gpr[(int)Gpr.Rsp], State.Cpl, State.Mode);

    /// <summary>The context before a transfer, captured only while someone listens.</summary>
    internal CpuContext ContextIfListened(ulong rip) => Sink is null ? default : Context(rip);
}
