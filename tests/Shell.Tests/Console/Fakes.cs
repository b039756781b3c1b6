using Repl.Shell.Interactive;

namespace Repl.Shell.Tests.Interactive;

/// <summary>A debugger that records what it was asked; "quit" ends the session, "crash" throws as a defect would.</summary>
sealed class FakeCommands : ICommandRunner
{
    public List<string> Executed { get; } = [];
    public int Interrupts { get; set; }
    public Action? DuringExecute { get; set; }

    public IReadOnlyCollection<string> Names { get; } = ["step", "continue", "help", "quit", "crash", "x"];
    public string Prompt => $"long64 cpl0 demo+0x{Executed.Count:x}";
    public List<(string Line, string Word)> Completed { get; } = [];

    /// <summary>Records what it was asked and offers one answer, so that tests see what the completer hands over.</summary>
    public IEnumerable<string> Arguments(string commandLine, string word)
    {
        Completed.Add((commandLine, word));
        return [word + "_argument"];
    }

    public bool Execute(string commandLine, TextWriter output, TextWriter error)
    {
        Executed.Add(commandLine);
        DuringExecute?.Invoke();
        if (commandLine == "crash")
            throw new InvalidOperationException("the engine broke");
        output.WriteLine($"ran {commandLine}");
        return commandLine != "quit";
    }

    /// <summary>As the debugger's: stepping repeats itself, x repeats bare, anything else nothing.</summary>
    public string? Repeated(string commandLine) =>
        commandLine.StartsWith("step", StringComparison.Ordinal) ? commandLine : commandLine.StartsWith('x') ? "x" : null;

    public void Interrupt() => Interrupts++;

    public int CancelledInterrupts { get; set; }

    public void CancelInterrupt() => CancelledInterrupts++;
}

/// <summary>A C# session where a submission is complete when its braces balance.</summary>
sealed class FakeCode : ICodeRunner
{
    public List<string> Evaluated { get; } = [];

    public int Interrupts { get; set; }

    public bool IsComplete(string code) => code.Count(c => c == '{') <= code.Count(c => c == '}');

    public void Interrupt() => Interrupts++;

    public void Evaluate(string code, TextWriter output, TextWriter error)
    {
        Evaluated.Add(code);
        output.WriteLine($"evaluated {code.Replace('\n', '|')}");
    }

    public Type GlobalsType => typeof(FakeGlobals);
}

public sealed class FakeSegment
{
    public ulong Base { get; set; }
    public uint Limit { get; set; }
}

public sealed class FakeCpu
{
    public ulong Rax { get; set; }
    public ulong Rip { get; set; }
    public FakeSegment Cs { get; } = new();
}

public sealed class FakeHooks
{
#pragma warning disable CS0067 // declared for completion to find, never raised
    public event Action<ulong>? Syscall;
    public event Action<ulong>? Cr3Write;
#pragma warning restore CS0067
}

public sealed class FakeGlobals
{
    public FakeCpu Cpu { get; } = new();
    public FakeHooks On { get; } = new();
    public void Step(int count = 1) { }
    public bool Expect(bool condition, string message) => condition;
}

/// <summary>Lines as a script gives them; null stands for Ctrl-C at the prompt.</summary>
sealed class ScriptedReader(params string?[] lines) : ILineReader
{
    readonly Queue<string?> queue = new(lines);
    public List<string?> Prompts { get; } = [];

    public LineRead Read(string? prompt)
    {
        Prompts.Add(prompt);
        if (queue.Count == 0)
            return new(ReadOutcome.End);
        return queue.Dequeue() is { } line ? new(ReadOutcome.Line, line) : new(ReadOutcome.Cleared);
    }
}
