using Repl.Shell.Debugging;
using Repl.Shell.Scripting;

namespace Repl.Shell.Tests.Scripting;

/// <summary>Ctrl-C stops C# that would run for ever, and the session keeps its state: loops and gotos poll for it.</summary>
public class InterruptionTests
{
    readonly ScriptSession _session = new(new ScriptGlobals(Debugger.Create(Tests.Commands.Session.BuiltIn)));

    string Show(string code) => _session.Evaluate(code).Display;

    /// <summary>Evaluates on another thread and presses Ctrl-C (interrupts the session) until the evaluation ends, as a
    /// user does: an interrupt that comes before the evaluation starts is forgotten by it.</summary>
    Evaluation Interrupted(string code)
    {
        var running = Task.Run(() => _session.Evaluate(code));
        for (int waited = 0; !running.Wait(50); waited += 50)
        {
            Assert.True(waited < 60_000, "the evaluation did not stop after a minute of Ctrl-C");
            _session.Interrupt();
        }
        return running.Result;
    }

    [Fact]
    public void A_loop_that_never_ends_stops_at_ctrl_c_with_its_line_and_the_session_keeps_its_state()
    {
        Show("int kept = 7;");

        var result = Interrupted("int before = 1;\nwhile (true) { }");

        Assert.Equal("line 2: interrupted (Ctrl-C)", result.Errors.Single());
        Assert.Equal("7", Show("kept"));
        Assert.Equal("1", Show("before"));
    }

    [Theory]
    [InlineData("for (;;) ;")]
    [InlineData("do { } while (true);")]
    [InlineData("foreach (var _ in System.Linq.Enumerable.Repeat(0, int.MaxValue)) foreach (var __ in System.Linq.Enumerable.Repeat(0, int.MaxValue)) { }")]
    [InlineData("again: goto again;")]
    [InlineData("while (true) { try { while (true) { } } catch (System.Exception) { } }")]
    [InlineData("System.Action spin = () => { while (true) { } }; spin();")]
    public void Every_kind_of_loop_stops_even_one_that_catches_the_interruption(string code)
    {
        Assert.EndsWith("interrupted (Ctrl-C)", Interrupted(code).Errors.Single());
        Assert.Equal("0x2a (42)", Show("6 * 7"));
    }

    [Fact]
    public void Polls_keep_the_lines_and_columns_of_errors()
    {
        Assert.Equal("1:16: error CS0103: The name 'missing' does not exist in the current context",
                     _session.Evaluate("while (true) { missing++; }").Errors.Single());
        Assert.Equal("line 3: loop body broke",
                     _session.Evaluate("for (int i = 0; i < 1; i++)\n\n    throw new InvalidOperationException(\"loop body broke\");").Errors.Single());
    }

    [Fact]
    public void A_ctrl_c_from_before_an_evaluation_does_not_stop_it()
    {
        _session.Interrupt();
        Assert.Equal("0xa (10)", Show("int n = 0; for (int i = 0; i < 10; i++) n++; n"));
    }
}
