using Repl.Shell.Debugging;
using Repl.Shell.Scripting;

namespace Repl.Shell.Tests.Scripting;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

public class ScriptSessionTests
{
    readonly Debugger _debugger = Debugger.Create(Commands.Session.BuiltIn);
    Machine Machine => _debugger.Machine;
    readonly ScriptSession _session;

    public ScriptSessionTests() => _session = new ScriptSession(new ScriptGlobals(_debugger));

    string Show(string code) => _session.Evaluate(code).Display;

    [Fact]
    public void Variables_functions_and_usings_survive_between_inputs()
    {
        Show("var x = 40;");
        Show("ulong Twice(ulong v) => 2 * v;");
        Show("using System.Text;");
        Assert.Equal("0x50 (80)", Show("Twice((ulong)x)"));
        Assert.Equal("\"ab\"", Show("new StringBuilder(\"a\").Append('b').ToString()"));
    }

    [Fact]
    public void A_compile_error_shows_line_column_and_code_and_leaves_the_state_as_it_was()
    {
        Show("var kept = 7;");
        var result = _session.Evaluate("var a = 1;\nundefinedName + 1");
        Assert.False(result.Success);
        Assert.Equal(["2:1: error CS0103: The name 'undefinedName' does not exist in the current context"], result.Errors);
        Assert.Equal("7", Show("kept"));
    }

    [Fact]
    public void A_runtime_exception_shows_its_message_and_line_and_the_session_goes_on()
    {
        var result = _session.Evaluate("var before = 1;\nMem.U64[0xdead_0000_0000_0000]");
        Assert.False(result.Success);
        Assert.Single(result.Errors);
        Assert.StartsWith("line 2: linear address 0xdead000000000000 cannot be reached", result.Errors[0]);
        Assert.Equal("1", Show("before"));
    }

    [Fact]
    public void An_exception_the_runtime_throws_is_named_by_its_type()
    {
        var result = _session.Evaluate("int zero = 0;\nvar q = 1 / zero;");
        Assert.Equal("line 2: DivideByZeroException: Attempted to divide by zero.", result.Errors.Single());
    }

    [Fact]
    public void Statements_show_nothing_and_expressions_show_their_value()
    {
        Assert.Equal("", Show("Cpu.Rax = 0x1234_5678;"));
        Assert.Equal("", Show("System.Console.Out.Flush()"));
        Assert.Equal("0x12345678", Show("Cpu.Rax"));
    }

    [Theory]
    [InlineData("var s = \"while (true) {\";", true)]
    [InlineData("if (Cpu.Rax == 0) {", false)]
    [InlineData("int F(int a) =>", false)]
    [InlineData("Cpu.Rax", true)]
    public void IsComplete_asks_for_more_only_while_a_statement_is_open(string code, bool complete) =>
        Assert.Equal(complete, ScriptSession.IsComplete(code));

    [Fact]
    public void Registers_written_from_CSharp_reach_the_machine()
    {
        Show("Cpu.R15 = 0xfeed; Cpu.Gs.Base = 0xffff_8880_0000_0000;");
        Assert.Equal(0xfeedUL, Machine.ReadRegister(Register.R15));
        Assert.Equal(0xffff_8880_0000_0000, Machine.ReadRegister(Register.GsBase));
        Assert.Equal("0", Show("Cpu.Cpl"));
        Assert.Equal("Long64", Show("Cpu.Mode"));
    }

    [Fact]
    public void Msrs_read_and_write_by_name_and_by_index()
    {
        Show("Msr.Lstar = 0xffff_ffff_8100_0000;");
        Assert.Equal(0xffff_ffff_8100_0000, Machine.ReadMsr(Msr.Lstar));
        Assert.Equal("0xffffffff81000000 (-2130706432)", Show("Msr[0xC0000082]"));
        Show("Msr.Sfmask = 0x47700;");
        Assert.Equal(0x47700UL, Machine.ReadMsr(Msr.Fmask));
    }

    [Fact]
    public void Memory_reads_through_paging_and_physically()
    {
        Show("Mem.U64[0x5000] = 0x1122_3344_5566_7788;");
        Assert.Equal("0x88 (136)", Show("Mem.Phys.U8[0x5000]"));
        Assert.Equal("0x55667788", Show("Mem.U32[0x5000]"));
        Assert.Equal("0000: 88 77 66 55                                      .wfU", Show("Mem.Read(0x5000, 4)"));
    }

