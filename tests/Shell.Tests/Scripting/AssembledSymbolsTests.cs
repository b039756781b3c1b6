using Repl.Shell.Debugging;
using Repl.Shell.Interactive;
using Repl.Shell.Scripting;

namespace Repl.Shell.Tests.Scripting;

/// <summary>Code assembled into the machine after it loaded, by C#'s Assemble or the asm command, brings its labels
/// to everything that names addresses: locations, disas, info symbol, x, the prompt and Tab completion.</summary>
public class AssembledSymbolsTests
{
    readonly Debugger _debugger = Debugger.Create(Tests.Commands.Session.BuiltIn);
    readonly ScriptSession _session;

    public AssembledSymbolsTests()
    {
        _session = new ScriptSession(new ScriptGlobals(_debugger));
        // Away from the built-in program (at 0x100000), whose symbols would otherwise be the nearest below.
        _session.Evaluate("Assemble(\"probe: nop\\nprobe_swap: swapgs\\nprobe_end: hlt\", 0x300000);");
    }

    string Command(string line) => new Tests.Commands.Session(_debugger).Run(line);

    [Fact]
    public void Info_symbol_names_an_address_inside_assembled_code_by_its_label()
    {
        Assert.Equal("probe_swap + 2 at 0x300001\n", Command("info symbol 0x300003"));
    }

    [Fact]
    public void Disas_and_x_show_the_labels_of_assembled_code()
    {
        string listing = Command("disas probe 3");
        Assert.Contains("0x300001 <probe_swap>:", listing);
        Assert.Contains("0x300004 <probe_end>:", listing);
        Assert.StartsWith("0x300001 <probe_swap>:", Command("x/1xb probe_swap"));
    }

    [Fact]
    public void A_breakpoint_on_an_assembled_label_typed_as_a_command_stops_there_and_the_prompt_names_it()
    {
        _session.Evaluate("Cpu.Rip = Sym[\"probe\"];");
        Command("break probe_end");
        Assert.StartsWith("Breakpoint 1, 0x300004 <probe_end>", Command("continue"));
        Assert.Equal("[long cpl0 probe_end]", _debugger.Prompt);
    }

    [Fact]
    public void Tab_completion_offers_assembled_labels()
    {
        var commands = new DebuggerCommandRunner(Task.FromResult(_debugger));
        Assert.Contains("probe_swap", commands.Arguments("break", "probe_"));
    }

    [Fact]
    public void Labels_of_the_asm_command_are_symbols_too_and_win_over_the_programs_at_the_same_address()
    {
        Command("asm 0x300010 \"patched: nop; later: ret\"");
        Assert.Equal("later at 0x300011\n", Command("info symbol later"));
        ulong sum = _debugger.Program.Addresses["sum"];
        Command($"asm 0x{sum:x} \"my_sum: movl $42, %eax; ret\"");
        Assert.StartsWith($"my_sum at 0x{sum:x}", Command($"info symbol 0x{sum:x}"));
        Assert.Equal("true", _session.Evaluate("Sym[\"my_sum\"] == Sym[\"sum\"]").Display);
    }

    [Fact]
    public void Reset_brings_back_the_programs_symbols_alone()
    {
        Command("reset");
        Assert.StartsWith("error: no symbol 'probe'", Command("break probe"));
        Assert.DoesNotContain("probe", new DebuggerCommandRunner(Task.FromResult(_debugger)).Arguments("break", "pro"));
    }
}
