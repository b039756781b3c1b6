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