    [Fact]
    public void Expect_records_the_condition_the_message_and_the_line()
    {
        _session.Evaluate("Cpu.Rax = 5;\nExpect(Cpu.Rax == 6, \"rax holds the sum\");");
        var failure = Assert.Single(_session.Globals.Failures);
        Assert.Equal("line 2: Expect(Cpu.Rax == 6) failed: rax holds the sum", failure.ToString());
    }

    [Fact]
    public void A_sourced_file_runs_in_the_session_and_its_errors_name_the_file()
    {
        string dir = Directory.CreateTempSubdirectory("repl-source-").FullName;
        File.WriteAllText(Path.Combine(dir, "defs.csx"), "ulong Kernel(ulong a) => a | 0xffff_8000_0000_0000;\n");
        File.WriteAllText(Path.Combine(dir, "main.csx"), "#load \"defs.csx\"\nvar top = Kernel(0x1000);\n");
        File.WriteAllText(Path.Combine(dir, "bad.csx"), "var ok = 1;\nok.Nope();\n");
        var output = new StringWriter();

        Assert.True(_session.RunFile(Path.Combine(dir, "main.csx"), output));
        Assert.Equal("0xffff800000001000 (-140737488351232)", Show("top"));
        Assert.False(_session.RunFile(Path.Combine(dir, "bad.csx"), output));
        Assert.StartsWith("bad.csx:2:4: error CS1061:", output.ToString());
    }

    [Fact]
    public async Task Warming_up_leaves_the_session_empty()
    {
        await _session.WarmUpAsync();
        Assert.Equal("1:1: error CS0103: The name 'top' does not exist in the current context", Show("top"));
    }

    [Fact]
    public void CSharp_that_evaluates_CSharp_leaves_the_session_whole()
    {
        Show("var before = 1;");
        Show("Command(\"p before + 1\");");
        Show("var a = 2;");
        Assert.Equal("3", Show("a + before"));
    }

    [Fact]
    public void A_condition_sees_the_session_variables_and_is_compiled_once()
    {
        Show("ulong wanted = 60;");
        Machine.WriteRegister(Register.Rax, 60);
        Assert.True(_session.EvaluateCondition("Cpu.Rax == wanted"));
        Machine.WriteRegister(Register.Rax, 1);
        Assert.False(_session.EvaluateCondition("Cpu.Rax == wanted"));
    }

    [Fact]
    public void A_condition_that_does_not_compile_says_why_in_one_line()
    {
        var e = Assert.Throws<ScriptConditionException>(() => _session.EvaluateCondition("Cpu.Nope == 1"));
        Assert.StartsWith("1:5: error CS1061: 'CpuView' does not contain a definition for 'Nope'", e.Message);
    }

    [Fact]
    public void The_views_say_what_they_are_and_memory_which_holds_itself_shows_without_overflowing_the_stack()
    {
        Assert.StartsWith("physical memory: .U8/", Show("Mem.Phys"));
        Assert.EndsWith("; .Phys the same over physical addresses", Show("Mem"));
        Assert.Matches(@"^CpuView\n(.*\n)*  Rip +0x100000\n", Show("Cpu"));
        Assert.Matches(@"^breakpoint 1 at 0x[0-9a-f]+ <sum>$", Show("Break(\"sum\")"));
        Assert.StartsWith("Inject.Nmi(), Inject.Irq(vector)", Show("Inject"));
        Assert.StartsWith("no hooks (add one: ", Show("On"));
        Show("On.Syscall += t => { };");
        Assert.Equal("hooks: On.Syscall (1)", Show("On"));
    }

    [Fact]
    public void A_struct_of_the_session_whose_property_has_its_own_type_shows_a_few_levels_and_the_session_goes_on()
    {
        Show("struct S { public int A; public S Next => new S(); }");
        Assert.Equal("S\n  Next  { Next = { Next = { ... }, A = 0 }, A = 0 }\n  A     0", Show("new S()"));
        Assert.Equal("0x2a (42)", Show("6 * 7"));
    }
}

