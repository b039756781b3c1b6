namespace Repl.Shell.Scripting;

using Repl.Machine;

/// <summary>
/// <c>On</c> in scripts: handlers for the machine's events (<c>On.Syscall += t => ...</c>) and for reaching an
/// instruction (<c>On.Instruction(addr, () => ...)</c>). Handlers run on the machine's thread in the middle of a run;
/// they may read the machine and call <see cref="Stop{T}"/>. An exception a handler throws stops the run, and the
/// command that ran the machine (<c>Continue()</c>, <c>Step()</c>) rethrows it, so it is reported with the handler's line.
/// </summary>
public sealed class EventHooks
{
    readonly Machine _machine;
    readonly Func<ulong, bool> _userBreakpointAt;
    readonly Dictionary<ulong, List<Action>> _instructions = [];
    readonly Handlers<InterruptDelivered> _exception;
    readonly Handlers<ControlTransfer> _syscall, _sysret, _transfer;
    readonly Handlers<SwapgsExecuted> _swapgs;
    readonly Handlers<ControlRegisterWritten> _cr3Write;
    readonly Handlers<MsrWritten> _msrWrite;
    readonly Handlers<ModeChanged> _modeSwitch;
    Exception? _failure;

    /// <param name="userBreakpointAt">Whether the user has an enabled breakpoint at an address, which stays in the
    /// machine's breakpoint set when the hooks go.</param>
    public EventHooks(Machine machine, Func<ulong, bool> userBreakpointAt)
    {
        _machine = machine;
        _userBreakpointAt = userBreakpointAt;
        var events = machine.Events;
        _exception = new(this, h => events.InterruptDelivered += h, h => events.InterruptDelivered -= h, _ => true);
        _transfer = new(this, h => events.ControlTransfer += h, h => events.ControlTransfer -= h, _ => true);
        _syscall = new(this, h => events.ControlTransfer += h, h => events.ControlTransfer -= h, t => t.Kind == TransferKind.Syscall);
        _sysret = new(this, h => events.ControlTransfer += h, h => events.ControlTransfer -= h, t => t.Kind == TransferKind.Sysret);
        _swapgs = new(this, h => events.Swapgs += h, h => events.Swapgs -= h, _ => true);
        _cr3Write = new(this, h => events.ControlRegisterWritten += h, h => events.ControlRegisterWritten -= h, w => w.Register == 3);
        _msrWrite = new(this, h => events.MsrWritten += h, h => events.MsrWritten -= h, _ => true);
        _modeSwitch = new(this, h => events.ModeChanged += h, h => events.ModeChanged -= h, _ => true);
    }

    /// <summary>An exception, NMI or interrupt delivered through the IDT.</summary>
    public event Action<InterruptDelivered> Exception { add => _exception.Add(value); remove => _exception.Remove(value); }
    public event Action<ControlTransfer> Syscall { add => _syscall.Add(value); remove => _syscall.Remove(value); }
    public event Action<ControlTransfer> Sysret { add => _sysret.Add(value); remove => _sysret.Remove(value); }
    /// <summary>Every SYSCALL, SYSRET, SYSENTER, SYSEXIT and IRET.</summary>
    public event Action<ControlTransfer> Transfer { add => _transfer.Add(value); remove => _transfer.Remove(value); }
    public event Action<SwapgsExecuted> Swapgs { add => _swapgs.Add(value); remove => _swapgs.Remove(value); }
    public event Action<ControlRegisterWritten> Cr3Write { add => _cr3Write.Add(value); remove => _cr3Write.Remove(value); }
    /// <summary>A guest WRMSR (the host's writes through <c>Msr</c> raise nothing).</summary>
    public event Action<MsrWritten> MsrWrite { add => _msrWrite.Add(value); remove => _msrWrite.Remove(value); }
    public event Action<ModeChanged> ModeSwitch { add => _modeSwitch.Add(value); remove => _modeSwitch.Remove(value); }

