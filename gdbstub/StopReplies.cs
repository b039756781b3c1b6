namespace Repl.GdbStub;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>Signal numbers as the remote protocol carries them: gdb's own numbering (gdb/signals.def), which for
/// these matches Linux on x86.</summary>
public enum GdbSignal : byte
{
    Int = 2, Ill = 4, Trap = 5, Abrt = 6, Fpe = 8, Bus = 10, Segv = 11, Stop = 17,
}

/// <summary>
/// Machine stops as stop replies (GDB manual, "Stop Reply Packets"). A guest fault gets the signal a Unix kernel
/// would send for the vector (#DE SIGFPE, #UD SIGILL, #GP and #PF SIGSEGV, #AC SIGBUS...), breakpoints and steps
/// SIGTRAP with the swbreak/hwbreak/watch/rwatch/awatch reason, Ctrl-C SIGINT, a halted processor SIGSTOP.
/// </summary>
public static class StopReplies
{
    /// <summary>The one thread: the machine has one processor.</summary>
    public const int ThreadId = 1;

    public static GdbSignal SignalFor(Vector vector) => vector switch
    {
        Vector.DE or Vector.MF or Vector.XM or Vector.NM => GdbSignal.Fpe,
        Vector.DB or Vector.BP => GdbSignal.Trap,
        Vector.NMI => GdbSignal.Int,
        Vector.UD => GdbSignal.Ill,
        Vector.AC or Vector.MC => GdbSignal.Bus,
        _ => GdbSignal.Segv,
    };

    public static GdbSignal SignalFor(StopReason stop) => stop.Kind switch
    {
        StopKind.Interrupted => GdbSignal.Int,
        StopKind.Fault when stop.Vector is { } v => SignalFor(v),
        StopKind.Fault or StopKind.TripleFault => GdbSignal.Segv,
        StopKind.Halted or StopKind.InstructionBudget => GdbSignal.Stop,
        StopKind.InternalError => GdbSignal.Abrt,
        _ => GdbSignal.Trap,
    };

    /// <summary>Stops that gdb's signal alone does not explain; the stub prints them on gdb's console first.</summary>
    public static bool NeedsExplaining(StopReason stop) =>
        stop.Kind is not (StopKind.Breakpoint or StopKind.Watchpoint or StopKind.StepDone or StopKind.Interrupted);

    /// <summary>A T reply: the signal, the thread, the reason (<paramref name="reason"/>, such as "swbreak:" or
    /// "watch:ADDR"), and the registers gdb needs first (rbp, rsp, rip), which saves it a 'g' per step.</summary>
    public static string Stopped(GdbSignal signal, string? reason, ReadOnlySpan<(int Number, string Hex)> expedited)
    {
        var reply = new System.Text.StringBuilder($"T{(byte)signal:x2}");
        foreach (var (number, hex) in expedited)
            reply.Append($"{number:x2}:{hex};");
        reply.Append($"thread:{ThreadId:x};");
        if (reason is not null)
            reply.Append(reason).Append(';');
        return reply.ToString();
    }

    /// <summary>The guest left through the debug-exit port: to gdb, the process exited with that status.</summary>
    public static string Exited(int status) => $"W{status & 0xFF:x2}";
}
