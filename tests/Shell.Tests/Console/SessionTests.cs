using Repl.Shell.Interactive;

namespace Repl.Shell.Tests.Interactive;

public class SessionTests
{
    readonly FakeCommands commands = new();
    readonly FakeCode code = new();
    readonly StringWriter output = new(), error = new();

    Session Over(ILineReader reader) => new(commands, code, reader, output, error);

    [Fact]
    public void Commands_go_to_the_debugger_and_csharp_to_the_session_in_the_order_typed()
    {
        Over(new ScriptedReader("step", "var n = 1;", ":x", ">x", "continue")).Run();

        Assert.Equal(["step", "x", "continue"], commands.Executed);
        Assert.Equal(["var n = 1;", "x"], code.Evaluated);
        Assert.Equal("ran step\nevaluated var n = 1;\nran x\nevaluated x\nran continue\n", output.ToString());
    }

    [Fact]
    public void An_unfinished_submission_gathers_lines_under_the_continuation_prompt_until_complete()
    {
        var reader = new ScriptedReader("void F() {", "  step();", "}", "step");
        Over(reader).Run();

        Assert.Equal(["void F() {\n  step();\n}"], code.Evaluated);
        Assert.Equal(["step"], commands.Executed);
        Assert.Equal(["long64 cpl0 demo+0x0", null, null, "long64 cpl0 demo+0x0", "long64 cpl0 demo+0x1"], reader.Prompts);
    }

    [Fact]
    public void Ctrl_c_at_a_continuation_prompt_drops_the_unfinished_submission()
    {
        Over(new ScriptedReader("if (true) {", null, "1")).Run();

        Assert.Equal(["1"], code.Evaluated);
    }

    [Fact]
    public void Two_empty_lines_in_a_row_end_an_unfinished_submission_and_the_first_says_so()
    {
        Over(new ScriptedReader("void F() {", "", "  x();", "", "", "step", "", "")).Run();

        // One empty line keeps the submission going (a blank line inside a method is ordinary), two end it.
        Assert.Equal(["void F() {\n\n  x();\n\n"], code.Evaluated);
        Assert.Equal(2, error.ToString().Split('\n').Count(l => l == Session.UnfinishedHint));
        // Outside a submission empty lines are what they were: a repeat of the last command.
        Assert.Equal(["step", "step", "step"], commands.Executed);
    }

    [Fact]
    public void Piped_empty_lines_belong_to_the_submission()
    {
        Over(new PlainReader(new StringReader("void F() {\n\n\n  x();\n}\nstep\n"))).Run();

        Assert.Equal(["void F() {\n\n\n  x();\n}"], code.Evaluated);
        Assert.Equal("", error.ToString());
        Assert.Equal(["step"], commands.Executed);
    }

    [Fact]
    public void An_unfinished_submission_at_end_of_input_is_evaluated_so_its_error_shows()
    {
        Over(new ScriptedReader("if (true) {")).Run();

        Assert.Equal(["if (true) {"], code.Evaluated);
    }

    [Fact]
    public void A_command_that_quits_ends_the_session_and_later_lines_are_not_read()
    {
        Over(new ScriptedReader("quit", "step")).Run();

        Assert.Equal(["quit"], commands.Executed);
    }

    [Fact]
    public void A_defect_in_a_runner_is_one_line_on_stderr_and_the_session_goes_on()
    {
        Over(new ScriptedReader("crash", "step")).Run();

        Assert.Equal("repl: internal error on 'crash': InvalidOperationException: the engine broke\n", error.ToString());
        Assert.Equal(["crash", "step"], commands.Executed);
    }

    [Fact]
    public void A_bare_help_adds_the_rule_that_tells_commands_from_csharp()
    {
        Over(new ScriptedReader("help")).Run();

        Assert.Equal($"ran help\n\nCommands or C#?\n{InputRule.Help}\n", output.ToString());
    }

    [Fact]
    public void An_empty_line_repeats_the_last_command_as_it_asks_and_nothing_after_csharp()
    {
        Over(new ScriptedReader("step 2", "", "  ", "x/4gx $rsp", "", "var n = 1;", "", "help", "")).Run();

        Assert.Equal(["step 2", "step 2", "step 2", "x/4gx $rsp", "x", "help"], commands.Executed);
    }

    [Fact]
    public void Blank_lines_do_nothing_before_any_command()
    {
        Over(new ScriptedReader("", "   ", ":")).Run();

        Assert.Empty(commands.Executed);
        Assert.Empty(code.Evaluated);
        Assert.Equal("", output.ToString());
    }

    [Fact]
    public void Ctrl_c_while_a_command_runs_interrupts_the_debugger_and_at_the_prompt_does_not()
    {
        var session = Over(new ScriptedReader("continue"));
        bool interruptedWhileRunning = false;
        commands.DuringExecute = () => interruptedWhileRunning = session.Interrupt();

        bool interruptedAtPrompt = session.Interrupt();
        session.Run();

        Assert.False(interruptedAtPrompt);
        Assert.True(interruptedWhileRunning);
        Assert.Equal(1, commands.Interrupts);
        Assert.Equal(1, code.Interrupts);
        Assert.Equal(1, commands.CancelledInterrupts);
    }
}
