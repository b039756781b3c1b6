using System.Text;
using Repl.Shell.Interactive;

namespace Repl.Shell.Tests.Interactive;

/// <summary>Guest serial output shares stdout with the shell's own output without breaking its lines or the editor.</summary>
public class ConsoleOutputTests
{
    readonly Screen _screen = new();
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
        _output.Flush();

        Assert.Equal("^[[2J\tgr\u00fc\u00dfe\r\n^G^?", _screen.ToString());
    }

    [Fact]
    public void Guest_output_goes_out_a_line_at_a_time_and_an_unfinished_line_after_a_moment()
    {
        Guest("line\nlogin: ");
        Assert.Equal("line\n", _screen.ToString());

        // Not a timing test: it waits, however long the loaded machine takes, for the unfinished line to show.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (_screen.ToString() != "line\nlogin: ")
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), "the unfinished line never showed");
            Thread.Sleep(20);
        }
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

/// <summary>A screen the output's timer writes to while the test reads it: one at a time.</summary>
sealed class Screen : StringWriter
{
    readonly Lock _lock = new();

    public override void Write(char value)
    {
        lock (_lock)
            base.Write(value);
    }

    public override void Write(string? value)
    {
        lock (_lock)
            base.Write(value);
    }

    public override void Write(char[] buffer, int index, int count)
    {
        lock (_lock)
            base.Write(buffer, index, count);
    }

    public override string ToString()
    {
        lock (_lock)
            return base.ToString();
    }
}
