using System.Globalization;
using System.Runtime.CompilerServices;

namespace Repl.Shell.Scripting;

using Repl.Machine;
using Repl.Machine.Asm;
using Repl.Shell.Debugging;

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
/// debugger's commands as methods (<c>Step()</c>, <c>Continue()</c>, <c>Break("entry_SYSCALL_64")</c>...). The views
/// follow the debugger's machine: after <c>Reset()</c> or <c>Load()</c> they show the new one, whose event hooks start empty.
/// </summary>
public class ScriptGlobals
{
    readonly List<ExpectFailure> _failures = [];
    readonly IReadOnlyDictionary<string, long> _defines;

    public ScriptGlobals(Debugger debugger, IReadOnlyList<string>? args = null, TextWriter? output = null)
    {
        Debugger = debugger;
        _defines = debugger.Options.Defines;
        Args = args ?? [];
        Out = output ?? TextWriter.Null;
        Sym = new SymbolView(() => debugger.Program.Addresses);
        Attach(debugger.Machine);
        debugger.MachineChanged += machine =>
        {
            On.Clear();
            Attach(machine);
        };
    }

    void Attach(Machine machine)
    {
        Cpu = new CpuView(machine);
        Msr = new MsrView(machine);
        Mem = new MemoryView(machine);
        On = new EventHooks(Debugger);
        Inject = new Injector(machine);
    }

    /// <summary>The debugger the shell's commands drive; its machine is <see cref="Machine"/>.</summary>
    public Debugger Debugger { get; }
    public Machine Machine => Debugger.Machine;
    public CpuView Cpu { get; private set; } = null!;
    public MsrView Msr { get; private set; } = null!;
    public MemoryView Mem { get; private set; } = null!;
    public SymbolView Sym { get; }
    public EventHooks On { get; private set; } = null!;
    public Injector Inject { get; private set; } = null!;

    /// <summary>The arguments after <c>--</c> on the <c>repl run</c> command line.</summary>
    public IReadOnlyList<string> Args { get; }

    /// <summary>Where <see cref="Print"/> and <see cref="Command"/> write: the shell's console, or a batch script's log.</summary>
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

    /// <summary>Writes a value as the shell shows results: integers in hex, byte arrays as dumps, records as tables; a
    /// string as it is, since printing text is what Print of a string is for.</summary>
    public void Print(object? value) => Out.WriteLine(value as string ?? ValueFormatter.Format(value));

    /// <summary>Runs a shell command line ("info gdt", "x/4gx $rsp") and writes what it prints to <see cref="Out"/>;
    /// false when the command failed.</summary>
    public bool Command(string commandLine) => Debugger.Execute(commandLine, Out);

    // ---- run control: the debugger's; the hooks of On run on the way, as they do under the shell's commands ----

    /// <summary>Runs until something stops the machine: a breakpoint, watchpoint or catchpoint, a fault it cannot deliver,
    /// HLT, debug exit. Instruction hooks (<c>On.Instruction</c>) run on the way without stopping; with
    /// <paramref name="count"/> N, N-1 breakpoint stops are passed first, as gdb's continue N.</summary>
    public StopReason Continue(int count = 1) => Run(() => Debugger.Continue(count));

    /// <summary>Executes <paramref name="count"/> instructions (gdb's stepi).</summary>
    public StopReason StepInstruction(int count = 1) => Run(() => Debugger.StepInstruction(count));

    /// <summary>Steps to the next source line, into calls (one instruction where there is no line table).</summary>
    public StopReason Step(int count = 1) => Run(() => Debugger.Step(count));

    /// <summary>Steps to the next source line, over calls.</summary>
    public StopReason Next(int count = 1) => Run(() => Debugger.Next(count));

    /// <summary>Runs until the current function returns.</summary>
    public StopReason Finish() => Run(Debugger.Finish);

    /// <summary>Runs until RIP reaches <paramref name="location"/>.</summary>
    public StopReason Until(string location) => Run(() => Debugger.Until(location));

    /// <summary>A breakpoint at an address, a symbol, symbol+offset or file.S:line, with an optional C# condition.</summary>
    public Breakpoint Break(string location, string? condition = null) => Debugger.Break(location, condition);

