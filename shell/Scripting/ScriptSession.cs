using System.Collections.Concurrent;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Repl.Shell.Debugging;

namespace Repl.Shell.Scripting;

/// <summary>What one evaluation gave: a value (when the input was an expression with one), or the error lines; and
/// the <c>Expect</c>s that failed while it ran.</summary>
public sealed record Evaluation(bool Success, bool HasValue, object? Value, IReadOnlyList<string> Errors)
{
    public IReadOnlyList<ExpectFailure> FailedExpects { get; init; } = [];

    /// <summary>What the shell prints: failed Expects, then the formatted value or the errors (nothing for a statement).</summary>
    public string Display => string.Join("\n", FailedExpects.Select(f => f.ToString())
        .Concat(!Success ? Errors : HasValue ? [ValueFormatter.Format(Value)] : []));
}

/// <summary>
/// The shell's C# session: one persistent state in which each input continues the last, so variables, functions and
/// usings survive. A compile error leaves the state as it was; a runtime exception keeps what ran before it. Nothing
/// a user types ends the session. It becomes its debugger's C#: the evaluator of breakpoint conditions and the runner
/// of <c>source FILE.csx</c>. Every <c>chainLength</c> submissions it starts Roslyn's chain of submissions anew,
/// carrying over what the old chain defined, so that a long session's memory stays bounded (<see cref="CarryOver"/>).
/// </summary>
public sealed class ScriptSession
{
    readonly ConcurrentDictionary<string, Func<bool>> _conditions = new();
    readonly ScriptInterruption _interruption = new();
    readonly CarryOver _carryOver = new();
    readonly int _chainLength;
    SubmissionChain _chain = new(ReferencedAssemblies.ForSession());
    int _submissions;
    // Evaluations under way: C# may evaluate C# (Command("p 1 + 1"), source), within the machine's re-entrant turn.
    int _depth;

    /// <param name="chainLength">Submissions after which the session tries to start a new chain (see <see cref="CarryOver"/>).</param>
    public ScriptSession(ScriptGlobals globals, int chainLength = 100)
    {
        Globals = globals;
        _chainLength = chainLength;
        globals.Debugger.ConditionEvaluator = EvaluateCondition;
        globals.Debugger.ConditionCompiler = CompileConditionOnce;
        globals.Debugger.ExpressionEvaluator = ValueOf;
        globals.Debugger.ScriptRunner = (path, output) => RunFile(path, output);
    }

    public ScriptGlobals Globals { get; }

    /// <summary>False while <paramref name="code"/> is an unfinished statement (an open brace, a missing semicolon in
    /// a declaration...): the shell then reads another line.</summary>
    public static bool IsComplete(string code) =>
        SyntaxFactory.IsCompleteSubmission(SyntaxFactory.ParseSyntaxTree(code, CSharpParseOptions.Default.WithKind(SourceCodeKind.Script)));

    /// <summary>Evaluates <c>0</c> as the session's first submission, on a pool thread, so that loading and JIT-compiling
    /// Roslyn, binding the references, and compiling, emitting and running an expression with a value happen while
    /// the shell starts; the first line typed continues that warm compilation (about 50 methods left to JIT-compile
    /// instead of 3,500). It defines nothing, and no one sees its value. Start it before anything else evaluates.</summary>
    public Task WarmUpAsync() => Task.Run(() => EvaluateNow("0"));

    /// <summary>Evaluates C# typed at the prompt, or the text of <paramref name="filePath"/> (whose directory #load and
    /// #r start from, and whose name the errors carry), in the machine's turn (<see cref="Debugger.Exclusively"/>): while
    /// gdb is attached, it waits for gdb's run to end, and the hooks that run in gdb's runs wait for it, so that two
    /// threads never run the session's C# at once.</summary>
    public Evaluation Evaluate(string code, string? filePath = null) => Globals.Debugger.Exclusively(() => EvaluateNow(code, filePath));

