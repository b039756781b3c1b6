using Repl.Shell.Debugging;
using Repl.Shell.Scripting;

namespace Repl.Shell.Tests.Scripting;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

public class HooksTests
{
    readonly Debugger _debugger = Debugger.Create(Commands.Session.BuiltIn);
    Machine Machine => _debugger.Machine;
    readonly ScriptSession _session;

    public HooksTests()
    {
        _session = new ScriptSession(new ScriptGlobals(_debugger));
        AssembleProgram();
    }

    void AssembleProgram()
    {
        // Away from the built-in program, whose line table would make next and step go by its lines.
        Show("Assemble(\"start: nop\\nsecond: nop\\nswapgs\\nthird: hlt\", 0x300000);");
        Show("Cpu.Rip = Sym[\"start\"];");
    }

    string Show(string code) => _session.Evaluate(code).Display;

    [Fact]
    public void An_instruction_hook_runs_each_time_the_run_reaches_it_and_the_run_goes_on()
    {
        Show("int hits = 0; On.Instruction(Sym[\"second\"], () => hits++);");
        Assert.Equal("Halted", Show("Continue().Kind"));
        Assert.Equal("1", Show("hits"));
    }

    [Fact]
    public void Until_runs_the_instruction_hooks_on_the_way_and_stops_at_its_location()
    {
        Show("int hits = 0; On.Instruction(Sym[\"second\"], () => hits++);");
        Show("Until(\"third\");");
        Assert.Equal("1", Show("hits"));
        Assert.Equal("true", Show("Cpu.Rip == Sym[\"third\"]"));
    }

    [Fact]
    public void An_instruction_hook_at_a_user_breakpoint_runs_and_the_run_stays_stopped_there()
    {
        Show("int hits = 0; Break(\"second\"); On.Instruction(Sym[\"second\"], () => hits++);");
        Assert.Equal("Breakpoint", Show("Continue().Kind"));
        Assert.Equal("1", Show("hits"));
        Show("On.Clear();");
        Assert.Contains(Machine.State.Rip, Machine.Cpu.Breakpoints);
    }

    [Fact]
    public void An_event_handler_sees_the_event_and_can_stop_the_run()
    {
        Show("SwapgsExecuted seen = default; On.Swapgs += s => { seen = s; On.Stop(s); };");
        Assert.Equal("EventCaught", Show("Continue().Kind"));
        Assert.Equal("true", Show("Cpu.Rip == Sym[\"third\"]"));
        Assert.Equal("true", Show("seen.Rip == Sym[\"second\"] + 1"));
    }

    [Fact]
    public void An_exception_in_a_handler_stops_the_run_and_is_reported_with_the_handlers_line()
    {
        var result = _session.Evaluate("On.Swapgs += s =>\n{\n    throw new InvalidOperationException(\"handler broke\");\n};\nContinue();");
        Assert.False(result.Success);
        Assert.Equal("line 3: handler broke", result.Errors.Single());
        Assert.Equal("Halted", Show("{ On.Clear(); } Continue().Kind"));
    }

    /// <summary>Runs a shell command line, as typed at the prompt, and returns what it printed.</summary>
    string Command(string line) => new Commands.Session(_debugger).Run(line);

    [Fact]
    public void An_instruction_hook_runs_during_the_shells_continue_and_the_run_goes_on()
    {
        Show("int hits = 0; On.Instruction(Sym[\"second\"], () => hits++);");
        Assert.Contains("Stopped: halted", Command("continue"));
        Assert.Equal("1", Show("hits"));
    }

    [Fact]
    public void A_step_that_lands_on_a_hooked_instruction_runs_the_hook_once_before_it_executes()
    {
        Show("ulong seenRip = 0; int hits = 0; On.Instruction(Sym[\"third\"], () => { hits++; seenRip = Cpu.Rip; });");
        Command("stepi 2");
        Assert.Equal("0", Show("hits"));
        Command("stepi"); // lands on third
        Assert.Equal("1", Show("hits"));
        Assert.Equal("true", Show("seenRip == Sym[\"third\"]"));
        Command("stepi"); // executes the hlt: no second run for the same arrival
        Assert.Equal("1", Show("hits"));
    }

    [Fact]
    public void An_instruction_hook_runs_during_until_and_next()
    {
        Show("int hits = 0; On.Instruction(Sym[\"second\"], () => hits++);");
        Command("until third");
        Assert.Equal("1", Show("hits"));
        Show("Cpu.Rip = Sym[\"start\"];");
        Command("next");
        Command("next");
        Assert.Equal("2", Show("hits"));
    }

    [Fact]
    public void An_event_handler_runs_and_stops_the_shells_continue()
    {
        Show("int swaps = 0; On.Swapgs += s => { swaps++; On.Stop(s); };");
        string output = Command("continue");
        Assert.Contains("Stopped: caught", output);
        Assert.Equal("1", Show("swaps"));
        Assert.Equal("true", Show("Cpu.Rip == Sym[\"third\"]"));
    }

    [Fact]
    public void A_hook_that_throws_under_the_shells_continue_is_one_error_line_with_the_hooks_line_and_the_place()
    {
        Show("On.Instruction(Sym[\"second\"], () =>\n{\n    throw new InvalidOperationException(\"hook broke\");\n});");
        string[] lines = Command("continue").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("error: a script hook failed: line 3: hook broke", lines[0]);
        Assert.StartsWith("=> 0x", lines[1]);
        Assert.Equal("true", Show("Cpu.Rip == Sym[\"second\"]"));
        // Nothing is left pending: once the hook is gone, the run goes on to the halt.
        Show("On.Clear();");
        Assert.Contains("Stopped: halted", Command("continue"));
    }

    [Fact]
    public void An_event_handler_that_throws_during_a_step_is_reported_by_the_step_and_leaves_no_stop_pending()
    {
        Show("On.Swapgs += s => throw new InvalidOperationException(\"swap broke\");");
        Command("stepi 2");
        Assert.StartsWith("error: a script hook failed: line 1: swap broke", Command("stepi"));
        Show("On.Clear();");
        Assert.Contains("Stopped: halted", Command("continue"));
    }

    [Fact]
    public void Handlers_removed_with_Clear_no_longer_run()
    {
        Show("int swaps = 0; On.Swapgs += _ => swaps++; On.Clear();");
        Show("Continue();");
        Assert.Equal("0", Show("swaps"));
    }

    [Fact]
    public void An_injected_nmi_is_delivered_through_the_idt_at_the_next_boundary()
    {
        string setup = Path.Combine(Batch.ScenarioScriptsTests.RepositoryRoot(), "scripts", "lib", "machine.csx");
        Show($"#load \"{setup}\"");
        AssembleProgram();                          // the setup starts a fresh bare machine (BareMachine())
        Show("LoadDescriptorTables(); SetGate(2, Sym[\"third\"]);");
        Show("var vectors = new List<Vector>(); On.Exception += e => vectors.Add(e.Vector);");

        Show("Inject.Nmi();");
        Show("StepInstruction();");

        Assert.Equal("[NMI]", Show("vectors"));
        Assert.Equal("true", Show("Cpu.Rip == Sym[\"third\"] + 1"));
    }
}
