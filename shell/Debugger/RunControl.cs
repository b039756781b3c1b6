using Iced.Intel;
using Repl.Machine.Asm;

namespace Repl.Shell.Debugging;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>Run control: the machine runs until a stop reason, and the debugger decides whether that stop is the
/// user's (a breakpoint whose condition holds, a watchpoint, a catchpoint, a fault) or its own to run past.</summary>
public sealed partial class Debugger
{
    /// <summary>How many instructions a source-line step or a finish may take before it gives up, so that a loop
    /// without lines or a function that never returns cannot hang the shell.</summary>
    public const int StepLimit = 1_000_000;

    /// <summary>Addresses the debugger stops at for itself (the return address of a call that 'next' steps over).</summary>
    readonly HashSet<ulong> _internalStops = [];

    /// <summary>The breakpoint or catchpoint the last stop is attributed to, for the report.</summary>
    public Breakpoint? LastHit { get; private set; }

    /// <summary>Runs until something stops the machine; with <paramref name="count"/> N, passes N-1 breakpoint stops first (gdb's continue N).</summary>
    public StopReason Continue(int count = 1)
    {
        StopReason stop = Resume(ulong.MaxValue);
        for (int i = 1; i < count && stop.Kind == StopKind.Breakpoint; i++)
            stop = Resume(ulong.MaxValue);
        return Stopped(stop);
    }

    /// <summary>Executes <paramref name="count"/> instructions (fewer if something stops the machine first).</summary>
    public StopReason StepInstruction(int count = 1)
    {
        StopReason stop = default;
        for (int i = 0; i < count; i++)
            if ((stop = Resume(1)).Kind != StopKind.StepDone)
                break;
        return Stopped(stop);
    }

    /// <summary>Steps to the next source line, into calls; one instruction where there is no line table.</summary>
    public StopReason Step(int count = 1) => Stopped(Lines(count, overCalls: false));

    /// <summary>Steps to the next source line (one instruction without a line table), running over calls.</summary>
    public StopReason Next(int count = 1) => Stopped(Lines(count, overCalls: true));

    /// <summary>Runs until the current function returns: steps over calls until a return instruction has executed.</summary>
    public StopReason Finish()
    {
        for (int i = 0; i < StepLimit; i++)
        {
            bool isReturn = InstructionAtRip() is { FlowControl: FlowControl.Return };
            var stop = OneInstruction(overCalls: true);
            if (stop.Kind != StopKind.StepDone || isReturn)
                return Stopped(stop);
        }
        throw new CommandException($"no return within {StepLimit:N0} instructions; the function may not return (use 'continue' or a breakpoint)");
    }

    /// <summary>Runs until RIP reaches <paramref name="location"/> (or something else stops the machine first).</summary>
    public StopReason Until(string location)
    {
        ulong address = ResolveLocation(location);
        _internalStops.Add(address);
        try
        {
            // Added rather than a full sync, which would drop what else is armed there (a script's instruction hooks).
            Machine.Cpu.Breakpoints.Add(address);
            return Stopped(Resume(ulong.MaxValue));
        }
        finally
        {
            _internalStops.Remove(address);
            SyncMachine();
        }
    }

    StopReason Lines(int count, bool overCalls)
    {
        StopReason stop = default;
        for (int n = 0; n < count; n++)
        {
            LineEntry? start = Symbols.LineAt(Machine.State.Rip);
            stop = OneInstruction(overCalls);
            if (start is not { } from)
                continue;
            for (int i = 0; stop.Kind == StopKind.StepDone; i++)
            {
                if (Symbols.LineAt(Machine.State.Rip) is { } now && (now.Line != from.Line || now.File != from.File))
                    break;
                if (i == StepLimit)
                    throw new CommandException($"still on {from.File}:{from.Line} after {StepLimit:N0} instructions (a loop on one line? use 'until LOC')");
                stop = OneInstruction(overCalls);
            }
            if (stop.Kind != StopKind.StepDone)
                break;
        }
        return stop;
    }

    /// <summary>One instruction; over a call, the whole call, by running to its return address with the stack back
    /// where it was (a recursive call that reaches the same address deeper does not count).</summary>
    StopReason OneInstruction(bool overCalls)
    {
        if (!overCalls || InstructionAtRip() is not { } call || call.FlowControl is not (FlowControl.Call or FlowControl.IndirectCall))
            return Resume(1);
        ulong returnAddress = call.NextIP, stack = Machine.State.Gpr[(int)Gpr.Rsp];
        bool added = _internalStops.Add(returnAddress);
        try
        {
            SyncMachine();
            while (true)
            {
                var stop = Resume(ulong.MaxValue);
                bool back = stop.Kind == StopKind.Breakpoint && stop.Rip == returnAddress && Machine.State.Gpr[(int)Gpr.Rsp] >= stack;
                if (back && LastHit is null)
                    return stop with { Kind = StopKind.StepDone };
                if (back || stop.Kind != StopKind.Breakpoint || LastHit is not null)
                    return stop;
            }
        }
        finally
        {
            if (added)
                _internalStops.Remove(returnAddress);
            SyncMachine();
        }
    }

    Iced.Intel.Instruction? InstructionAtRip()
    {
        var line = Disassembler.Disassemble(Machine, Machine.State.Rip, 1)[0];
        return line.Kind == DisassemblyKind.Instruction ? line.Instruction : null;
    }

