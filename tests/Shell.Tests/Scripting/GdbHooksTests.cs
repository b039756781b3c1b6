using Repl.Shell.Debugging;
using Repl.Shell.Scripting;
using Process = System.Diagnostics.Process;
using ProcessStartInfo = System.Diagnostics.ProcessStartInfo;

namespace Repl.Shell.Tests.Scripting;

/// <summary>Real gdb drives the machine through the shell's gdbserver while the shell's hooks, breakpoints and
/// catchpoints are set: gdb's runs are the debugger's runs too.</summary>
public class GdbHooksTests : IDisposable
{
    readonly Debugger _debugger = Debugger.Create(Commands.Session.BuiltIn);
    readonly ScriptSession _session;

    public GdbHooksTests()
    {
        _session = new ScriptSession(new ScriptGlobals(_debugger));
        // Away from the built-in program; wrmsr writes IA32_KERNEL_GS_BASE (0xc0000102) twice.
        Show("""
            Assemble("start: nop\nsecond: nop\nswapgs\nthird: mov $0xc0000102, %ecx\nxor %eax, %eax\nxor %edx, %edx\n" +
                     "wrmsr\nwrmsr\nfourth: hlt", 0x300000);
            """);
        Show("Cpu.Rip = Sym[\"start\"];");
        Command("gdbserver 127.0.0.1:0");
    }

    public void Dispose() => _debugger.StopServing();

    string Show(string code) => _session.Evaluate(code).Display;

    string Command(string line) => new Commands.Session(_debugger).Run(line);

    ulong Symbol(string name) => _debugger.Program.Addresses[name];