public class ScriptReferenceTests
{
    /// <summary>Writes Helper.dll, whose <c>Magic.Number</c> is <paramref name="number"/>, into <paramref name="dir"/>.</summary>
    internal static void WriteHelper(string dir, ulong number = 0x1234)
    {
        var helper = Microsoft.CodeAnalysis.CSharp.CSharpCompilation.Create("Helper",
            [Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText($"public static class Magic {{ public static ulong Number => {number}; }}")],
            [Microsoft.CodeAnalysis.MetadataReference.CreateFromFile(typeof(object).Assembly.Location)],
            new(Microsoft.CodeAnalysis.OutputKind.DynamicallyLinkedLibrary));
        using var dll = File.Create(Path.Combine(dir, "Helper.dll"));
        Assert.True(helper.Emit(dll).Success);
    }

    [Fact]
    public void A_script_can_reference_an_assembly_with_r_relative_to_its_directory()
    {
        string dir = Directory.CreateTempSubdirectory("repl-r-").FullName;
        WriteHelper(dir);
        string script = Path.Combine(dir, "uses.csx");
        File.WriteAllText(script, "#r \"Helper.dll\"\nExpect(Magic.Number == 0x1234, \"from the referenced assembly\");\n");

        var output = new StringWriter();
        int status = Repl.Shell.Batch.RunCommand.Run(
            new([script], [], null, 1, Repl.Shell.Batch.RunCommand.DefaultTimeout, null, Repl.Machine.CpuVendor.Intel, Path.Combine(dir, "cache")), output, TextWriter.Null, interactive: false);

        Assert.True(status == 0, output.ToString());
    }
}

public class ScriptSessionReferenceTests
{
    [Fact]
    public void Two_sessions_may_each_reference_their_own_assembly_of_one_name()
    {
        var shown = new[] { 0x1111UL, 0x2222UL }.Select(number =>
        {
            string dir = Directory.CreateTempSubdirectory("repl-r-session-").FullName;
            ScriptReferenceTests.WriteHelper(dir, number);
            File.WriteAllText(Path.Combine(dir, "uses.csx"), "#r \"Helper.dll\"\n");
            var session = new ScriptSession(new ScriptGlobals(Debugger.Create(Commands.Session.BuiltIn)));
            Assert.True(session.RunFile(Path.Combine(dir, "uses.csx"), TextWriter.Null));
            return session;
        }).ToList().Select(session => session.Evaluate("Magic.Number").Display);

        Assert.Equal(["0x1111 (4369)", "0x2222 (8738)"], shown);
    }
}

/// <summary>A session that starts Roslyn's chain anew every three submissions (as the shell's does every hundred), so
/// that each test crosses several new chains: what was defined before one must work after it.</summary>
public class ScriptSessionChainTests
{
    // The built-in program's long-mode paging, where the tests' wild address cannot be read.
    readonly Debugger _debugger = Debugger.Create(Commands.Session.BuiltIn);
    readonly ScriptSession _session;

    public ScriptSessionChainTests() => _session = new ScriptSession(new ScriptGlobals(_debugger), chainLength: 3);

    string Show(string code) => _session.Evaluate(code).Display;

    /// <summary>Enough submissions that do nothing to be sure the chain has started over.</summary>
    void Pass() => Assert.All(Enumerable.Range(0, 4), _ => Assert.Equal("", Show("Cpu.Rax.ToString();")));

    /// <summary>Roslyn names the class of each submission after its place in the chain; a submission's statements run
    /// in a state machine nested in that class.</summary>
    string Submission() => Show("System.Reflection.MethodBase.GetCurrentMethod()!.DeclaringType!.DeclaringType!.Name");

    /// <summary>That the chain has started over: a chain holds at most three submissions after its prelude, and each
    /// test makes more than that.</summary>
    void AssertNewChain() => Assert.InRange(int.Parse(Submission().Trim('"').Split('#')[1]), 0, 3);

    /// <summary>That the chain has been kept past the point where it would have started over.</summary>
    void AssertSameChain() => Assert.InRange(int.Parse(Submission().Trim('"').Split('#')[1]), 4, int.MaxValue);

    [Fact]
    public void The_chain_starts_over_after_three_submissions()
    {
        Assert.Equal(["\"Submission#0\"", "\"Submission#1\"", "\"Submission#2\""], [Submission(), Submission(), Submission()]);
        // The new chain's first submission is the prelude that carries the old chain's definitions over.
        Assert.Equal("\"Submission#1\"", Submission());
    }