    /// <summary>Runs <paramref name="action"/> each time <c>Continue()</c> reaches <paramref name="address"/>, before the
    /// instruction there executes; the run then goes on.</summary>
    public void Instruction(ulong address, Action action)
    {
        if (!_instructions.TryGetValue(address, out var actions))
            _instructions[address] = actions = [];
        actions.Add(action);
    }

    /// <summary>From a handler: the run stops once the current instruction completes, with the event as its reason.</summary>
    public void Stop<T>(T caught) where T : struct, IMachineEvent => _machine.Events.RequestStop(caught);

    /// <summary>Removes every handler and instruction hook.</summary>
    public void Clear()
    {
        foreach (var handlers in new IHandlers[] { _exception, _syscall, _sysret, _transfer, _swapgs, _cr3Write, _msrWrite, _modeSwitch })
            handlers.Clear();
        foreach (ulong address in _instructions.Keys.Where(a => !_userBreakpointAt(a)))
            _machine.Cpu.Breakpoints.Remove(address);
        _instructions.Clear();
    }

    /// <summary>Puts the hooked addresses in the machine's breakpoint set, where the debugger's own bookkeeping may
    /// have dropped them: a run stops there, and <see cref="RunInstructionHooks"/> sorts the stop out.</summary>
    internal void Arm() => _machine.Cpu.Breakpoints.UnionWith(_instructions.Keys);

    /// <summary>Runs the instruction hooks at a breakpoint stop. True when the run should go on: hooks ran, and the
    /// stop was not also the user's breakpoint.</summary>
    internal bool RunInstructionHooks(StopReason stop, bool userBreakpoint)
    {
        if (stop.Kind != StopKind.Breakpoint || !_instructions.TryGetValue(stop.Rip, out var actions))
            return false;
        foreach (var action in actions.ToArray())
            action();
        return !userBreakpoint;
    }

    /// <summary>Rethrows, once, the exception a handler threw during the last run.</summary>
    internal void ThrowIfHandlerFailed()
    {
        var failure = _failure;
        _failure = null;
        if (failure is not null)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
    }

    void Failed(Exception e)
    {
        // The first failure is the one worth reading; the machine may run a few more instructions before it stops.
        _failure ??= e;
        _machine.RequestStop();
    }

    interface IHandlers
    {
        void Clear();
    }

    /// <summary>The handlers of one script event, subscribed to the machine's event only while there are some
    /// (the machine's events are free while nobody listens).</summary>
    sealed class Handlers<T>(EventHooks hooks, Action<Action<T>> subscribe, Action<Action<T>> unsubscribe, Func<T, bool> wanted)
        : IHandlers
    {
        readonly List<Action<T>> _handlers = [];

        public void Add(Action<T> handler)
        {
            if (_handlers.Count == 0)
                subscribe(Dispatch);
            _handlers.Add(handler);
        }

        public void Remove(Action<T> handler)
        {
            if (_handlers.Remove(handler) && _handlers.Count == 0)
                unsubscribe(Dispatch);
        }

        public void Clear()
        {
            if (_handlers.Count != 0)
                unsubscribe(Dispatch);
            _handlers.Clear();
        }

        void Dispatch(T e)
        {
            if (!wanted(e))
                return;
            foreach (var handler in _handlers.ToArray())
            {
                try
                {
                    handler(e);
                }
                catch (Exception failure)
                {
                    hooks.Failed(failure);
                    return;
                }
            }
        }
    }
}

/// <summary><c>Inject</c> in scripts: events from outside the processor, delivered at the next boundary that allows them.</summary>
public sealed class Injector(Machine machine)
{
    /// <summary>Signals an NMI: delivered at the next instruction boundary where NMIs are not blocked.</summary>
    public void Nmi() => machine.InjectNmi();

    /// <summary>Requests external interrupt <paramref name="vector"/>, delivered once RFLAGS.IF allows.</summary>
    public void Irq(byte vector) => machine.RaiseInterrupt(vector);
}
