using Repl.Shell.Debugging;
using Repl.Shell.Interactive;
using Repl.Shell.Scripting;

namespace Repl.Shell.Tests.Interactive;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>The loop's runners while the machine and the C# session are still starting on pool threads.</summary>
public class StartingRunnersTests
{
    [Fact]
    public void Command_names_are_known_and_ctrl_c_is_harmless_while_the_machine_is_still_being_built()
    {
        var commands = new DebuggerCommandRunner(new TaskCompletionSource<Debugger>().Task);

        Assert.Contains("stepi", commands.Names);
        Assert.Contains("continue", commands.Names);
        commands.Interrupt();
    }

    [Fact]
    public void A_machine_that_could_not_be_built_raises_its_own_error_when_the_prompt_asks_for_it()
    {
        var commands = new DebuggerCommandRunner(Task.FromException<Debugger>(new LoaderException("not a multiboot image")));

        Assert.Equal("not a multiboot image", Assert.Throws<LoaderException>(() => commands.Prompt).Message);
    }

    [Fact]
    public async Task A_file_sourced_first_thing_keeps_its_definitions_past_the_warm_up()
    {
        string file = Path.Combine(Directory.CreateTempSubdirectory("repl-warm-").FullName, "defs.csx");
        File.WriteAllText(file, "var sourced = 7;\n");
        var debugger = Debugger.Create();
        var code = new ScriptCodeRunner(Task.FromResult(new ScriptSession(new ScriptGlobals(debugger))));
        await code.Started;

        // The warm-up is the session's first submission; source waits for it, so the file's state follows the
        // warm-up's instead of racing it (the race itself is not forced here: the warm-up may end first anyway).
        debugger.ScriptRunner!(file, TextWriter.Null);
        var output = new StringWriter();
        code.Evaluate("sourced", output, output);

        Assert.Equal("7\n", output.ToString());
    }
}
