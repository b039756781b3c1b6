namespace Repl.Shell.Tests.Commands;

// The built-in program: _start (builtin.S:5-10) calls sum(10) (builtin.S:15-19), stores the result and halts.
public class RunCommandTests
{
    readonly Session s = new();

    [Fact]
    public void Stepi_executes_one_instruction_and_shows_the_next_with_its_source_line()
    {
        string output = s.Run("stepi");

        Assert.Equal(s.Symbol("_start") + 7, s.Rip);
        Assert.Contains("builtin.S:6: movl    $10, %edi", output);
        Assert.Contains("=> 0x100007 <_start+7>:", output);
    }

    [Fact]
    public void Stepi_with_a_count_executes_that_many()
    {
        s.Run("si 3");

        Assert.Equal(s.Symbol("sum"), s.Rip);
    }

    [Fact]
    public void Step_goes_line_by_line_and_into_calls()
    {
        s.Run("step 3");

        Assert.Equal(s.Symbol("sum"), s.Rip);
    }

    [Fact]
    public void Step_inside_a_loop_stops_on_each_new_line()
    {
        s.Run("until sum+2");

        string output = s.Run("step");

        Assert.Contains("builtin.S:17: decq", output);
    }

    [Fact]
    public void Next_runs_a_call_as_one_step()
    {
        string output = s.Run("next 3");

        Assert.Equal(s.Symbol("_start") + 17, s.Rip);
        Assert.Contains("builtin.S:8:", output);
        Assert.Equal(55UL, s.Debugger.Machine.ReadRegister("rax"));
    }

    [Fact]
    public void Next_over_a_call_still_stops_at_a_breakpoint_inside_it()
    {
        s.Run("break sum");
        s.Run("next 2");

        string output = s.Run("next");

        Assert.Contains("Breakpoint 1, 0x10001b <sum>", output);
        Assert.Equal(s.Symbol("sum"), s.Rip);
    }

    [Fact]
    public void Finish_runs_to_the_caller_once_the_function_returns()
    {
        s.Run("break sum");
        s.Run("continue");

        s.Run("finish");

        Assert.Equal(s.Symbol("_start") + 17, s.Rip);
        Assert.Equal(55UL, s.Debugger.Machine.ReadRegister("rax"));
    }

    [Fact]
    public void Continue_stops_at_a_breakpoint_and_names_it()
    {
        s.Run("break sum");

        string output = s.Run("continue");

        Assert.StartsWith("Breakpoint 1, 0x10001b <sum>", output);
        Assert.Contains("builtin.S:15: xorl    %eax, %eax", output);
    }

    [Fact]
    public void Continue_without_breakpoints_runs_until_the_program_halts_and_says_so()
    {
        string output = s.Run("c");

        Assert.StartsWith("Stopped: halted", output);
    }

    [Fact]
    public void Continue_with_a_count_passes_that_many_breakpoint_stops_less_one()
    {
        s.Run("break sum+2"); // the loop body: once per value of rdi, 10 down to 1

        s.Run("continue 3");

        Assert.Equal(8UL, s.Debugger.Machine.ReadRegister("rdi"));
        Assert.Equal(3, s.Debugger.Breakpoints[0].Hits);
    }

    [Fact]
    public void Until_runs_to_a_source_line()
    {
        s.Run("until builtin.S:8");

        Assert.Equal(s.Symbol("_start") + 17, s.Rip);
    }

    [Fact]
    public void A_bad_count_is_a_one_line_error_with_an_example()
    {
        Assert.Equal("error: 'x' is not a count (a positive number, as in 'stepi 10')\n", s.Run("stepi x"));
        Assert.Equal(s.Symbol("_start"), s.Rip);
    }

    [Fact]
    public void Until_an_unknown_symbol_says_so_and_runs_nothing()
    {
        string output = s.Run("until nowhere");

        Assert.StartsWith("error: no symbol 'nowhere' in the built-in program", output);
        Assert.Equal(0UL, s.Debugger.Machine.State.InstructionsRetired);
    }

    [Fact]
    public void Interrupt_stops_a_continue_that_would_never_end()
    {
        s.Run("asm _start \"1: jmp 1b\"");
        using var timer = new Timer(_ => s.Debugger.Interrupt(), null, 200, Timeout.Infinite);

        string output = s.Run("continue");

        Assert.StartsWith("Stopped: interrupted", output);
    }
}
