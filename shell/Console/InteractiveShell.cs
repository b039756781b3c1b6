using Repl.Machine;
using Repl.Shell.Debugging;
using Repl.Shell.Scripting;

namespace Repl.Shell.Interactive;

/// <summary>`repl` with no subcommand: the debugger and the C# session on one machine, behind the loop.</summary>
public static class InteractiveShell
{
    public static int Run(DebuggerOptions options, bool noColorOption)
    {
        // Commands, C# and the guest's serial output share stdout, in the order they happen.
        var output = ConsoleOutput.Install();
        // Building the machine (assembling the entry kernel, loading an image) is most of a start's work, so it
        // runs on a pool thread while the terminal opens and the banner shows; the prompt waits for it. The session
        // makes itself the debugger's condition evaluator and .csx runner; its globals follow the debugger's machine
        // across load and reset.
        var session = Task.Run(() =>
        {
            var debugger = Debugger.Create(options);
            debugger.SerialOutput += output.WriteGuest;
            return new ScriptSession(new ScriptGlobals(debugger, output: Console.Out));
        });
        var code = new ScriptCodeRunner(session);
        var debugger = DebuggerOf(code.Started);
        string banner = Banner.Text(options.Image, options.Vendor.ToString());
        try
        {
            return Terminal.Run(new DebuggerCommandRunner(debugger), code, banner, Terminal.NoColor(noColorOption), output);
        }
        catch (Exception e) when (debugger.IsFaulted && e is CommandException or LoaderException or IOException or UnauthorizedAccessException)
        {
            // The entry kernel's errors carry their own hint (the --define values).
            Console.Error.WriteLine(options.Image is null ? $"repl: {e.Message}" : $"repl: {e.Message} (check --image)");
            return Boot.BadInput;
        }
        finally
        {
            output.Flush(); // the guest's last, unfinished, line
            // Ctrl-D with gdbserver still serving: 'quit' stops it, and so removes the files written for gdb, but EOF does not.
            if (debugger.IsCompletedSuccessfully)
                debugger.Result.StopServing();
        }
    }

    static async Task<Debugger> DebuggerOf(Task<ScriptSession> session) => (await session).Globals.Debugger;
}
