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

    [Theory]
    [InlineData("break sum if Cpu.Rdi ==", "error: the condition 'Cpu.Rdi ==' does not compile: 1:11: error CS1733: Expected expression\n")]
    [InlineData("break sum if Cpu.Rdi == 3)", "error: the condition 'Cpu.Rdi == 3)' does not compile: 1:13: ')' follows a complete expression\n")]
    [InlineData("break sum if Cpu.Rdi == nope", "error: the condition 'Cpu.Rdi == nope' does not compile: 1:12: error CS0103: The name 'nope' does not exist in the current context\n")]
    [InlineData("break sum if Cpu.Rdi", "error: the condition 'Cpu.Rdi' does not compile: 1:1: error CS0029: Cannot implicitly convert type 'ulong' to 'bool'\n")]
    public void A_condition_that_does_not_compile_is_refused_when_set_with_the_error_at_its_own_column(string line, string error)
    {
        Assert.Equal(error, Command(line));
        Assert.Empty(_debugger.Breakpoints);
    }

    [Fact]
    public void Print_evaluates_csharp_with_registers_and_keeps_a_value_history()
    {
        _debugger.Machine.WriteRegister(Repl.Machine.Register.Rdi, 0xfffffffffffffffe);

        Assert.Equal("$1 = 0xfffffffffffffffe (-2)\n", Command("p $rdi"));
        Assert.Equal("$2 = 0xfffffffffffffffe (-2)\n", Command("print"));
        // Wraps as C# does on ulong: -2 - 2 + 1 + 0xfffffffe.
        Assert.Equal("$3 = 0xfffffffb\n", Command("p $1 + $rdi + 1 + $edi"));
        Assert.Equal("$4 = 4294967291\n", Command("p/u $"));
        Assert.Equal("error: the value history holds $1 to $4\n", Command("p $9"));
        Assert.Equal("$5 = \"abc\"\n", Command("p \"abc\""));
        Assert.Equal("error: $5 is a String: only numbers, chars and bools can be used again in C#\n", Command("p $5"));
    }

    // gdb 13's print of the same C-typed values gives the same text after '= ' (p/x -1, p/t 10, p/c 65 ...).
    [Theory]
    [InlineData("p/x -1", "0xffffffff")]
    [InlineData("p/d -1", "-1")]
    [InlineData("p/u -1", "4294967295")]
    [InlineData("p/o 8", "010")]
    [InlineData("p/t 10", "1010")]
    [InlineData("p/c 65", "65 'A'")]
    [InlineData("p/c 10", "10 '\\n'")]
    [InlineData("p/c 200", "-56 '\\310'")]
    [InlineData("p/z 5", "0x00000005")]
    [InlineData("p/x (byte)255", "0xff")]
    [InlineData("p/a 0x10001b", "0x10001b <sum>")]
    [InlineData("p 5", "5")]
    public void Print_formats_integers_as_gdb_does(string line, string value)
    {
        Assert.Equal($"$1 = {value}\n", Command(line));
    }

    [Theory]
    [InlineData("p/i 5", "error: the format i is meaningless in print (x/i ADDR disassembles)\n")]
    [InlineData("p/2x 5", "error: print shows one value: a count is meaningless there (x/4gx shows several)\n")]
    [InlineData("p/x \"a\"", "error: p/x formats integers, and this value is a String (p alone prints it)\n")]
    [InlineData("p", "error: the value history is empty: print something first, as in: p $rax\n")]
    [InlineData("p $nosuch", "error: no register named '$nosuch' (try $rax, $eax, $al, $rsp, $rip, $cr3)\n")]
    [InlineData("p int n = 1;", "error: 'int n = 1;' has no value to print (give an expression, as in: p Cpu.Rax + 1)\n")]
    [InlineData("p Cpu.Nope", "error: 1:5: error CS1061: 'CpuView' does not contain a definition for 'Nope' and no accessible extension method 'Nope' accepting a first argument of type 'CpuView' could be found (are you missing a using directive or an assembly reference?)\n")]
    public void Print_refuses_what_it_cannot_show_in_one_line(string line, string error)
    {
        Assert.Equal(error, Command(line));
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
