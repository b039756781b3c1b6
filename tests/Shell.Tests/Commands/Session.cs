using Repl.Shell.Debugging;

namespace Repl.Shell.Tests.Commands;

/// <summary>A debugger (by default on the built-in program: a long-mode machine, sum(10) called from _start), driven by command lines.</summary>
sealed class Session(Debugger? debugger = null)
{
    /// <summary>What the tests' debuggers hold: the small built-in program rather than the default entry kernel.</summary>
    public static readonly DebuggerOptions BuiltIn = new() { WithoutImage = WithoutImage.BuiltInProgram };

    public Debugger Debugger { get; } = debugger ?? Debugger.Create(BuiltIn);

    /// <summary>Runs a command line and returns what it printed.</summary>
    public string Run(string commandLine)
    {
        var output = new StringWriter();
        Debugger.Execute(commandLine, output);
        return output.ToString();
    }

    public ulong Rip => Debugger.Machine.State.Rip;

    public ulong Symbol(string name) => Debugger.Program.Addresses[name];
}
