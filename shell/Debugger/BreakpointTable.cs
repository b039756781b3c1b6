namespace Repl.Shell.Debugging;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>The numbered breakpoints, watchpoints and catchpoints, and how they reach the machine: code addresses in
/// <see cref="Cpu.Breakpoints"/>, ranges in <see cref="Machine.Watchpoints"/>, catchpoints as event handlers that
/// exist only while an enabled catchpoint needs them (events cost nothing unheard).</summary>
public sealed partial class Debugger
{
    /// <summary>The catchpoint whose event asked the machine to stop during the current run.</summary>
    Breakpoint? _caught;

    /// <summary>Whether our handlers are on the current machine's events.</summary>
    bool _subscribed;

    /// <summary>A code breakpoint at <paramref name="location"/>; a C# <paramref name="condition"/> needs <see cref="ConditionEvaluator"/>.</summary>
    public Breakpoint Break(string location, string? condition = null, bool temporary = false)
    {
        if (condition is not null && ConditionEvaluator is null)
            throw new CommandException("breakpoint conditions are C#, and no C# session is running here (break without 'if', or use the repl)");
        if (condition is not null)
        {
            try
            {
                ConditionCompiler?.Invoke(condition);
            }
            catch (Scripting.ScriptConditionException e)
            {
                throw new CommandException($"the condition '{condition}' does not compile: {e.Message}");
            }
        }
        return Add(new Breakpoint
        {
            Id = _nextBreakpointId, Type = BreakpointType.Breakpoint, Address = ResolveLocation(location),
            Condition = condition, Temporary = temporary,
        });
    }

    /// <summary>A watchpoint on [<paramref name="address"/>, +<paramref name="length"/>) (linear addresses).</summary>
    public Breakpoint Watch(ulong address, ulong length = 8, WatchKind kind = WatchKind.Write)
    {
        if (length == 0)
            throw new CommandException("a watchpoint needs a length of at least one byte");
        return Add(new Breakpoint { Id = _nextBreakpointId, Type = BreakpointType.Watchpoint, Address = address, Length = length, Watch = kind });
    }

    /// <summary>A catchpoint on a machine event; <paramref name="filter"/> narrows it (vector, system call number, MSR index).</summary>
    public Breakpoint Catch(CatchKind kind, ulong? filter = null) =>
        Add(new Breakpoint { Id = _nextBreakpointId, Type = BreakpointType.Catchpoint, Catch = kind, Filter = filter });

    Breakpoint Add(Breakpoint b)
    {
        b.Program = Program;
        _nextBreakpointId++;
        _breakpoints.Add(b);
        SyncMachine();
        return b;
    }

    public void Delete(int id)
    {
        var b = Find(id);
        b.Enabled = false;
        SyncMachine();
        _breakpoints.Remove(b);
    }

    /// <summary>Deletes every breakpoint, watchpoint and catchpoint (gdb's 'delete' without numbers).</summary>
    public void DeleteAll()
    {
        foreach (var b in _breakpoints)
            b.Enabled = false;
        SyncMachine();
        _breakpoints.Clear();
    }

    public void Enable(int id, bool enabled = true)
    {
        Find(id).Enabled = enabled;
        SyncMachine();
    }

    Breakpoint Find(int id) => _breakpoints.FirstOrDefault(b => b.Id == id)
        ?? throw new CommandException($"no breakpoint number {id} (see 'info breakpoints')");

    IRunHooks? _hooks;

    /// <summary>The user's code that runs during runs (the scripting session's <c>On</c>); null when no C# session runs here.</summary>
    public IRunHooks? Hooks
    {
        get => _hooks;
        set
        {
            _hooks = value;
            SyncMachine();
        }
    }

    /// <summary>Called by <see cref="Hooks"/> when its addresses change.</summary>
    internal void HooksChanged() => SyncMachine();

