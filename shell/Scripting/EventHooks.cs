namespace Repl.Shell.Scripting;

using Repl.Machine;
using Repl.Shell.Debugging;

/// <summary>
/// <c>On</c> in scripts: handlers for the machine's events (<c>On.Syscall += t => ...</c>) and for reaching an
/// instruction (<c>On.Instruction(addr, () => ...)</c>). They run during every run of the debugger's machine, from the
/// shell's commands, from C#, or from gdb through gdbserver, on the thread that runs it; they may read the machine and
/// call <see cref="Stop{T}"/>. An exception a handler throws stops the run: the shell reports it as an error with the
/// handler's line, the C# call that ran the machine (<c>Continue()</c>, <c>Step()</c>) rethrows it, and gdb's console
/// shows it.
/// </summary>
public sealed class EventHooks : IRunHooks
{
    readonly Debugger _debugger;
    readonly Machine _machine;
    readonly Dictionary<ulong, List<Action>> _instructions = [];
    readonly Handlers<InterruptDelivered> _exception;
    readonly Handlers<ControlTransfer> _syscall, _sysret, _transfer;
    readonly Handlers<SwapgsExecuted> _swapgs;
    readonly Handlers<ControlRegisterWritten> _cr3Write;
    readonly Handlers<MsrWritten> _msrWrite;
    readonly Handlers<ModeChanged> _modeSwitch;
    Exception? _failure;

    /// <summary>Hooks on the debugger's current machine; they make themselves its <see cref="Debugger.Hooks"/>.</summary>
    public EventHooks(Debugger debugger)
    {
        _debugger = debugger;
        _machine = debugger.Machine;
        var events = _machine.Events;
        _exception = new(this, h => events.InterruptDelivered += h, h => events.InterruptDelivered -= h, _ => true);
        _transfer = new(this, h => events.ControlTransfer += h, h => events.ControlTransfer -= h, _ => true);
        _syscall = new(this, h => events.ControlTransfer += h, h => events.ControlTransfer -= h, t => t.Kind == TransferKind.Syscall);
        _sysret = new(this, h => events.ControlTransfer += h, h => events.ControlTransfer -= h, t => t.Kind == TransferKind.Sysret);
        _swapgs = new(this, h => events.Swapgs += h, h => events.Swapgs -= h, _ => true);
        _cr3Write = new(this, h => events.ControlRegisterWritten += h, h => events.ControlRegisterWritten -= h, w => w.Register == 3);
        _msrWrite = new(this, h => events.MsrWritten += h, h => events.MsrWritten -= h, _ => true);
        _modeSwitch = new(this, h => events.ModeChanged += h, h => events.ModeChanged -= h, _ => true);
        debugger.Hooks = this;
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

    /// <summary>Runs <paramref name="action"/> each time a run (continue, step, next, until, finish) arrives at
    /// <paramref name="address"/>, before the instruction there executes; the run then goes on.</summary>
    public void Instruction(ulong address, Action action)
    {
        if (!_instructions.TryGetValue(address, out var actions))
            _instructions[address] = actions = [];
        actions.Add(action);
        _debugger.HooksChanged();
    }

    /// <summary>From a handler: the run stops once the current instruction completes, with the event as its reason.</summary>
    public void Stop<T>(T caught) where T : struct, IMachineEvent => _machine.Events.RequestStop(caught);

    /// <summary>Removes every handler and instruction hook.</summary>
    public void Clear()
    {
        foreach (var handlers in new IHandlers[] { _exception, _syscall, _sysret, _transfer, _swapgs, _cr3Write, _msrWrite, _modeSwitch })
            handlers.Clear();
        _instructions.Clear();
        _debugger.HooksChanged();
    }

    IReadOnlyCollection<ulong> IRunHooks.Addresses => _instructions.Keys;

    void IRunHooks.RunAt(ulong address)
    {
        foreach (var action in _instructions[address].ToArray())
        {
            try
            {
                action();
            }
            catch (Exception e)
            {
                throw Failure(e);
            }
        }
    }

    void IRunHooks.ThrowIfFailed()
    {
        var failure = _failure;
        _failure = null;
        if (failure is not null)
            throw Failure(failure);
    }

    static HookException Failure(Exception e) =>
        new($"a script hook failed: {ScriptErrors.Runtime(e)} (the run stopped; On.Clear() removes the hooks)", e);

    /// <summary>A handler threw during a run: the run stops after this instruction, as a catchpoint stops it (a stop
    /// that a run ending with this instruction does not leave pending for the next one), and the failure is reported.</summary>
    void Failed<T>(Exception e, T during) where T : struct, IMachineEvent
    {
        // The first failure is the one worth reading.
        if (_failure is not null)
            return;
        _failure = e;
        _machine.Events.RequestStop(during);
    }

    interface IHandlers
    {
        void Clear();
    }

    /// <summary>The handlers of one script event, subscribed to the machine's event only while there are some
    /// (the machine's events are free while nobody listens).</summary>
    sealed class Handlers<T>(EventHooks hooks, Action<Action<T>> subscribe, Action<Action<T>> unsubscribe, Func<T, bool> wanted)
        : IHandlers where T : struct, IMachineEvent
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
                    hooks.Failed(failure, e);
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
