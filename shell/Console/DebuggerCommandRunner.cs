using Repl.Shell.Debugging;

namespace Repl.Shell.Interactive;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>The loop's command side over the debugger engine.</summary>
public sealed class DebuggerCommandRunner(Debugger debugger) : ICommandRunner
{
    public IReadOnlyCollection<string> Names { get; } = debugger.Commands.SelectMany(c => c.Aliases.Prepend(c.Name)).ToHashSet(StringComparer.Ordinal);

    public string Prompt => debugger.Prompt;

    /// <summary>Read afresh at each Tab: <c>load</c> changes the symbols, the vendor profile decides the MSRs.</summary>
    public IEnumerable<string> Operands =>
        Enum.GetValues<Register>().Select(RegisterNames.NameOf)
            .Concat(debugger.Machine.ListMsrs().Select(m => m.Name))
            .Concat(debugger.Program.Addresses.Keys);

    public bool Execute(string commandLine, TextWriter output)
    {
        debugger.Execute(commandLine, output);
        return !debugger.QuitRequested;
    }

    public string? Repeated(string commandLine) => Commands.CommandRegistry.Repeated(commandLine);

    public void Interrupt() => debugger.Interrupt();

    public void CancelInterrupt() => debugger.CancelInterrupt();
}