    /// <summary>Runs at most <paramref name="budget"/> instructions (1: a single step), stopping at the internal stop
    /// addresses too (until's location, the return of a call that next steps over).</summary>
    StopReason Resume(ulong budget)
    {
        RefuseWhileServing("running the machine");
        return Sorted(() =>
        {
            StopReason stop = _trace.Enabled ? TracedRun(budget) : Machine.Run(budget);
            return stop.Kind == StopKind.InstructionBudget && budget == 1 ? stop with { Kind = StopKind.StepDone } : stop;
        }, _internalStops.Contains);
    }

    /// <summary>
    /// Runs <paramref name="run"/>, again and again, until a stop that is the user's or the caller's, and sorts it out:
    /// the hooks run on the way; a breakpoint whose condition is false, or where only hooks are, is run past unless
    /// the caller stops there (<paramref name="callerStopsAt"/>: the debugger's internal stops, or gdb's breakpoints
    /// in a run gdb started); a temporary breakpoint that stops is deleted. <see cref="LastHit"/> says which user entry
    /// stopped it. Throws <see cref="HookException"/> when a hook failed, <see cref="CommandException"/> when a
    /// condition did.
    /// </summary>
    StopReason Sorted(Func<StopReason> run, Func<ulong, bool> callerStopsAt)
    {
        while (true)
        {
            LastHit = null;
            _caught = null;
            StopReason stop = run();
            Hooks?.ThrowIfFailed();
            RunHooksOnArrival();
            switch (stop.Kind)
            {
                case StopKind.Breakpoint:
                    var hit = _breakpoints.FirstOrDefault(b => b.Type == BreakpointType.Breakpoint && b.Enabled && b.Address == stop.Rip);
                    if (hit is not null && (hit.Condition is not { } condition || ConditionHolds(hit, condition)))
                    {
                        Hit(hit);
                        return stop;
                    }
                    if (callerStopsAt(stop.Rip))
                        return stop;
                    continue; // a false condition, or only hooks here: they ran, and the run goes on
                case StopKind.Watchpoint:
                    var watch = _breakpoints.FirstOrDefault(b => b.Type == BreakpointType.Watchpoint && b.Enabled
                        && stop.DataAddress is { } data && data - b.Address < b.Length);
                    if (watch is not null)
                        Hit(watch);
                    return stop;
                case StopKind.EventCaught:
                    if (_caught is { } caught)
                        Hit(caught);
                    return stop;
                default:
                    return stop;
            }
        }
    }

    /// <summary>The arrival (RIP, instructions retired) whose hooks ran last: a stop that is still that arrival (a fault
    /// at the hooked instruction, say) does not run them again, and a run resumed from there does not stop there.</summary>
    (ulong Rip, ulong Retired)? _hooksRan;

    /// <summary>Runs the instruction hooks at RIP if the run has just arrived there: at a breakpoint stop, and equally at
    /// the end of a step or any other stop, since the next run starts by executing the instruction there.</summary>
    void RunHooksOnArrival()
    {
        ulong rip = Machine.State.Rip;
        if (Hooks is not { } hooks || !hooks.Addresses.Contains(rip))
            return;
        var arrival = (rip, Machine.State.InstructionsRetired);
        if (_hooksRan == arrival)
            return;
        _hooksRan = arrival;
        hooks.RunAt(rip);
    }

    void Hit(Breakpoint b)
    {
        b.Hits++;
        LastHit = b;
        if (b.Temporary)
            Delete(b.Id);
    }

    bool ConditionHolds(Breakpoint b, string condition)
    {
        try
        {
            return ConditionEvaluator!(condition);
        }
        catch (Exception e)
        {
            // The stop is the user's to see: a broken condition must not turn into a breakpoint that never fires.
            throw new CommandException($"the condition of breakpoint {b.Id} ({condition}) failed: {e.Message}; the machine stopped there (fix it with 'delete {b.Id}' and 'break ... if ...')");
        }
    }

    StopReason Stopped(StopReason stop)
    {
        LastStop = stop;
        return stop;
    }

    /// <summary>
    /// What a stop prints, as gdb does: the reason ("Breakpoint 1, 0x100004 &lt;main+4&gt;"), then the instruction at
    /// RIP with its source line when the line table has one.
    /// </summary>
    public void Report(StopReason stop, TextWriter output)
    {
        if (Reason(stop) is { } reason)
            output.WriteLine(reason);
        WhereAmI(output);
    }

    /// <summary>The first line of a stop's report: which entry stopped it, or why; null for a step's end.</summary>
    string? Reason(StopReason stop) => stop.Kind switch
    {
        StopKind.StepDone => null,
        StopKind.Breakpoint when LastHit is { } b => $"{(b.Temporary ? "Temporary breakpoint" : "Breakpoint")} {b.Id}, {Program.Describe(stop.Rip)}",
        StopKind.Breakpoint => null, // the debugger's own stop (until, next): the place says it all
        StopKind.Watchpoint when LastHit is { } w => $"{char.ToUpperInvariant(w.TypeName[0])}{w.TypeName[1..]} {w.Id}: {stop.Watch?.ToString().ToLowerInvariant()} of 0x{stop.DataAddress:x}",
        StopKind.EventCaught when LastHit is { } c => $"Catchpoint {c.Id} ({c.Describe(Program)}): {stop.Detail}",
        _ => $"Stopped: {stop}",
    };

    /// <summary>The source line (when known) and the instruction at RIP.</summary>
    public void WhereAmI(TextWriter output)
    {
        ulong rip = Machine.State.Rip;
        if (Symbols.LineAt(rip) is { } line)
            output.WriteLine($"{line.File}:{line.Line}: {Program.SourceLine(line)?.Trim()}");
        output.WriteLine("=> " + Disassembler.Disassemble(Machine, rip, 1, symbols: Symbols)[0]);
    }
}
