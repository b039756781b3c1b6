namespace Repl.Shell.Tests.Commands;

public class SessionCommandTests
{
    readonly Session s = new();

    [Fact]
    public void Help_lists_every_command_with_its_summary()
    {
        string output = s.Run("help");

        Assert.All(s.Debugger.Commands, c => Assert.Contains($"{c.Name} ", output));
    }

    [Fact]
    public void Every_command_has_help_with_an_example()
    {
        Assert.All(s.Debugger.Commands, c => Assert.Contains("Example: ", c.Help));
    }

    [Fact]
    public void Help_for_a_command_shows_its_aliases_usage_and_example()
    {
        string output = s.Run("help si");

        Assert.StartsWith("stepi (also: si): Execute N instructions (default 1)\nstepi [N]\n", output);
        Assert.Contains("Example: stepi 5", output);
    }

    [Fact]
    public void An_unknown_command_is_one_line_pointing_at_help()
    {
        Assert.Equal("error: unknown command 'frobnicate' (try 'help' for the list)\n", s.Run("frobnicate now"));
        Assert.False(s.Debugger.Execute("frobnicate", TextWriter.Null));
    }

    [Theory]
    [InlineData("x/4gx $rsp", true)]
    [InlineData("  si 3", true)]
    [InlineData("info b", true)]
    [InlineData("Cpu.Rax = 5;", false)]
    [InlineData("var n = 3;", false)]
    public void IsCommand_tells_a_command_line_by_its_first_word(string line, bool isCommand)
    {
        Assert.Equal(isCommand, Repl.Shell.Commands.CommandRegistry.IsCommand(line));
    }

    [Fact]
    public void Quit_asks_the_loop_to_end()
    {
        s.Run("quit");

        Assert.True(s.Debugger.QuitRequested);
    }

    [Fact]
    public void The_prompt_shows_mode_cpl_and_rip_as_symbol_and_offset()
    {
        s.Run("si 3");
        s.Run("si");

        Assert.Equal("[long cpl0 sum+2]", s.Debugger.Prompt);
    }
}

public class SessionFileCommandTests : IDisposable
{
    readonly Session s = new();
    readonly string directory = Path.Combine(Path.GetTempPath(), "repl-shcmd-" + Guid.NewGuid().ToString("n"));

    public SessionFileCommandTests() => Directory.CreateDirectory(directory);

    public void Dispose() => Directory.Delete(directory, recursive: true);

    string WriteFile(string name, string text)
    {
        string path = Path.Combine(directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Reset_starts_the_program_over_and_keeps_the_breakpoints()
    {
        s.Run("break sum");
        s.Run("continue");

        s.Run("reset");

        Assert.Equal(s.Symbol("_start"), s.Rip);
        Assert.Equal(0UL, s.Debugger.Machine.State.InstructionsRetired);
        Assert.StartsWith("Breakpoint 1, 0x10001b <sum>", s.Run("continue"));
    }

    [Fact]
    public void Source_runs_a_file_of_commands_skipping_comments()
    {
        string path = WriteFile("setup.cmd", "# stop in sum\nbreak sum\n\ncontinue\n");

        string output = s.Run("source " + path);

        Assert.StartsWith("Breakpoint 1 at 0x10001b <sum>\nBreakpoint 1, 0x10001b <sum>\n", output);
    }

    [Fact]
    public void Source_stops_at_the_first_failing_line_and_names_it()
    {
        string path = WriteFile("bad.cmd", "break nowhere\ncontinue\n");

        string output = s.Run("source " + path);

        Assert.EndsWith($"error: {path}:1: 'break nowhere' failed; the rest of the file was not run\n", output);
        Assert.Equal(s.Symbol("_start"), s.Rip);
    }

    [Fact]
    public void Source_of_a_csx_file_goes_to_the_script_runner()
    {
        string path = WriteFile("scenario.csx", "Step();");
        Assert.StartsWith("error: " + path + " is C#, and no C# session is running here", s.Run("source " + path));
        string? ran = null;
        s.Debugger.ScriptRunner = (file, output) => ran = file;

        s.Run("source " + path);

        Assert.Equal(path, ran);
    }
}