    /// <summary>The warm-up evaluates outside the turn: it touches no machine, and a command typed meanwhile need not wait.</summary>
    Evaluation EvaluateNow(string code, string? filePath = null)
    {
        // One evaluated from inside another runs as a condition does, after the chain's last submission, and the chain
        // does not go on from it: the outer one, still running, has not yet taken its own place in the chain.
        if (_depth > 0)
            return Run(code, filePath, keep: false).Result;
        _depth++;
        try
        {
            return EvaluateOutermost(code, filePath);
        }
        finally
        {
            _depth--;
        }
    }

    Evaluation EvaluateOutermost(string code, string? filePath)
    {
        _interruption.Begin();
        if (_submissions >= _chainLength)
        {
            // Tried again a chain later when it cannot be done now.
            _submissions = 0;
            if (_carryOver.Restart(_chain, Globals) is { } fresh)
            {
                _chain = fresh;
                _conditions.Clear();  // compiled in the old chain, they would hold it
                // Nothing refers to the old chain now, but only a full collection frees its code, and a session that
                // allocates little may not see one for thousands of inputs.
                GC.Collect();
            }
        }
        int failuresBefore = Globals.Failures.Count;
        var (result, ran) = Run(code, filePath);
        result = result with { FailedExpects = [.. Globals.Failures.Skip(failuresBefore)] };
        if (ran is not null)
        {
            _carryOver.Record(ran);
            _submissions++;
            // Conditions compiled before saw the variables as they were declared then; this submission may redeclare them.
            _conditions.Clear();
        }
        return result;
    }

    /// <summary>Compiles and runs <paramref name="code"/> after the chain's last submission; when it ran, its compilation
    /// as typed (before its variables were boxed). When <paramref name="keep"/> is false (a breakpoint condition), the
    /// chain does not go on from it.</summary>
    (Evaluation Result, Compilation? Ran) Run(string code, string? filePath = null, bool keep = true)
    {
        var options = ScriptOptionsFactory.For(filePath);
        // What runs has its loops (and those of the files it #loads) polled for Ctrl-C; errors are shown for the code as
        // typed, whose columns the polls shift. Typed code without loops is compiled once: the prompt seldom #loads.
        string runnable = ScriptInterruption.Instrument(code);
        var script = _chain.Continue(runnable, options);
        var compilation = script.GetCompilation();
        if (Errors(compilation) is { Length: > 0 } errors)
            return (new(false, false, null, [.. ScriptErrors.Compile(ReferenceEquals(runnable, code) ? errors : Errors(_chain.Continue(code, ScriptOptionsFactory.For(filePath, polled: false)).GetCompilation()))]), null);
        bool hasValue = HasValue(compilation);
        // Variables go into boxes that a new chain can take over; should the boxed text not compile, they stay fields.
        if (keep && CarryOver.Boxed(compilation) is { } boxed && _chain.Continue(boxed, options) is var boxedScript &&
            Errors(boxedScript.GetCompilation()).Length == 0)
            script = boxedScript;

        var outcome = _chain.Run(script, Globals, keep);
        if (!outcome.Ran)
            return (new(false, false, null, outcome.EmitErrors), null);
        return outcome.Exception is { } e
            ? (new(false, false, null, [ScriptErrors.Runtime(e)]), compilation)
            : (new(true, hasValue, outcome.Value, []), compilation);
    }

