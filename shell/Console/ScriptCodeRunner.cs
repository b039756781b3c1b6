using Repl.Shell.Scripting;

namespace Repl.Shell.Interactive;

/// <summary>
/// The loop's C# side over the Roslyn session. The session warms up on a pool thread as soon as it exists (its first,
/// empty, submission loads and compiles Roslyn) while the prompt is already up, CSharpRepl's way, so that the first
/// line typed finds the compiler ready. A submission waits for the warm-up, and so do the commands that use the session
/// (<c>source FILE.csx</c>, <c>print</c>, breakpoint conditions): a session takes one submission at a time.
/// </summary>
public sealed class ScriptCodeRunner : ICodeRunner
{
    readonly Task<ScriptSession> warm;

    /// <param name="starting">The session, being made on a pool thread while the terminal opens.</param>
    public ScriptCodeRunner(Task<ScriptSession> starting)
    {
        Started = Attach(starting);
        warm = WarmUp(Started);
    }

    /// <summary>The session, with the commands' uses of it routed through the warm-up: the debugger's commands may run once this is done.</summary>
    public Task<ScriptSession> Started { get; }

    public Type GlobalsType => Started.GetAwaiter().GetResult().Globals.GetType();

    public bool IsComplete(string code) => ScriptSession.IsComplete(code);

    /// <summary>Nothing of the user's runs before the session exists, so there is nothing to stop until then.</summary>
    public void Interrupt()
    {
        if (Started.IsCompletedSuccessfully)
            Started.Result.Interrupt();
    }

    public void Evaluate(string code, TextWriter output, TextWriter error)
    {
        Warm().Execute(code, output, error);
        StartupTrace.Mark("C# evaluated");
    }

    ScriptSession Warm() => warm.GetAwaiter().GetResult();

    async Task<ScriptSession> Attach(Task<ScriptSession> starting)
    {
        var session = await starting.ConfigureAwait(false);
        StartupTrace.Mark("machine built");
        // Every way a command reaches the session waits for the warm-up, which is a submission too: source, print, and
        // breakpoint conditions, compiled when they are set and evaluated at each hit.
        var debugger = session.Globals.Debugger;
        debugger.ScriptRunner = (path, output) => Warm().RunFile(path, output);
        debugger.ExpressionEvaluator = code => Warm().ValueOf(code);
        debugger.ConditionCompiler = condition => Warm().CompileConditionOnce(condition);
        debugger.ConditionEvaluator = condition => Warm().EvaluateCondition(condition);
        return session;
    }

    static async Task<ScriptSession> WarmUp(Task<ScriptSession> started)
    {
        var session = await started.ConfigureAwait(false);
        // The warm-up's own failure is of no interest: the user's submission reports whatever is wrong.
        await session.WarmUpAsync().ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        StartupTrace.Mark("C# warmed up");
        return session;
    }
}
