using System.Globalization;
using System.Runtime.CompilerServices;

namespace Repl.Shell.Scripting;

using Repl.Machine;
using Repl.Machine.Asm;

/// <summary>A failed <c>Expect</c>: the condition as written, the script's message, and where it is.</summary>
public sealed record ExpectFailure(string Condition, string Message, string File, int Line)
{
    public override string ToString() =>
        $"{Where}: Expect({Condition}) failed{(Message.Length == 0 ? "" : ": " + Message)}";

    public string Where => File.Length == 0 ? $"line {Line}" : $"{Path.GetFileName(File)}:{Line}";
}

/// <summary>
/// What C# in the shell and in <c>.csx</c> scenarios sees as globals: the machine and its views (<c>Cpu</c>, <c>Msr</c>,
/// <c>Mem</c>, <c>Sym</c>), event hooks (<c>On</c>), <c>Inject</c>, <c>Expect</c>, the script's <c>Args</c>, and the
/// run-control commands as methods.
/// </summary>
public class ScriptGlobals
{
    readonly List<ExpectFailure> _failures = [];

    public ScriptGlobals(Machine machine, IReadOnlyList<string>? args = null, TextWriter? output = null)
    {
        Machine = machine;
        Cpu = new CpuView(machine);
        Msr = new MsrView(machine);
        Mem = new MemoryView(machine);
        On = new EventHooks(machine);
        Inject = new Injector(machine);
        Args = args ?? [];
        Out = output ?? TextWriter.Null;
    }

    public Machine Machine { get; }
    public CpuView Cpu { get; }
    public MsrView Msr { get; }
    public MemoryView Mem { get; }
    public SymbolView Sym { get; } = new();
    public EventHooks On { get; }
    public Injector Inject { get; }

    /// <summary>The arguments after <c>--</c> on the <c>repl run</c> command line.</summary>
    public IReadOnlyList<string> Args { get; }

    /// <summary>Where <see cref="Print"/> writes: the shell's console, or a batch script's log.</summary>
    public TextWriter Out { get; }

    public IReadOnlyList<ExpectFailure> Failures => _failures;

    /// <summary>Checks a scenario's claim: a false <paramref name="condition"/> is recorded, with the condition's text and
    /// the line of the call (a batch run fails the script; the shell shows it). Returns the condition.</summary>
    public bool Expect(bool condition, string message = "",
                       [CallerArgumentExpression(nameof(condition))] string conditionText = "",
                       [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        if (!condition)
            _failures.Add(new ExpectFailure(conditionText, message, file, line));
        return condition;
    }

    /// <summary>Writes a value as the shell shows results: integers in hex, byte arrays as dumps, records as tables.</summary>
    public void Print(object? value) => Out.WriteLine(ValueFormatter.Format(value));

    /// <summary>Executes <paramref name="count"/> instructions (fewer if something stops the machine first).</summary>
    public StopReason Step(ulong count = 1) => AfterRun(Machine.Step(count));

    /// <summary>Runs until a breakpoint, a fault the machine cannot deliver, HLT, debug exit, or the budget. Instruction
    /// hooks (<c>On.Instruction</c>) run on the way without stopping.</summary>
    public StopReason Continue(ulong maxInstructions = ulong.MaxValue)
    {
        ulong start = Machine.State.InstructionsRetired;
        while (true)
        {
            ulong spent = Machine.State.InstructionsRetired - start;
            var stop = AfterRun(Machine.Run(maxInstructions - Math.Min(spent, maxInstructions)));
            if (!On.RunInstructionHooks(stop))
                return stop;
        }
    }

    /// <summary>Sets a breakpoint at an address, a symbol or symbol+offset ("entry_SYSCALL_64+0x10"); returns its address.</summary>
    public ulong Break(string location)
    {
        ulong address = Resolve(location);
        Machine.Cpu.Breakpoints.Add(address);
        return address;
    }

    /// <summary>Assembles <paramref name="source"/> (AT&amp;T syntax, or Intel after <c>.intel_syntax noprefix</c>) at
    /// <paramref name="origin"/>, writes it into linear memory there and adds its symbols to <see cref="Sym"/>.</summary>
    public AssemblyResult Assemble(string source, ulong origin = 0x10_0000)
    {
        var result = Assembler.Assemble(source, new AsmOptions { FileName = "<script>", Origin = origin });
        if (result.Diagnostics.FirstOrDefault(d => d.Severity == DiagnosticSeverity.Error) is { } error)
            throw new InvalidOperationException($"assembly failed at line {error.Location.Line} of the source: {error.Message}");
        foreach (var section in result.Sections.Where(s => !s.NoBits && s.Bytes.Length != 0))
            Mem.Write(section.Address, section.Bytes);
        foreach (var symbol in result.Symbols)
            Sym.Add(symbol.Name, symbol.Value);
        return result;
    }

    StopReason AfterRun(StopReason stop)
    {
        On.ThrowIfHandlerFailed();
        return stop;
    }

    ulong Resolve(string location)
    {
        location = location.Trim();
        int plus = location.IndexOf('+');
        string name = plus < 0 ? location : location[..plus].Trim();
        ulong offset = plus < 0 ? 0 : ParseNumber(location[(plus + 1)..].Trim());
        return (Sym.Contains(name) ? Sym[name] : ParseNumber(name)) + offset;
    }

    ulong ParseNumber(string text)
    {
        bool hex = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase);
        return ulong.TryParse(hex ? text[2..] : text, hex ? NumberStyles.HexNumber : NumberStyles.None, CultureInfo.InvariantCulture, out ulong value)
            ? value
            : Sym[text]; // neither a number nor a known symbol: the symbol lookup's error says so, with a hint
    }
}