    static Diagnostic[] Errors(Compilation compilation) =>
        [.. compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error)];

    /// <summary>An input has a value to show when it ends in an expression without a semicolon that is not void, as in
    /// the C# interactive window: <c>Cpu.Rax</c> shows, <c>Cpu.Rax = 1;</c> and <c>Console.WriteLine()</c> do not.</summary>
    static bool HasValue(Compilation compilation)
    {
        var tree = compilation.SyntaxTrees.Last();
        if (tree.GetCompilationUnitRoot().Members.LastOrDefault() is not GlobalStatementSyntax
            { Statement: ExpressionStatementSyntax { SemicolonToken.IsMissing: true } statement })
            return false;
        var type = compilation.GetSemanticModel(tree).GetTypeInfo(statement.Expression).Type;
        return type is not null && type.SpecialType != SpecialType.System_Void;
    }

    /// <summary>Ctrl-C: the running evaluation stops at its next loop pass, and a machine run under it stops too.</summary>
    public void Interrupt()
    {
        _interruption.Request();
        Globals.Debugger.Interrupt();
    }

    /// <summary>The value of C# for the shell's <c>print</c>: evaluated as if typed at the prompt (what it assigns stays).</summary>
    public object? ValueOf(string code)
    {
        var result = Evaluate(code);
        if (!result.Success)
            throw new CommandException(string.Join("; ", result.Errors));
        return result.HasValue ? result.Value : throw new CommandException($"'{code}' has no value to print (give an expression, as in: p Cpu.Rax + 1)");
    }

    /// <summary>The shell's <c>source FILE.csx</c>: runs a script file in this session, so what it defines stays.</summary>
    public bool RunFile(string path, TextWriter output)
    {
        string code;
        try
        {
            code = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            output.WriteLine($"cannot read {path}: {e.Message}");
            return false;
        }
        return Show(Evaluate(code, path), output);
    }

    /// <summary>Evaluates and writes what the shell shows: the value to <paramref name="output"/>, errors and failed
    /// Expects to <paramref name="error"/> (the shell's stderr when piped, as gdb's); true when it succeeded.</summary>
    public bool Execute(string code, TextWriter output, TextWriter error)
    {
        var result = Evaluate(code);
        foreach (string line in result.FailedExpects.Select(f => f.ToString()).Concat(result.Success ? [] : result.Errors))
            error.WriteLine(line);
        if (result is { Success: true, HasValue: true })
            output.WriteLine(ValueFormatter.Format(result.Value));
        return result.Success;
    }

    static bool Show(Evaluation result, TextWriter output)
    {
        if (result.Display.Length != 0)
            output.WriteLine(result.Display);
        return result.Success;
    }

    /// <summary>
    /// Evaluates a breakpoint condition (<c>break entry_SYSCALL_64 if Cpu.Rax == 60</c>) in this session: it sees the
    /// globals and every variable defined so far. Each condition compiles once, into a delegate over the session's
    /// state at that time, so evaluating it at every hit costs a call. A condition that does not compile or throws
    /// raises <see cref="ScriptConditionException"/> with the one-line error (the caller names the condition).
    /// </summary>
    public bool EvaluateCondition(string condition)
    {
        var test = _conditions.GetOrAdd(condition, CompileCondition);
        try
        {
            return test();
        }
        catch (Exception e)
        {
            throw new ScriptConditionException(ScriptErrors.Runtime(e), e);
        }
    }

    /// <summary>Compiles a condition when its breakpoint is set, so that a mistake is refused there and then rather than
    /// found at the first hit; raises <see cref="ScriptConditionException"/> with the first error.</summary>
    public void CompileConditionOnce(string condition) => _conditions.GetOrAdd(condition, CompileCondition);

    Func<bool> CompileCondition(string condition)
    {
        // Parsed alone first: inside the lambda below, an unfinished condition (Cpu.Rax ==) would be reported against
        // the parenthesis that closes it, which the user never typed.
        var parsed = SyntaxFactory.ParseExpression(condition, consumeFullText: false);
        int end = parsed.FullSpan.End;
        if ((ScriptErrors.Compile(parsed.GetDiagnostics()).FirstOrDefault()
             ?? (end < condition.Length ? $"1:{end + 1}: '{condition[end..]}' follows a complete expression" : null)) is { } syntaxError)
            throw new ScriptConditionException(syntaxError, null);
        // A lambda evaluated now, after the chain's last submission, closes over the submissions' variables without
        // defining anything new in the session; the chain does not go on from it.
        // #line puts the condition's own text at line 1, so an error's column counts from its first character.
        var (result, _) = Run($"(System.Func<bool>)(() => (\n#line 1\n{condition}\n))", keep: false);
        // The first error is the condition's; those after it are the wrapping lambda's (CS1662), which the user never typed.
        if (result is not { Success: true, Value: Func<bool> test })
            throw new ScriptConditionException(result.Errors[0], null);
        return test;
    }
}

/// <summary>A breakpoint condition that does not compile, or that threw: the message is the line to show.</summary>
public sealed class ScriptConditionException(string message, Exception? inner) : Exception(message, inner);
