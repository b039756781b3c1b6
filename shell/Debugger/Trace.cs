using Repl.Machine.Asm;

namespace Repl.Shell.Debugging;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>One traced instruction: where it was, its text, and the registers and MSRs it changed ("rax=0x5 rsp=0x8fff8",
/// "gsbase=0xffffffff80103100 kernel_gs_base=0x0").</summary>
public readonly record struct TraceEntry(ulong InstructionNumber, string Instruction, string Changes);

/// <summary>The recent-instruction ring: while on, runs go one instruction at a time and each is recorded with the
/// registers it changed; while off, runs go at full speed and nothing is recorded.</summary>
public sealed class TraceRing
{
    public const int DefaultCapacity = 1000;

    readonly Queue<TraceEntry> _entries = new();

    public bool Enabled { get; set; }

    public int Capacity { get; init; } = DefaultCapacity;

    public void Add(TraceEntry entry)
    {
        if (_entries.Count == Capacity)
            _entries.Dequeue();
        _entries.Enqueue(entry);
    }

    /// <summary>The last <paramref name="count"/> entries, oldest first.</summary>
    public IReadOnlyList<TraceEntry> Last(int count) => _entries.Skip(Math.Max(0, _entries.Count - count)).ToList();
}

public sealed partial class Debugger
{
    readonly TraceRing _trace = new();

    public TraceRing Trace => _trace;

    /// <summary>The registers a trace compares before and after each instruction.</summary>
    static readonly Register[] Traced =
    [
        Register.Rax, Register.Rcx, Register.Rdx, Register.Rbx, Register.Rsp, Register.Rbp, Register.Rsi, Register.Rdi,
        Register.R8, Register.R9, Register.R10, Register.R11, Register.R12, Register.R13, Register.R14, Register.R15,
        Register.Rflags, Register.Cs, Register.Ss, Register.Ds, Register.Es, Register.Fs, Register.Gs, Register.FsBase, Register.GsBase,
        Register.Cr0, Register.Cr2, Register.Cr3, Register.Cr4,
    ];

    /// <summary>A run of at most <paramref name="budget"/> instructions, one step at a time, recording each.</summary>
    StopReason TracedRun(ulong budget)
    {
        // MSRs are not in the comparison (reading them all each step would cost): the machine's events say which ones an
        // instruction wrote. SWAPGS's exchange shows as gsbase (compared) and kernel_gs_base (from its event).
        var msrs = new List<string>();
        Action<MsrWritten> wrmsr = e =>
        {
            if (e.Old != e.New && e.Msr is not (Msr.FsBase or Msr.GsBase)) // those two are compared as registers
                msrs.Add($"{TraceName(e.Msr)}=0x{e.New:x}");
        };
        Action<SwapgsExecuted> swapgs = e =>
        {
            if (e.GsBase != e.KernelGsBase) // the values after the exchange: equal ones exchanged changed nothing
                msrs.Add($"{TraceName(Msr.KernelGsBase)}=0x{e.KernelGsBase:x}");
        };
        var events = Machine.Events;
        events.MsrWritten += wrmsr;
        events.Swapgs += swapgs;
        try
        {
            return TracedSteps(budget, msrs);
        }
        finally
        {
            events.MsrWritten -= wrmsr;
            events.Swapgs -= swapgs;
        }
    }

    /// <summary>"kernel_gs_base" for IA32_KERNEL_GS_BASE: the manual's name as the trace writes registers.</summary>
    static string TraceName(Msr msr) => ModelSpecificRegisters.Info(msr).Name.Replace("IA32_", "", StringComparison.Ordinal).ToLowerInvariant();

    /// <summary>The run itself: <paramref name="msrs"/> collects, during each step, the MSR changes the events report.</summary>
    StopReason TracedSteps(ulong budget, List<string> msrs)
    {
        Span<ulong> before = stackalloc ulong[Traced.Length];
        for (ulong done = 0; ; done++)
        {
            ulong rip = Machine.State.Rip, number = Machine.State.InstructionsRetired;
            // In the machine's order: a spent budget first, so a single step onto a breakpoint is a step, as untraced.
            if (done == budget)
                return new StopReason(StopKind.InstructionBudget, rip);
            if (done != 0 && Machine.Cpu.Breakpoints.Contains(rip))
                return new StopReason(StopKind.Breakpoint, rip);
            string text = Disassembler.Disassemble(Machine, rip, 1, symbols: Symbols)[0].ToString();
            for (int i = 0; i < Traced.Length; i++)
                before[i] = Machine.ReadRegister(Traced[i]);
            msrs.Clear();
            var stop = Machine.Step(1);
            var changes = new List<string>();
            for (int i = 0; i < Traced.Length; i++)
                if (Machine.ReadRegister(Traced[i]) is var now && now != before[i])
                    changes.Add($"{RegisterNames.NameOf(Traced[i])}=0x{now:x}");
            changes.AddRange(msrs);
            _trace.Add(new TraceEntry(number, text, string.Join(' ', changes)));
            if (stop.Kind != StopKind.StepDone)
                return stop;
        }
    }
}