    [Fact]
    public void A_declared_type_is_declared_again_in_a_new_chain()
    {
        Show("enum Color { Red, Green }");
        Show("record struct Hit(ulong Rip, Color Color);");
        Show("string Name(Hit hit) => $\"{hit.Color}@{hit.Rip:x}\";");
        Pass();
        Assert.Equal("\"Green@1000\"", Show("Name(new Hit(0x1000, Color.Green))"));
        AssertNewChain();
    }

    [Fact]
    public void The_chain_is_kept_while_a_variable_holds_a_value_of_a_declared_type()
    {
        Show("record Hit(ulong Rip);");
        Show("object last = new Hit(0x1000);");
        Show("var all = new List<object> { last };");
        Pass();
        Assert.Equal("true", Show("last is Hit { Rip: 0x1000 } && all[0] == last"));
        AssertSameChain();
        Show("last = null; all = null;");
        Pass();
        AssertNewChain();
    }

    [Fact]
    public void The_chain_is_kept_once_a_declared_type_has_static_state()
    {
        Show("static class Counter { public static int N; }");
        Show("Counter.N = 5;");
        Pass();
        Pass();
        Assert.Equal("5", Show("Counter.N"));
        AssertSameChain();
    }

    [Fact]
    public void Variables_methods_and_usings_survive_new_chains()
    {
        Show("var x = 40;");
        Show("ulong Twice(ulong v) => 2 * v;");
        Show("using System.Text;");
        Pass();
        Assert.Equal("0x50 (80)", Show("Twice((ulong)x)"));
        Assert.Equal("\"ab\"", Show("new StringBuilder(\"a\").Append('b').ToString()"));
        Show("x += 2;");
        Pass();
        Pass();
        Assert.Equal("0x2a (42)", Show("x"));
        AssertNewChain();
    }

    [Fact]
    public void Variables_of_a_submission_that_threw_and_keyword_names_survive_new_chains()
    {
        Assert.False(_session.Evaluate("var before = 1;\nvar @class = 2;\nMem.U64[0xdead_0000_0000_0000]").Success);
        Show("var pair = (count: 3, name: \"rax\");\nvar stop = StepInstruction();\nint? none = null;");
        Pass();
        Assert.Equal("3", Show("before + @class"));
        Assert.Equal("\"rax 3\"", Show("$\"{pair.name} {pair.count}\""));
        Assert.Equal("true", Show("stop.Kind == StopKind.StepDone && none is null"));
        AssertNewChain();
    }

    [Fact]
    public void An_auto_property_keeps_its_value_because_the_chain_is_kept()
    {
        Show("int Count { get; set; } = 5;");
        Show("Count++;");
        Pass();
        Assert.Equal("6", Show("Count"));
    }

    [Fact]
    public void A_hook_registered_before_a_new_chain_counts_into_the_same_variable()
    {
        Show("int calls = 0;");
        Show("Action count = () => calls++;");
        Pass();
        Show("count(); count();");
        Show("calls++;");
        Pass();
        Assert.Equal("3", Show("calls"));
        AssertNewChain();
    }

    [Fact]
    public void A_variable_can_be_passed_by_ref_and_keeps_its_value_across_chains()
    {
        Show("long counter = 1;");
        Show("System.Threading.Interlocked.Increment(ref counter);");
        Pass();
        Show("System.Threading.Interlocked.Add(ref counter, 10);");
        Pass();
        Assert.Equal("0xc (12)", Show("counter"));
        AssertNewChain();
    }

    [Fact]
    public void Declarations_of_every_shape_keep_their_values_and_their_lines()
    {
        // An array initializer, several variables in one declaration over several lines (one without a value), a
        // variable of a pattern and an out variable (which stay fields of their submission), and a read-only one.
        var result = _session.Evaluate("int[] primes = { 2, 3, 5 };\nint a = 1,\n    unset,\n    b = a + 1;\n" +
                                       "if (primes is [var first, ..]) { }\nint.TryParse(\"7\", out var parsed);\nint zero = 0;\nvar q = 1 / zero;");
        Assert.Equal("line 8: DivideByZeroException: Attempted to divide by zero.", result.Errors.Single());
        Show("readonly int fixedValue = 9;");
        Pass();
        Pass();
        Assert.Equal("0x1f (31)", Show("primes.Sum() + a + unset + b + first + parsed + fixedValue"));
        AssertNewChain();
        Assert.False(_session.Evaluate("fixedValue = 1;").Success);
    }

