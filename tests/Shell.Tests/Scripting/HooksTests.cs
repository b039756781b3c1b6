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
        Show("Assemble(\"start: nop\\nsecond: nop\\nswapgs\\nthird: hlt\");");
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
