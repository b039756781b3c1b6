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

    /// <summary>Set by HLT: the run ends with <see cref="StopKind.Halted"/>.</summary>
    internal bool Halted;

    volatile bool _stopRequested;

    public Cpu(Bus bus, CpuVendor vendor)
    {
        Bus = bus;
        Vendor = vendor;
        bus.CodeWritten = InvalidateCodePage;
    }

    /// <summary>Asks a run on another thread to stop; it does so within one block (at most <see cref="MaxBlockLength"/> instructions).</summary>
    public void RequestStop() => _stopRequested = true;

    /// <summary>Executes exactly <paramref name="count"/> instructions unless something stops it first.</summary>
    public StopReason Step(ulong count = 1)
    {
        var stop = Run(count);
        return stop.Kind == StopKind.InstructionBudget ? stop with { Kind = StopKind.StepDone } : stop;
    }

    /// <summary>
    /// Runs until a stop reason arises, at most <paramref name="budget"/> instructions. A breakpoint at the
    /// starting RIP does not stop the first instruction, so a run can resume from a breakpoint.
    /// </summary>
    public StopReason Run(ulong budget = ulong.MaxValue)
    {
        _stopRequested = false;
        ResumingInstruction = true; // a run may resume from the breakpoint it stopped at
        SyncTranslation();
        try
        {
            while (true)
            {
                if (_stopRequested)
                    return new StopReason(StopKind.Interrupted, State.Rip);
                Block block = FetchBlock();
                ulong ipMask = block.IpMask;
                for (int i = 0; i < block.Ops.Length; i++)
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
                        if (Halted)
                        {
                            Halted = false;
                            return new StopReason(StopKind.Halted, State.Rip);
                        }
                        break;
                    }
                }
            }
        }
        catch (CpuFault fault)
        {
            // Delivery through the IDT belongs to the system architecture; until then a fault stops the run
            // with the faulting instruction's RIP, its state untouched, and a trap with the next instruction's.
            EndBlock = false;
            if (fault.IsTrap)
            {
                // The trapping instruction has completed: it retires and RIP moves past it.
                State.Rip = NextRip;
                State.InstructionsRetired++;
            }
            if (fault.PageFaultAddress is { } cr2)
                State.Cr2 = cr2;
            return new StopReason(StopKind.Fault, State.Rip, fault.Vector, fault.ErrorCode, FaultDetail());
        }
        catch (Exception bug) when (bug is not OutOfMemoryException)
        {
            // Whatever the guest did, the host must survive it: a failure of the emulator ends the run with a
            // stop that names it, and the machine stays inspectable.
            EndBlock = false;
            return new StopReason(StopKind.InternalError, State.Rip, Detail: $"{bug.GetType().Name} in {bug.TargetSite?.Name}: {bug.Message}");
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
