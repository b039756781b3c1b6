
namespace Repl.Machine;

public enum StopKind
{
    /// <summary>RIP reached a breakpoint address; the instruction there has not executed.</summary>
    Breakpoint,
    /// <summary>An instruction accessed memory a <see cref="Watchpoints">watchpoint</see> watches; it has completed.</summary>
    Watchpoint,
    /// <summary>The requested number of steps completed.</summary>
    StepDone,
    /// <summary>An exception was raised that the machine could not deliver.</summary>
    Fault,
    /// <summary>A fault while delivering a double fault: on hardware, a shutdown.</summary>
    TripleFault,
    /// <summary>HLT with nothing to wake the processor.</summary>
    Halted,
    /// <summary>The guest wrote the debug-exit port.</summary>
    DebugExit,
    /// <summary>The run's instruction budget ran out.</summary>
    InstructionBudget,
    /// <summary>The host asked the machine to stop.</summary>
    Interrupted,
    /// <summary>A listener of <see cref="MachineEvents"/> asked to stop on an event (the shell's "catch syscall").</summary>
    EventCaught,
    /// <summary>The emulator itself failed (a bug in Repl, not in the guest): the state may be inconsistent.</summary>
    InternalError,
}

/// <summary>
/// Who asks a run to stop from another thread (<see cref="Cpu.RequestStop"/>). Requests are kept apart so that one
/// requester withdrawing its own leftover request (<see cref="Cpu.CancelStopRequest"/>) cannot withdraw another's that
/// the run has not reached yet: the shell tidying up after a line typed while gdb runs the machine must not swallow
/// gdb's Ctrl-C.
/// </summary>
public enum StopRequester
{
    /// <summary>The program the machine runs in: its console's Ctrl-C, a script's deadline.</summary>
    Local,
    /// <summary>A debugger attached over a connection: the GDB stub, for the client's Ctrl-C or its going away.</summary>
    Remote,
}

/// <summary>
/// Why a run ended. <see cref="Rip"/> is where execution would resume. <see cref="ExitStatus"/> is the
/// status a <see cref="StopKind.DebugExit"/> reports, as QEMU's isa-debug-exit makes its process exit with.
/// A <see cref="StopKind.Watchpoint"/> stop gives the first watched byte the access touched in <see cref="DataAddress"/>
/// and the kind of the watchpoint hit in <see cref="Watch"/>.
/// </summary>
public readonly record struct StopReason(StopKind Kind, ulong Rip, Vector? Vector = null, uint? ErrorCode = null, string? Detail = null,
                                         int? ExitStatus = null, ulong? DataAddress = null, WatchKind? Watch = null)
{
    public override string ToString()
    {
        string what = Kind switch
        {
            StopKind.Fault when Vector is { } v =>
                $"fault {VectorNames.Mnemonic(v)}{(ErrorCode is { } e ? $"(0x{e:x})" : "")}",
            StopKind.Breakpoint => "breakpoint",
            StopKind.Watchpoint => $"watchpoint ({Watch?.ToString().ToLowerInvariant()}) 0x{DataAddress:x}",
            StopKind.StepDone => "step done",
            StopKind.TripleFault => "triple fault",
            StopKind.Halted => "halted",
            StopKind.DebugExit => $"debug exit with status {ExitStatus}",
            StopKind.InstructionBudget => "instruction budget exhausted",
            StopKind.Interrupted => "interrupted",
            StopKind.EventCaught => "caught",
            StopKind.InternalError => "internal error in the emulator (please report it)",
            _ => Kind.ToString(),
        };
        return $"{what} at 0x{Rip:x}{(Detail is null ? "" : ": " + Detail)}";
    }
}
