using System.Globalization;
using System.Text.RegularExpressions;
using Repl.Machine;
using Repl.Shell.Debugging;
using Repl.Shell.Interactive;
using Repl.Shell.Tests.Interactive;
using Loop = Repl.Shell.Interactive.Session;

namespace Repl.Shell.Tests.Commands;

/// <summary>An empty line at the prompt, over the real commands on the built-in program; what repeats, and how, is what
/// gdb 13 does at its prompt for the command of the same name (checked on a small C program under tmux).</summary>
public class EmptyLineRepeatTests
{
    readonly Debugger debugger = Debugger.Create(Session.BuiltIn);

    /// <summary>Types the lines at the interactive loop and returns everything it printed.</summary>
    string Type(params string[] lines)
    {
        var output = new StringWriter();
        new Loop(new DebuggerCommandRunner(Task.FromResult(debugger)), new FakeCode(), new ScriptedReader(lines), output, output).Run();
        return output.ToString();
    }

    ulong Symbol(string name) => debugger.Program.Addresses[name];

    [Fact]
    public void Finish_repeats_and_the_second_runs_on_from_the_caller()
    {
        Type("break sum", "continue", "finish", "");

        // The first finish returns to _start; the repeated one finds no return there and runs into the HLT.
        Assert.Equal(StopKind.Halted, debugger.LastStop?.Kind);
        Assert.Equal(55ul, debugger.Machine.ReadRegister(Register.Rax));
    }

    [Fact]
    public void Until_repeats_with_its_location_and_comes_back_there_one_loop_pass_later()
    {
        Type("until sum+2", "");

        Assert.Equal(Symbol("sum") + 2, debugger.Machine.State.Rip);
        Assert.Equal(9ul, debugger.Machine.ReadRegister(Register.Rdi)); // 10 at the first arrival, one decq since
    }

    /// <summary>The line numbers a list printed, in order ("=>   6  ..." and "     7  ..." lines).</summary>
    static IEnumerable<int> Listed(string output) =>
        Regex.Matches(output, @"^(?:=>|  ) +(\d+)  ", RegexOptions.Multiline).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));

    [Fact]
    public void List_goes_on_with_the_next_ten_lines_until_the_end_of_the_file()
    {
        int lines = BuiltInProgram.Source.Split('\n').Length;

        string output = Type("list", "", "", "");

        Assert.Equal(Enumerable.Range(1, lines), Listed(output));
        Assert.EndsWith($"error: line {lines + 1} is past the end of builtin.S, which has {lines} lines (list LOC to list elsewhere)\n", output);
    }

    [Fact]
    public void A_bare_list_after_the_machine_ran_lists_around_rip_again()
    {
        string output = Type("list sum", "stepi", "list");

        Assert.Equal([.. Enumerable.Range(10, 10), .. Enumerable.Range(1, 10)], Listed(output));
        Assert.Contains("=>    6  ", output);
    }

    [Theory]
    [InlineData("disas sum 3")]
    [InlineData("bt")]
    [InlineData("info symbol sum+2")]
    [InlineData("regs seg")]
    [InlineData("help x")]
    [InlineData("disable 9")]
    public void Commands_that_only_show_or_fail_print_the_same_again(string command)
    {
        string once = new Session(Debugger.Create(Session.BuiltIn)).Run(command);

        Assert.Equal(once + once, Type(command, ""));
    }

    [Fact]
    public void Break_repeats_and_sets_another_breakpoint_there_as_gdb_does()
    {
        Assert.Equal($"Breakpoint 1 at 0x{Symbol("sum"):x} <sum>\nBreakpoint 2 at 0x{Symbol("sum"):x} <sum>\n", Type("break sum", ""));
    }

    [Fact]
    public void Set_repeats_so_a_relative_write_applies_twice()
    {
        ulong before = debugger.Machine.ReadRegister(Register.Rax);
        Type("set rax=rax+1", "");

        Assert.Equal(before + 2, debugger.Machine.ReadRegister(Register.Rax));
    }

    [Theory]
    [InlineData("delete 1")] // gdb's delete does not repeat: a second would say there is no breakpoint 1
    [InlineData("inject nmi")] // no gdb command: an Enter must not make a second NMI pending
    public void Commands_that_gdb_does_not_repeat_run_once(string command)
    {
        var alone = new Session(Debugger.Create(Session.BuiltIn));
        string once = alone.Run("break sum") + alone.Run(command);

        Assert.Equal(once, Type("break sum", command, ""));
    }
}
