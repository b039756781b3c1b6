using System.Text;
using Repl.Shell.Interactive;

namespace Repl.Shell.Tests.Interactive;

/// <summary>Guest serial output shares stdout with the shell's own output without breaking its lines or the editor.</summary>
public class ConsoleOutputTests
{
    readonly StringWriter _screen = new();
    readonly ConsoleOutput _output;

    public ConsoleOutputTests() => _output = new ConsoleOutput(_screen);

    void Guest(string text)
    {
        foreach (byte b in Encoding.UTF8.GetBytes(text))
            _output.WriteGuest(b);
    }

    [Fact]
    public void Guest_and_shell_output_keep_their_order_and_an_unfinished_guest_line_is_ended_first()
    {
        Guest("booting\nready> ");
        _output.WriteLine("Stopped: halted");
        Guest("done\n");
        _output.WriteLine("next");

        Assert.Equal("booting\nready> \nStopped: halted\ndone\nnext\n", _screen.ToString());
    }

    [Fact]
    public void Control_characters_other_than_tab_cr_and_lf_show_in_caret_notation_and_utf8_is_decoded()
    {
        Guest("\u001b[2J\tgr\u00fc\u00dfe\r\n\u0007\u007f");

        Assert.Equal("^[[2J\tgr\u00fc\u00dfe\r\n^G^?", _screen.ToString());
    }

    [Fact]
    public void While_a_line_is_read_guest_output_waits_and_the_prompt_starts_on_its_own_line()
    {
        Guest("partial");
        _output.Hold();
        Guest("while typing\n");
        Assert.Equal("partial\n", _screen.ToString());

        _output.Release();
        Assert.Equal("partial\nwhile typing\n", _screen.ToString());
    }
}