    /// <summary>The addresses where the shell itself stops a run: its internal stops (next, finish, until), its hooks'
    /// addresses and its enabled breakpoints.</summary>
    IEnumerable<ulong> ShellStops() =>
        _internalStops.Concat(_hooks?.Addresses ?? []).Concat(_breakpoints.Where(b => b.Type == BreakpointType.Breakpoint && b.Enabled).Select(b => b.Address));

    /// <summary>Makes the machine's breakpoint set, watchpoints and event handlers match the enabled entries.</summary>
    void SyncMachine()
    {
        var addresses = Machine.Cpu.Breakpoints;
        addresses.Clear();
        addresses.UnionWith(ShellStops());
        // gdb's breakpoints, while it is attached, are in the same set: they stay.
        addresses.UnionWith(_server?.ClientBreakpoints ?? []);
        foreach (var b in _breakpoints)
        {
            switch (b.Type)
            {
                case BreakpointType.Watchpoint when b.Enabled && b.MachineWatchId is null:
                    b.MachineWatchId = Machine.Watchpoints.Add(b.Address, b.Length, b.Watch);
                    break;
                case BreakpointType.Watchpoint when !b.Enabled && b.MachineWatchId is { } id:
                    Machine.Watchpoints.Remove(id);
                    b.MachineWatchId = null;
                    break;
            }
        }
        bool wanted = _breakpoints.Any(b => b.Type == BreakpointType.Catchpoint && b.Enabled);
        if (wanted && !_subscribed)
            Subscribe();
        else if (!wanted)
            Unsubscribe();
    }

    void Subscribe()
    {
        var events = Machine.Events;
        events.InterruptDelivered += OnInterrupt;
        events.ControlTransfer += OnTransfer;
        events.ControlRegisterWritten += OnControlRegister;
        events.MsrWritten += OnMsr;
        events.ModeChanged += OnModeChanged;
        _subscribed = true;
    }

    void Unsubscribe()
    {
        if (!_subscribed)
            return;
        var events = Machine.Events;
        events.InterruptDelivered -= OnInterrupt;
        events.ControlTransfer -= OnTransfer;
        events.ControlRegisterWritten -= OnControlRegister;
        events.MsrWritten -= OnMsr;
        events.ModeChanged -= OnModeChanged;
        _subscribed = false;
    }

    void OnInterrupt(InterruptDelivered e)
    {
        // "catch exception" alone is about what the processor raises and INT n; external interrupts and NMIs are
        // not exceptions, but a VECTOR names any delivery through that vector.
        bool exception = e.Source is EventSource.Exception or EventSource.SoftwareInterrupt or EventSource.PrivilegedSoftwareException;
        Catches(CatchKind.Exception, b => b.Filter is { } vector ? vector == (ulong)e.Vector : exception, e);
    }

    void OnTransfer(ControlTransfer e)
    {
        // The system call number is in RAX when SYSCALL or SYSENTER has just executed: the kernel has not run yet.
        ulong number = Machine.State.Gpr[(int)Gpr.Rax];
        if (e.Kind is TransferKind.Syscall or TransferKind.Sysenter)
            Catches(CatchKind.Syscall, b => b.Filter is null || b.Filter == number, e);
    }

    void OnControlRegister(ControlRegisterWritten e)
    {
        if (e.Register == 3)
            Catches(CatchKind.Cr3, _ => true, e);
    }

    void OnMsr(MsrWritten e) => Catches(CatchKind.Msr, b => b.Filter is null || b.Filter == (uint)e.Msr, e);

    void OnModeChanged(ModeChanged e) => Catches(CatchKind.ModeSwitch, _ => true, e);

    void Catches<T>(CatchKind kind, Func<Breakpoint, bool> matches, T e) where T : struct, IMachineEvent
    {
        if (_caught is not null)
            return; // the first event of an instruction stops it, as the machine keeps the first request
        _caught = _breakpoints.FirstOrDefault(b => b.Type == BreakpointType.Catchpoint && b.Enabled && b.Catch == kind && matches(b));
        if (_caught is not null)
            Machine.Events.RequestStop(e);
    }
}
