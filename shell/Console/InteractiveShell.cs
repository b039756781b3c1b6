using Repl.Machine;
using Repl.Shell.Debugging;
using Repl.Shell.Scripting;

namespace Repl.Shell.Interactive;

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

        // Commands, C# and the guest's serial output share stdout, in the order they happen.
        var output = ConsoleOutput.Install();
        debugger.SerialOutput += output.WriteGuest;
        // The session makes itself the debugger's condition evaluator and .csx runner; its globals follow the
        // debugger's machine across load and reset.
        var code = new ScriptCodeRunner(new ScriptSession(new ScriptGlobals(debugger, output: Console.Out)));
        string banner = Banner.Text(options.Image, options.Vendor.ToString());
        int status = Terminal.Run(new DebuggerCommandRunner(debugger), code, banner, Terminal.NoColor(noColorOption), output);
        output.Flush(); // the guest's last, unfinished, line
        return status;
    }
}
