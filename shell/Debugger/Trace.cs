using Repl.Machine.Asm;

namespace Repl.Shell.Debugging;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>One traced instruction: where it was, its text, and the registers it changed ("rax=0x5 rsp=0x8fff8").</summary>
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
            var stop = Machine.Step(1);
            var changes = new List<string>();
            for (int i = 0; i < Traced.Length; i++)
                if (Machine.ReadRegister(Traced[i]) is var now && now != before[i])
                    changes.Add($"{RegisterNames.NameOf(Traced[i])}=0x{now:x}");
            _trace.Add(new TraceEntry(number, text, string.Join(' ', changes)));
            if (stop.Kind != StopKind.StepDone)
                return stop;
        }
    }
}
