using Repl.Shell.Debugging;
using Repl.Shell.Scripting;

namespace Repl.Shell.Tests.Scripting;

/// <summary>The globals over the debugger: its commands as methods, its conditions and 'source' through the session,
/// and views that follow its machine. The debugger starts on the built-in program (sum(10) called from _start).</summary>
public class DebuggerGlobalsTests
{
    readonly Debugger _debugger = Debugger.Create(Commands.Session.BuiltIn);
    readonly StringWriter _out = new();
    readonly ScriptSession _session;

    public DebuggerGlobalsTests() => _session = new ScriptSession(new ScriptGlobals(_debugger, output: _out));

    string Show(string code) => _session.Evaluate(code).Display;

    string Command(string line)
    {
        var output = new StringWriter();
        _debugger.Execute(line, output);
        return output.ToString();
    }

    [Fact]
    public void A_breakpoint_condition_typed_as_a_command_is_evaluated_by_the_session()
    {
        Show("ulong wanted = 10;");
        Command("break sum if Cpu.Rdi == wanted");
        Command("continue");
        Assert.Equal("sum", _debugger.Symbols.Find(_debugger.Machine.State.Rip)?.ToString());
    }

    [Fact]
    public void A_breakpoint_whose_condition_is_false_is_run_past()
    {
        Command("break sum if Cpu.Rdi == 3");
        Assert.Equal("Halted", Show("Continue().Kind"));
    }

    [Fact]
    public void The_debuggers_script_runner_runs_a_file_in_the_session()
    {
        string file = Path.Combine(Directory.CreateTempSubdirectory("repl-source-").FullName, "setup.csx");
        File.WriteAllText(file, "var fromFile = Sym[\"sum\"];\n");
        _debugger.ScriptRunner!(file, TextWriter.Null);
        Assert.Equal("true", Show("fromFile == Sym[\"sum\"]"));
    }

    [Fact]
    public void The_source_command_runs_a_csx_file_in_the_session()
    {
        string file = Path.Combine(Directory.CreateTempSubdirectory("repl-source-").FullName, "setup.csx");
        File.WriteAllText(file, "var sourced = Sym[\"sum\"];\n");
        Command($"source {file}");
        Assert.Equal("true", Show("sourced == Sym[\"sum\"]"));
    }

    [Fact]
    public void Commands_as_methods_drive_the_debugger()
    {
        var b = _session.Evaluate("Break(\"sum\")").Value;
        Assert.Equal(_debugger.Breakpoints.Single(), b);
        Assert.Equal("Breakpoint", Show("Continue().Kind"));
        Assert.Equal("true", Show("Cpu.Rip == Sym[\"sum\"]"));
        Show("Finish();");
        Assert.Equal("0x37 (55)", Show("Cpu.Rax"));
    }

    [Fact]
    public void Command_runs_a_shell_command_line_into_Out()
    {
        Assert.Equal("true", Show("Command(\"info breakpoints\")"));
        Assert.NotEqual("", _out.ToString());
        Assert.Equal("false", Show("Command(\"no-such-command\")"));
    }

    [Fact]
    public void After_a_reset_the_views_show_the_new_machine()
    {
        Show("Cpu.Rax = 0x1234; var oldRip = Cpu.Rip; StepInstruction();");
        Show("Reset();");
        Assert.Equal("0", Show("Cpu.Rax"));
        Assert.Equal("true", Show("Cpu.Rip == oldRip"));
        Assert.Same(_debugger.Machine, _session.Globals.Machine);
    }

    [Fact]
    public void Symbols_a_script_assembled_are_locations_for_break_and_until()
    {
        Show("Assemble(\"here: nop\\nthere: nop\\nhlt\", 0x200000); Cpu.Rip = Sym[\"here\"];");
        Assert.Equal("0x200001", Show("Break(\"here+1\").Address"));
        Assert.Equal("Breakpoint", Show("Continue().Kind"));
        Assert.Equal("true", Show("Cpu.Rip == Sym[\"there\"]"));
    }

    [Fact]
    public void Sym_knows_the_programs_symbols_and_suggests_near_names()
    {
        Assert.Equal("true", Show("Sym.Contains(\"_start\") && Sym.Names.Contains(\"sum\") && !Sym.Contains(\"nope\")"));
        Assert.Equal("line 1: no symbol 'su' (did you mean result, sum?)", _session.Evaluate("Sym[\"su\"]").Errors.Single());
        Assert.Equal("line 1: no symbol 'xyzzy' (Sym.Names lists them)", _session.Evaluate("Sym[\"xyzzy\"]").Errors.Single());
    }

    [Fact]
    public void A_debugger_error_in_a_method_is_one_line_with_the_script_line()
    {
        Assert.Equal("line 1: no symbol 'nowhere' in the built-in program (try 'info symbol ADDR', or give an address: 0x...)",
                     _session.Evaluate("Break(\"nowhere\")").Errors.Single());
    }
}
