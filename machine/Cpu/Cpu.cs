using Iced.Intel;

namespace Repl.Machine;

/// <summary>
/// One x86-64 logical processor: its architectural <see cref="State"/> and the interpreter that runs it.
/// Instructions are decoded once with Iced into blocks (straight-line runs within one page, ending at a
/// control transfer) cached by physical address; a guest write to a page holding cached code drops the
/// blocks on that page, so self-modifying code sees its new bytes as hardware does.
/// </summary>
public sealed unsafe partial class Cpu
{
    public CpuState State;
    public Bus Bus { get; }
    public CpuVendor Vendor { get; }

    /// <summary>Addresses (linear RIP values) at which a run stops before executing the instruction.</summary>
    public HashSet<ulong> Breakpoints { get; } = [];

    /// <summary>How often each unimplemented instruction raised #UD, by mnemonic.</summary>
    public Dictionary<string, long> UnimplementedExecuted { get; } = [];

    /// <summary>RIP of the instruction after the one executing; a control transfer replaces it.</summary>
    internal ulong NextRip;

    /// <summary>Set when the rest of the current block must not run as decoded (its code was written,
    /// or a mode change alters how the following bytes decode).</summary>
    internal bool EndBlock;

    /// <summary>Set when an instruction leaves RIP on itself to continue later (a long REP string instruction
    /// retiring in chunks): a breakpoint there has already been reported, so resuming must not report it again,
    /// as RFLAGS.RF prevents on hardware.</summary>
    internal bool ResumingInstruction;

    /// <summary>Set by HLT: the processor sleeps until an event wakes it (Interrupts.cs).</summary>
    internal bool Halted;

    /// <summary>The stop requests pending, one bit per <see cref="StopRequester"/>; the run polls it once per block.</summary>
    int _stopRequests;

    bool StopRequested => Volatile.Read(ref _stopRequests) != 0;

    /// <summary>A stop a device asked for while the current instruction executed (see <see cref="StopAfterInstruction"/>).</summary>
    StopReason? _deviceStop;

    public Cpu(Bus bus, CpuVendor vendor)
    {
        Bus = bus;
        Vendor = vendor;
        bus.CodeWritten = InvalidateCodePage;
    }

    /// <summary>Asks a run on another thread to stop; it does so within one block (at most <see cref="MaxBlockLength"/>
    /// instructions). A request made just before a run starts stops that run, so none is lost to the race.</summary>
    public void RequestStop(StopRequester requester = StopRequester.Local) => Interlocked.Or(ref _stopRequests, 1 << (int)requester);

    /// <summary>Withdraws <paramref name="requester"/>'s request if no run has honoured it yet, and no one else's. A
    /// requester that cannot tell whether its request reached the run it meant (the run may have ended on its own just
    /// before) calls this once that run is over, so that the request does not stop the next run before its first
    /// instruction.</summary>
    public void CancelStopRequest(StopRequester requester = StopRequester.Local) => Interlocked.And(ref _stopRequests, ~(1 << (int)requester));

    /// <summary>
    /// Called by a device during the instruction that accessed it (the debug-exit port): the instruction
    /// completes and retires, then the run returns <paramref name="stop"/> with RIP after it. The first
    /// request of an instruction wins.
    /// </summary>
    public void StopAfterInstruction(StopReason stop)
    {
        _deviceStop ??= stop;
        EndBlock = true;
    }

    /// <summary>The stop a device or event listener asked for, if any, with RIP where execution resumes; it is used up.</summary>
    StopReason? TakeDeviceStop()
    {
        if (_deviceStop is not { } stop)
            return null;
        _deviceStop = null;
        EndBlock = false;
        return stop with { Rip = State.Rip };
    }

    /// <summary>Honours the stop requests: every one pending is used up, since each asked for this run to stop.</summary>
    StopReason StopOnRequest()
    {
        Volatile.Write(ref _stopRequests, 0);
        return new StopReason(StopKind.Interrupted, State.Rip);
    }

    /// <summary>Executes exactly <paramref name="count"/> instructions unless something stops it first.</summary>
    public StopReason Step(ulong count = 1)
    {
        var stop = Run(count);
        return stop.Kind == StopKind.InstructionBudget ? stop with { Kind = StopKind.StepDone } : stop;
    }