    /// <summary>gdb in batch mode, attached to the shell's gdbserver, with these commands, then detached.</summary>
    Process StartGdb(params string[] commands)
    {
        var start = new ProcessStartInfo("gdb") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "-batch", "-nx", "-ex", "set remotetimeout 30", "-ex", $"target remote {_debugger.Serving}" }
                     .Concat(commands.Append("detach").SelectMany(c => new[] { "-ex", c })))
            start.ArgumentList.Add(a);
        return Process.Start(start)!;
    }

    static string Output(Process gdb)
    {
        var stderr = gdb.StandardError.ReadToEndAsync();
        string stdout = gdb.StandardOutput.ReadToEnd();
        Assert.True(gdb.WaitForExit(60_000), "gdb did not finish");
        return stdout + stderr.Result;
    }

    string Gdb(params string[] commands)
    {
        using var gdb = StartGdb(commands);
        return Output(gdb);
    }

    [GdbFact]
    public void An_instruction_hook_runs_when_gdb_continues_past_it_and_gdbs_run_goes_on()
    {
        Show("int hits = 0; On.Instruction(Sym[\"second\"], () => hits++);");

        string output = Gdb("continue", "p/x $pc");

        Assert.Equal("1", Show("hits"));
        Assert.Contains($"$1 = 0x{Symbol("fourth") + 1:x}", output);
        Assert.Contains("repl: halted", output);
        Assert.DoesNotContain("SIGTRAP", output);
    }

    [GdbFact]
    public void Gdbs_steps_run_the_event_handlers_and_the_hook_of_the_instruction_they_land_on_once()
    {
        Show("int swaps = 0, hits = 0; On.Swapgs += _ => swaps++; On.Instruction(Sym[\"third\"], () => hits++);");

        Gdb("stepi", "stepi");
        Assert.Equal("0", Show("swaps"));
        Gdb("stepi");                                 // the swapgs, landing on third
        Assert.Equal("1", Show("swaps"));
        Assert.Equal("1", Show("hits"));
        Gdb("stepi");                                 // executes third's instruction: no second run for the same arrival
        Assert.Equal("1", Show("hits"));
    }

    [GdbFact]
    public void A_shell_breakpoint_stops_gdbs_continue_when_its_condition_holds_with_the_shells_report_on_gdbs_console()
    {
        Command("break second if Cpu.Rip == 0");
        Command("break fourth if Cpu.Rcx == 0xc0000102");

        string output = Gdb("continue", "p/x $pc");

        Assert.Contains($"repl: Breakpoint 2, 0x{Symbol("fourth"):x} <fourth>", output);
        Assert.Contains("SIGTRAP", output);
        Assert.Contains($"$1 = 0x{Symbol("fourth"):x}", output);
        Assert.Matches(@"\n2 .* if Cpu.Rcx == 0xc0000102 +hit 1 time\n", Command("info breakpoints"));
    }

    [GdbFact]
    public void A_catchpoint_stops_each_of_gdbs_runs_that_raise_its_event()
    {
        Command("catch msr 0xc0000102");

        string output = Gdb("continue", "p/x $pc", "continue", "p/x $pc");

        ulong wrmsr = Symbol("fourth") - 4;
        Assert.Contains($"repl: Catchpoint 1 (msr 0xc0000102 write): [", output);
        Assert.Contains($"$1 = 0x{wrmsr + 2:x}", output);
        Assert.Contains($"$2 = 0x{wrmsr + 4:x}", output);
        Assert.Matches(@"msr 0xc0000102 write +hit 2 times", Command("info breakpoints"));
    }

    [GdbFact]
    public void A_hook_that_throws_in_gdbs_run_stops_it_there_and_gdb_shows_why_and_nothing_is_left_pending()
    {
        Show("On.Instruction(Sym[\"second\"], () =>\n{\n    throw new InvalidOperationException(\"hook broke\");\n});");
        Show("On.Swapgs += s => throw new InvalidOperationException(\"swap broke\");");

        string output = Gdb("continue", "p/x $pc", "continue", "p/x $pc");

        Assert.Contains("repl: a script hook failed: line 3: hook broke", output);
        Assert.Contains($"$1 = 0x{Symbol("second"):x}", output);
        Assert.Contains("repl: a script hook failed: line 1: swap broke", output);
        Assert.Contains($"$2 = 0x{Symbol("third"):x}", output);
        _debugger.StopServing();
        Show("On.Clear();");
        Assert.Contains("Stopped: halted", Command("continue"));
    }

    [GdbFact]
    public void Breakpoints_set_at_the_prompt_while_gdb_is_attached_leave_gdbs_armed_and_gdbs_delete_leaves_the_shells()
    {
        // gdb's at the swapgs and at fourth, the shell's (through monitor) at second and fourth; gdb inserts its own
        // when it resumes, and takes them out again when it stops.
        string output = Gdb("break *0x300002", "break *0x300012", "monitor break second", "monitor break fourth",
                            "continue", "p/x $pc", "continue", "p/x $pc", "delete 2", "continue", "p/x $pc");

        Assert.Contains("repl: Breakpoint 1, 0x300001 <second>", output);
        Assert.Contains("$1 = 0x300001", output);
        Assert.Contains("Breakpoint 1, 0x0000000000300002", output);
        Assert.Contains("$2 = 0x300002", output);
        Assert.Contains("repl: Breakpoint 2, 0x300012 <fourth>", output);
        Assert.Contains("$3 = 0x300012", output);
        _debugger.StopServing();
        Show("Cpu.Rip = Sym[\"start\"];");
        Command("continue");
        Assert.Equal(Symbol("second"), _debugger.Machine.State.Rip);
        Command("continue");
        Assert.Equal(Symbol("fourth"), _debugger.Machine.State.Rip);
    }

    [GdbFact]
    public void Running_the_machine_from_csharp_is_refused_while_gdb_drives_it_from_the_prompt_and_from_a_hook()
    {
        Assert.Contains("running the machine is gdb's to do while gdbserver serves this machine", Show("Continue()"));
        Assert.Contains("replacing the machine is gdb's to do", Show("Reset()"));
        Show("On.Instruction(Sym[\"second\"], () => StepInstruction());");

        string output = Gdb("continue", "p/x $pc");

        Assert.Contains("repl: a script hook failed: line 1: running the machine is gdb's to do", output);
        Assert.Contains($"$1 = 0x{Symbol("second"):x}", output);
    }

    [GdbFact]
    public void Csharp_at_the_prompt_waits_while_a_hook_runs_in_gdbs_run_and_runs_after_it()
    {
        // The hook and the test share these through the process, not through the session (evaluating C# to reach
        // them would itself wait for the hook).
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        AppDomain.CurrentDomain.SetData("GdbHooksTests.entered", entered);
        AppDomain.CurrentDomain.SetData("GdbHooksTests.release", release);
        Show("""
            var order = new List<string>();
            On.Instruction(Sym["second"], () =>
            {
                ((System.Threading.ManualResetEventSlim)AppDomain.CurrentDomain.GetData("GdbHooksTests.entered")!).Set();
                ((System.Threading.ManualResetEventSlim)AppDomain.CurrentDomain.GetData("GdbHooksTests.release")!).Wait();
                order.Add("hook");
            });
            """);
        using var gdb = StartGdb("continue");
        Assert.True(entered.Wait(60_000), "gdb's run did not reach the hook");

        var prompt = Task.Run(() => Show("order.Add(\"prompt\");"));
        Assert.False(prompt.Wait(1000), "C# at the prompt ran while the hook ran");
        release.Set();
        Output(gdb);

        Assert.True(prompt.Wait(60_000));
        Assert.Equal("[\"hook\", \"prompt\"]", Show("order"));
    }
}