    public Breakpoint Break(ulong address, string? condition = null) => Debugger.Break($"0x{address:x}", condition);

    /// <summary>A breakpoint deleted when it first stops the machine (gdb's tbreak).</summary>
    public Breakpoint TBreak(string location) => Debugger.Break(location, temporary: true);

    /// <summary>A watchpoint on [<paramref name="address"/>, +<paramref name="length"/>).</summary>
    public Breakpoint Watch(ulong address, ulong length = 8, WatchKind kind = WatchKind.Write) => Debugger.Watch(address, length, kind);

    /// <summary>A catchpoint: stop on an exception (optionally one vector), a syscall (one number), a CR3 or MSR write, a mode switch.</summary>
    public Breakpoint Catch(CatchKind kind, ulong? filter = null) => Debugger.Catch(kind, filter);

    public void Delete(int id) => Debugger.Delete(id);

    public void Enable(int id) => Debugger.Enable(id);

    public void Disable(int id) => Debugger.Enable(id, enabled: false);

    /// <summary>A fresh machine with the same image, stopped at its first instruction; the views follow it.</summary>
    public void Reset() => Debugger.Reset();

    /// <summary>Replaces the machine with one holding <paramref name="image"/>; the views follow it.</summary>
    public void Load(string image) => Debugger.Load(image);

    /// <summary>A fresh machine booting the entry kernel, stopped at its first instruction, with the switches given as on
    /// the command line ("SYSRET_CHECK=0", "KPTI=0") over those of <c>--define</c> (not over an earlier Boot's); the views
    /// follow it.</summary>
    public void Boot(params string[] defines) => Boot(Debugger.Options.Vendor, defines);

    /// <summary><see cref="Boot(string[])"/> on the <paramref name="vendor"/>'s profile (CVE-2012-0217 needs Intel's).</summary>
    public void Boot(CpuVendor vendor, params string[] defines)
    {
        var switches = new Dictionary<string, long>(_defines);
        foreach (string define in defines)
        {
            var (name, value) = Shell.Asm.ParseDefine(define) ?? throw new ArgumentException($"Boot(\"{define}\"): {Shell.Asm.DefineHint}");
            switches[name] = value;
        }
        Debugger.Load(Debugger.Options with { Vendor = vendor, Image = null, WithoutImage = WithoutImage.EntryKernel, Defines = switches });
    }

    /// <summary>Replaces the machine with the bare one: 64-bit mode at CPL 0, the low 512 GiB identity-mapped, no
    /// descriptor tables, the small built-in program at 0x100000. For scripts that write their own kernel.</summary>
    public void BareMachine() =>
        Debugger.Load(Debugger.Options with { Image = null, WithoutImage = WithoutImage.BuiltInProgram });

    /// <summary>Assembles <paramref name="source"/> (AT&amp;T syntax, or Intel after <c>.intel_syntax noprefix</c>) at
    /// <paramref name="origin"/>, writes it into linear memory there and adds its symbols to the debugger's program:
    /// <see cref="Sym"/>, breakpoints, disassembly, the prompt and completion know them.</summary>
    public AssemblyResult Assemble(string source, ulong origin = 0x10_0000)
    {
        var result = Assembler.Assemble(source, new AsmOptions { FileName = "<script>", Origin = origin });
        if (result.Diagnostics.FirstOrDefault(d => d.Severity == DiagnosticSeverity.Error) is { } error)
            throw new InvalidOperationException($"assembly failed at line {error.Location.Line} of the source: {error.Message}");
        foreach (var section in result.Sections.Where(s => !s.NoBits && s.Bytes.Length != 0))
            Mem.Write(section.Address, section.Bytes);
        Debugger.AddSymbols(result);
        return result;
    }

    /// <summary>A run from C#: a hook that failed is rethrown as what it threw, so that the submission reports it with
    /// the handler's own line.</summary>
    static StopReason Run(Func<StopReason> run)
    {
        try
        {
            return run();
        }
        catch (HookException e)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException!);
            throw;
        }
    }
}