    /// <summary>
    /// Runs until a stop reason arises, at most <paramref name="budget"/> instructions. A breakpoint at the
    /// starting RIP does not stop the first instruction, so a run can resume from a breakpoint. Exceptions raised
    /// by instructions are delivered through the IDT (Interrupts.cs) unless <see cref="CatchExceptions"/> names them.
    /// </summary>
    public StopReason Run(ulong budget = ulong.MaxValue)
    {
        ResumingInstruction = true; // a run may resume from the breakpoint it stopped at
        _deviceStop = null;
        SyncTranslation();
        Apic?.SyncWindow();
        // A handler whose first fetch faults again (say, under SMEP, a handler on a user page) makes a loop of
        // deliveries that retires nothing, as the hardware does; the budget bounds that loop as it bounds a loop
        // of instructions, so that the run still ends.
        ulong retired = State.InstructionsRetired, deliveriesWithoutRetiring = 0;
        try
        {
            while (true)
            {
                try
                {
                    return Execute(ref budget);
                }
                catch (CpuFault fault)
                {
                    EndBlock = false;
                    ForgetWatchHit();
                    if (Deliver(fault, ref budget) is { } stop)
                        return stop;
                    if (State.InstructionsRetired != retired)
                        (retired, deliveriesWithoutRetiring) = (State.InstructionsRetired, 0);
                    if (++deliveriesWithoutRetiring > budget)
                        return new StopReason(StopKind.InstructionBudget, State.Rip,
                            Detail: $"{deliveriesWithoutRetiring} deliveries of exceptions without an instruction retiring");
                }
            }
        }
        catch (Exception bug) when (bug is not OutOfMemoryException)
        {
            // Whatever the guest did, the host must survive it: a failure of the emulator ends the run with a
            // stop that names it, and the machine stays inspectable.
            EndBlock = false;
            return new StopReason(StopKind.InternalError, State.Rip, Detail: $"{bug.GetType().Name} in {bug.TargetSite?.Name}: {bug.Message}");
        }
    }

    /// <summary>The interpreter loop: blocks of instructions, with pending events taken at block boundaries (an
    /// instruction that can make one deliverable ends its block).</summary>
    StopReason Execute(ref ulong budget)
    {
        while (true)
        {
            if (StopRequested)
                return StopOnRequest();
            // A HLT that used up the budget still reports whether the processor sleeps for good.
            if (budget == 0 && !Halted)
                return new StopReason(StopKind.InstructionBudget, State.Rip);
            // A timer event is due (ApicTimerDue - 1 wraps to the maximum when none is scheduled).
            if (State.ApicTimerDue - 1 < State.InstructionsRetired)
                TimeSource?.AdvanceTo(State.InstructionsRetired);
            if ((Halted || EventsPending) && AtBoundary(ref budget) is { } stop)
                return stop;
            Block block = FetchBlock();
            // While debug features watch each instruction, instructions run one at a time through Debug.cs.
            if (DebugFeaturesActive)
            {
                if (ExecuteWatched(block, ref budget) is { } watchedStop)
                    return watchedStop;
                continue;
            }
            ulong ipMask = block.IpMask;
            // In an STI or MOV SS shadow only one instruction runs before events are looked at again; a block stops
            // at the boundary where the next timer event is due.
            int length = InterruptShadowActive ? 1 : block.Ops.Length;
            ulong beforeDue = State.ApicTimerDue - 1 - State.InstructionsRetired;
            if (beforeDue < (ulong)length)
                length = (int)beforeDue + 1;
            for (int i = 0; i < length; i++)
            {
                if (budget == 0)
                    return new StopReason(StopKind.InstructionBudget, State.Rip);
                if (Breakpoints.Count != 0 && !ResumingInstruction && Breakpoints.Contains(State.Rip))
                    return new StopReason(StopKind.Breakpoint, State.Rip);
                ResumingInstruction = false;
                ref Decoded d = ref block.Ops[i];
                ulong fallThrough = (State.Rip + d.Length) & ipMask;
                NextRip = fallThrough;
                d.Execute(this, ref d);
                State.Rip = NextRip;
                State.InstructionsRetired++;
                budget--;
                if (EndBlock || NextRip != fallThrough)
                {
                    EndBlock = false;
                    if (TakeDeviceStop() is { } deviceStop)
                        return deviceStop;
                    break;
                }
            }
        }
    }

    string? FaultDetail()
    {
        ulong linear = State.Rip & CodeIpMask(State.CodeBitness);
        return !TryTranslate(linear, State.Cr3, out ulong physical) || Bus.IsBacked(physical) ? null
            : "RIP points at physical memory that no RAM or device backs";
    }

    internal static ulong CodeIpMask(int bitness) => bitness switch
    {
        64 => ulong.MaxValue,
        32 => 0xFFFF_FFFF,
        _ => 0xFFFF,
    };
}
