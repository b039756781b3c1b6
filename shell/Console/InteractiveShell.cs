using Repl.Shell.Debugging;
using Repl.Shell.Scripting;

namespace Repl.Shell.Interactive;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>`repl` with no subcommand: the debugger and the C# session on one machine, behind the loop.</summary>
public static class InteractiveShell
{
    public static int Run(DebuggerOptions options, bool noColorOption)
    {
        Debugger debugger;
        try
        {
            debugger = Debugger.Create(options);
        }
        catch (Exception e) when (e is CommandException or LoaderException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"repl: {e.Message} (check --image)");
            return Boot.BadInput;
        }

        var code = new ScriptCodeRunner(SessionOn(debugger.Machine));
        debugger.ConditionEvaluator = condition => code.Session.EvaluateCondition(condition);
        debugger.ScriptRunner = (path, output) => code.Session.Execute(File.ReadAllText(path), output);
        debugger.MachineChanged += machine =>
        {
            // The globals are views of one machine; a new machine needs a new session, and the old one's variables go.
            code.Session = SessionOn(machine);
            Console.Out.WriteLine("(a new machine: the C# session starts afresh, without the variables defined before)");
        };

        string banner = Banner.Text(options.Image, options.Vendor.ToString());
        return Terminal.Run(new DebuggerCommandRunner(debugger), code, banner, Terminal.NoColor(noColorOption));
    }

    static ScriptSession SessionOn(Machine machine) => new(new ScriptGlobals(machine, output: Console.Out));
}
