using Repl.Shell.Commands;
using Repl.Shell.Debugging;

namespace Repl.Shell.Interactive;

/// <summary>
/// The loop's command side over the debugger engine, which may still be starting when the loop begins: the command
/// names are known at once (for highlighting), the prompt and everything else wait for the machine.
/// </summary>
public sealed class DebuggerCommandRunner(Task<Debugger> starting) : ICommandRunner
{
    /// <summary>The debugger, once started; a machine that could not be built rethrows its error here.</summary>
    Debugger Debugger => starting.GetAwaiter().GetResult();

    public IReadOnlyCollection<string> Names { get; } = CommandRegistry.All.SelectMany(c => c.Aliases.Prepend(c.Name)).ToHashSet(StringComparer.Ordinal);

    public string Prompt => Debugger.Prompt;

    /// <summary>Read afresh at each Tab: <c>load</c> changes the symbols, the vendor profile decides the MSRs.</summary>
    public IEnumerable<string> Arguments(string commandLine, string word) => CommandRegistry.Complete(Debugger, commandLine, word);

    public bool Execute(string commandLine, TextWriter output, TextWriter error)
    {
        Debugger.Execute(commandLine, output, error);
        return !Debugger.QuitRequested;
    }

    public string? Repeated(string commandLine) => CommandRegistry.Repeated(commandLine);

    /// <summary>Nothing runs before the machine exists, so there is nothing to stop until then.</summary>
    public void Interrupt()
    {
        if (starting.IsCompletedSuccessfully)
            starting.Result.Interrupt();
    }

    public void CancelInterrupt()
    {
        if (starting.IsCompletedSuccessfully)
            starting.Result.CancelInterrupt();
    }
}
