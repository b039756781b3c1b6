using Repl.Shell.Scripting;

namespace Repl.Shell.Interactive;

/// <summary>
/// The loop's C# side over the Roslyn session. Roslyn starts warming up when this is made, before the banner, so
/// that the prompt shows at once and the first submission finds the compiler loaded (CSharpRepl's way).
/// </summary>
public sealed class ScriptCodeRunner : ICodeRunner
{
    readonly ScriptSession session;
    readonly Task warmUp;

    public ScriptCodeRunner(ScriptSession session)
    {
        this.session = session;
        warmUp = session.WarmUpAsync();
    }

    public Type GlobalsType => session.Globals.GetType();

    public bool IsComplete(string code) => ScriptSession.IsComplete(code);

    public void Interrupt() => session.Interrupt();

    public void Evaluate(string code, TextWriter output)
    {
        // The warm-up is a submission too, and a session takes one at a time. Its own failure is of no interest:
        // the user's submission reports whatever is wrong.
        warmUp.ContinueWith(_ => { }, TaskScheduler.Default).Wait();
        session.Execute(code, output);
    }
}