    [Fact]
    public void A_variable_used_before_its_declaration_in_one_input_has_its_default_value()
    {
        Show("int F() => later;\nvar before = F();\nint later = 5;");
        Pass();
        Assert.Equal("5", Show("before + later"));
    }

    [Fact]
    public void An_old_chain_is_freed_once_nothing_refers_to_it()
    {
        var chain = (WeakReference)_session.Evaluate(
            "new WeakReference(System.Runtime.Loader.AssemblyLoadContext.GetLoadContext(System.Reflection.Assembly.GetExecutingAssembly()))").Value!;
        Show("var kept = 1;");
        Pass();
        Pass();
        for (int i = 0; i < 10 && chain.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.False(chain.IsAlive);
        Assert.Equal("1", Show("kept"));
    }

    [Fact]
    public void A_later_declaration_replaces_an_earlier_one_across_chains()
    {
        Show("int F() => 1;");
        Show("var v = \"text\";");
        Pass();
        Show("int F() => 2;");
        Show("var v = 7;");
        Pass();
        Assert.Equal("2", Show("F()"));
        Assert.Equal("8", Show("v + 1"));
        AssertNewChain();
    }

    [Fact]
    public void A_class_declared_earlier_is_used_later()
    {
        Show("record Hit(ulong Rip, int Vector);");
        Show("var hits = new List<Hit>();");
        Pass();
        Show("hits.Add(new Hit(0x1000, 14));");
        Pass();
        Assert.Equal("0xe (14)", Show("hits.Single().Vector"));
    }

    [Fact]
    public void Errors_in_a_carried_method_name_the_line_where_it_was_written()
    {
        Show("int a = 0;\nint Divide(int n) =>\n    n / a;");
        Pass();
        Assert.Equal("line 3: DivideByZeroException: Attempted to divide by zero.", _session.Evaluate("Divide(1)").Errors.Single());
        Assert.Equal("1:1: error CS0103: The name 'nope' does not exist in the current context", _session.Evaluate("nope").Errors.Single());
    }

    [Fact]
    public void A_sourced_file_s_definitions_survive_without_running_its_statements_again()
    {
        string dir = Directory.CreateTempSubdirectory("repl-chain-").FullName;
        File.WriteAllText(Path.Combine(dir, "defs.csx"), "using System.Text;\nulong Kernel(ulong a) => a | 0xffff_8000_0000_0000;\nCpu.Rbx++;\n");
        File.WriteAllText(Path.Combine(dir, "main.csx"), "#load \"defs.csx\"\nvar top = Kernel(0x1000);\n");
        Assert.True(_session.RunFile(Path.Combine(dir, "main.csx"), TextWriter.Null));
        ulong rbx = _debugger.Machine.ReadRegister(Repl.Machine.Register.Rbx);
        Pass();
        Pass();
        Assert.Equal(rbx, _debugger.Machine.ReadRegister(Repl.Machine.Register.Rbx));
        Assert.Equal("0xffff800000002000 (-140737488347136)", Show("Kernel(top + 0x1000 - 0x1000 + 0x1000 & 0xffff)"));
        Assert.Equal("\"x\"", Show("new StringBuilder(\"x\").ToString()"));
    }

    [Fact]
    public void An_assembly_added_with_r_stays_referenced_and_its_values_keep_their_type()
    {
        string dir = Directory.CreateTempSubdirectory("repl-chain-r-").FullName;
        ScriptReferenceTests.WriteHelper(dir);
        File.WriteAllText(Path.Combine(dir, "uses.csx"), "#r \"Helper.dll\"\nvar number = Magic.Number;\nvar magic = typeof(Magic);\n");
        Assert.True(_session.RunFile(Path.Combine(dir, "uses.csx"), TextWriter.Null));
        Pass();
        Assert.Equal("0x1234 (4660)", Show("Magic.Number"));
        Assert.Equal("true", Show("magic == typeof(Magic) && number == Magic.Number"));
        AssertNewChain();
    }

    [Fact]
    public void A_breakpoint_condition_sees_variables_carried_into_a_new_chain()
    {
        Show("ulong wanted = 60;");
        Pass();
        _debugger.Machine.WriteRegister(Repl.Machine.Register.Rax, 60);
        Assert.True(_session.EvaluateCondition("Cpu.Rax == wanted"));
    }
}
