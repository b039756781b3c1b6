using System.Diagnostics;
using System.Xml.Linq;
using Repl.Machine;
using Repl.Shell.Batch;

namespace Repl.Shell.Tests.Batch;

public class BatchRunTests
{
    readonly string _dir = Directory.CreateTempSubdirectory("repl-run-").FullName;
    string Cache => Path.Combine(_dir, "cache");

    string Script(string name, string code)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, code);
        return path;
    }

    (int Status, string Output, string Error) Run(string[] scripts, string? junit = null, string[]? args = null, int jobs = 2,
                                                 bool terminal = false, double timeout = 300, string? image = null,
                                                 Dictionary<string, long>? defines = null)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var options = new RunCommand.RunOptions(scripts, args ?? [], junit, jobs, TimeSpan.FromSeconds(timeout), image, CpuVendor.Intel, Cache)
        {
            Defines = defines ?? [],
        };
        int status = RunCommand.Run(options, output, error, interactive: terminal);
        return (status, output.ToString(), error.ToString());
    }

    const string Passing = "Cpu.Rax = 5;\nExpect(Cpu.Rax == 5, \"rax holds 5\");\n";
    const string Failing = "Cpu.Rax = 5;\n\nExpect(Cpu.Rax == 6, \"rax holds 6\");\n";

    [Fact]
    public void All_passing_scripts_exit_0_with_the_count_last()
    {
        var (status, output, _) = Run([Script("a.csx", Passing), Script("b.csx", Passing)]);
        Assert.Equal(0, status);
        Assert.Equal("2 passed, 0 failed", output.TrimEnd().Split('\n')[^1]);
    }

    [Fact]
    public void A_failing_expect_fails_its_script_with_the_condition_message_and_line_and_the_run_exits_1()
    {
        var (status, output, _) = Run([Script("good.csx", Passing), Script("bad.csx", Failing)]);
        Assert.Equal(1, status);
        Assert.Contains("\nFAIL " + Path.Combine(_dir, "bad.csx"), "\n" + output);
        Assert.Contains("  bad.csx:3: Expect(Cpu.Rax == 6) failed: rax holds 6\n", output);
        Assert.Equal("1 passed, 1 failed", output.TrimEnd().Split('\n')[^1]);
    }

    [Fact]
    public void A_compile_error_fails_the_script_with_line_and_column()
    {
        var (status, output, _) = Run([Script("broken.csx", "var x = 1;\nx.Nope();\n")]);
        Assert.Equal(1, status);
        Assert.Contains("  broken.csx:2:3: error CS1061:", output);
    }

    [Fact]
    public void An_exception_fails_the_script_with_its_message_and_line()
    {
        var (status, output, _) = Run([Script("throws.csx", "BareMachine();\nvar v = Mem.U64[0xdead_0000_0000_0000];\n")]);
        Assert.Equal(1, status);
        Assert.Contains("  throws.csx:2: linear address 0xdead000000000000 cannot be reached", output);
    }

    [Fact]
    public void Each_script_gets_a_fresh_machine()
    {
        string writes = Script("writes.csx", "Expect(Msr.Lstar == 0, \"fresh\");\nMsr.Lstar = 0x1234;\n");
        string again = Script("again.csx", "Expect(Msr.Lstar == 0, \"fresh\");\nMsr.Lstar = 0x1234;\n");
        Assert.Equal(0, Run([writes, again, writes]).Status);
    }

    [Fact]
    public void Scripts_receive_the_arguments()
    {
        string script = Script("args.csx", "Expect(Args.SequenceEqual(new[] { \"one\", \"two\" }), string.Join(\",\", Args));\n");
        Assert.Equal(0, Run([script], args: ["one", "two"]).Status);
        Assert.Equal(1, Run([script], args: ["three"]).Status);
    }

    [Fact]
    public void Junit_xml_has_a_testcase_per_script_and_a_failure_with_the_expect()
    {
        string junit = Path.Combine(_dir, "results.xml");
        Run([Script("good.csx", Passing), Script("bad.csx", Failing)], junit);

        var suite = XDocument.Load(junit).Root!.Element("testsuite")!;
        Assert.Equal("2", suite.Attribute("tests")!.Value);
        Assert.Equal("1", suite.Attribute("failures")!.Value);
        var cases = suite.Elements("testcase").ToList();
        Assert.Equal(["good", "bad"], cases.Select(c => c.Attribute("name")!.Value));
        Assert.Equal(Path.GetFileName(_dir), cases[0].Attribute("classname")!.Value);
        Assert.Null(cases[0].Element("failure"));
        Assert.Equal("bad.csx:3: Expect(Cpu.Rax == 6) failed: rax holds 6", cases[1].Element("failure")!.Attribute("message")!.Value);
        Assert.NotEqual(0xEF, File.ReadAllBytes(junit)[0]); // no byte-order mark
    }

    [Fact]
    public void An_unchanged_script_is_loaded_from_the_cache_and_a_changed_one_compiles_again()
    {
        string script = Script("cached.csx", Passing);
        Assert.DoesNotContain(", cached)", Run([script]).Output);
        Assert.Single(Directory.GetFiles(Cache, "*.dll"));

        Assert.Contains(", cached)", Run([script]).Output);

        File.AppendAllText(script, "Expect(true);\n");
        Assert.DoesNotContain(", cached)", Run([script]).Output);
        Assert.Equal(2, Directory.GetFiles(Cache, "*.dll").Length);
    }

    [Fact]
    public void A_change_in_a_loaded_file_compiles_the_script_again()
    {
        string helper = Script("helper.csx", "ulong Expected() => 5;\n");
        string script = Script("main.csx", "#load \"helper.csx\"\nCpu.Rax = 5;\nExpect(Cpu.Rax == Expected(), \"from the helper\");\n");
        Assert.Equal(0, Run([script]).Status);

        File.WriteAllText(helper, "ulong Expected() => 6;\n");
        var (status, output, _) = Run([script]);
        Assert.Equal(1, status);
        Assert.DoesNotContain(", cached)", output);
        Assert.Contains("main.csx:3: Expect(Cpu.Rax == Expected()) failed: from the helper", output);
    }

    [Fact]
    public void On_a_terminal_a_status_line_counts_the_finished_scripts_and_is_cleared_at_the_end()
    {
        var (_, output, _) = Run([Script("a.csx", Passing), Script("b.csx", Passing)], jobs: 1, terminal: true);
        Assert.Contains("[1/2] running...\r\x1b[KPASS ", output);
        Assert.EndsWith("\r\x1b[K2 passed, 0 failed\n", output);
    }

    [Fact]
    public void A_guest_that_never_stops_is_stopped_at_the_timeout_and_fails_the_script()
    {
        string script = Script("spins.csx", "Assemble(\"spin: jmp spin\", 0x300000);\nCpu.Rip = Sym[\"spin\"];\nvar stop = Continue();\n"
                                            + "Expect(stop.Kind == StopKind.Interrupted, stop.ToString());\n");
        var (status, output, _) = Run([script], timeout: 0.5);
        Assert.Equal(1, status);
        Assert.Contains("  timed out after 0.5 s: the machine was stopped (raise --timeout?)\n", output);
    }

    [Fact]
    public void A_csharp_loop_that_never_ends_is_stopped_at_the_timeout_and_fails_its_script_naming_the_line()
    {
        var (status, output, _) = Run([Script("loops.csx", "var n = 0;\nwhile (true) { n++; }\n"), Script("fine.csx", Passing)], timeout: 0.5);
        Assert.Equal(1, status);
        Assert.Contains("  timed out after 0.5 s: the C# loop at loops.csx:2 was stopped (raise --timeout?)\n", output);
        Assert.EndsWith("1 passed, 1 failed\n", output);
    }

    [Fact]
    public void A_loop_that_runs_the_machine_is_stopped_at_the_timeout_too_and_the_failed_expects_before_it_are_kept()
    {
        var (status, output, _) = Run([Script("steps.csx", "Expect(false, \"first\");\nfor (;;)\n    StepInstruction();\n")], timeout: 0.5);
        Assert.Equal(1, status);
        Assert.Contains("  timed out after 0.5 s: the C# loop at steps.csx:3 was stopped (raise --timeout?)\n", output);
        Assert.Contains("  steps.csx:1: Expect(false) failed: first\n", output);
    }

    [Fact]
    public void A_loop_in_a_loaded_file_is_stopped_at_the_timeout_and_named_by_its_own_line()
    {
        Script("lib.csx", "void Forever()\n{\n    while (true) { }\n}\n");
        var (status, output, _) = Run([Script("uses.csx", "#load \"lib.csx\"\nForever();\n")], timeout: 0.5);
        Assert.Equal(1, status);
        Assert.Contains("  timed out after 0.5 s: the C# loop at lib.csx:3 was stopped (raise --timeout?)\n", output);
    }

    [Fact]
    public void A_compile_error_inside_a_loop_of_a_loaded_file_has_its_column_as_written()
    {
        Script("lib.csx", "void F()\n{\n    while (true) { int x = 1; x.Nope(); }\n}\n");
        var (status, output, _) = Run([Script("uses.csx", "#load \"lib.csx\"\n")]);
        Assert.Equal(1, status);
        Assert.Contains("  lib.csx:3:33: error CS1061:", output);
    }

    [Fact]
    public void A_compile_error_inside_a_loop_has_the_column_of_the_script_as_written()
    {
        var (status, output, _) = Run([Script("broken.csx", "var x = 1;\nwhile (true) { x.Nope(); }\n")]);
        Assert.Equal(1, status);
        Assert.Contains("  broken.csx:2:18: error CS1061:", output);
    }

    [Fact]
    public void CSharp_that_does_not_return_in_time_is_abandoned_at_the_timeout_and_the_run_goes_on()
    {
        var (status, output, _) = Run([Script("sleeps.csx", "System.Threading.Thread.Sleep(60_000);\n"), Script("fine.csx", Passing)], timeout: 0.5);
        Assert.Equal(1, status);
        Assert.Contains("  timed out after 0.5 s in C# that does not return (raise --timeout?)\n", output);
        Assert.EndsWith("1 passed, 1 failed\n", output);
    }

    [Fact]
    public void With_an_image_each_script_gets_its_symbols()
    {
        string source = Script("kernel.S", ".text\n.globl _start\n_start:\n    nop\nentry_SYSCALL_64:\n    hlt\n");
        string script = Script("image.csx", "Expect(Sym[\"entry_SYSCALL_64\"] == Sym[\"_start\"] + 1, \"from the image\");\n"
                                            + "Expect(Continue().Kind == StopKind.Halted && Cpu.Rip == Sym[\"entry_SYSCALL_64\"] + 1);\n");
        Assert.Equal(0, Run([script], image: source).Status);
    }

    [Fact]
    public void Without_an_image_each_script_boots_the_entry_kernel_at_its_first_instruction()
    {
        string script = Script("kernel.csx", "Expect(Cpu.Rip == Sym[\"_start\"] && Cpu.Cr0 % 2 == 1, \"at the multiboot entry, in protected mode\");\n"
                                             + "Until(\"selftest_main\");\nExpect(Cpu.Rip == Sym[\"selftest_main\"] && Cpu.Cpl == 3, \"it boots to user mode\");\n");
        Assert.Equal(0, Run([script]).Status);
    }

    // The per-CPU CR3 values the kernel loads at entry and exit (defs.inc: PER_CPU_KERNEL_CR3, PER_CPU_USER_CR3): the
    // same root without KPTI.
    const string OneRoot = "Until(\"selftest_main\");\nbool oneRoot = Mem.U64[Msr.KernelGsBase + 24] == Mem.U64[Msr.KernelGsBase + 32];\n";

    [Fact]
    public void Define_sets_the_entry_kernels_switches_for_every_script()
    {
        string script = Script("kpti.csx", OneRoot + "Expect(oneRoot, \"KPTI=0: one root\");\n");
        Assert.Equal(1, Run([script]).Status);
        Assert.Equal(0, Run([script], defines: new() { ["KPTI"] = 0 }).Status);
    }

    [Fact]
    public void A_switch_the_kernel_refuses_is_a_usage_error_naming_it()
    {
        var (status, _, error) = Run([Script("a.csx", Passing)], defines: new() { ["KPTI"] = 2 });
        Assert.Equal(2, status);
        Assert.Contains("repl: entry kernel: ", error);
        Assert.Contains("the switch KPTI takes 0 or 1", error);
    }

    [Fact]
    public void A_define_that_names_no_switch_is_a_usage_error_and_so_is_a_boot_with_one_in_a_script()
    {
        var (status, _, error) = Run([Script("a.csx", Passing)], defines: new() { ["KTPI"] = 0 });
        var (scriptStatus, output, _) = Run([Script("boot.csx", "Boot(\"KTPI=0\");\n")]);

        Assert.Equal(2, status);
        Assert.StartsWith("repl: entry kernel: no switch named KTPI; its switches are BENCH_GETPID, ILLUMOS, KPTI, ", error);
        Assert.Equal(1, scriptStatus);
        Assert.Contains("boot.csx:1: entry kernel: no switch named KTPI;", output);
    }

    [Fact]
    public void A_source_image_takes_any_define_as_a_symbol()
    {
        string source = Script("own.S", "_start:\n\tmovq $FOO, %rax\n\thlt\n");
        string script = Script("own.csx", "StepInstruction();\nExpect(Cpu.Rax == 7, \"FOO=7 reached the source\");\n");

        Assert.Equal(0, Run([script], image: source, defines: new() { ["FOO"] = 7 }).Status);
    }

    [Fact]
    public void An_option_run_does_not_know_is_named_as_an_option()
    {
        var (status, _, error) = Run(["--bogus", Script("a.csx", Passing)]);

        Assert.Equal(2, status);
        Assert.StartsWith("repl: no option --bogus (try 'repl run --help')", error);
    }

    [Fact]
    public void Boot_in_a_script_replaces_the_command_lines_switches_by_its_own_and_the_next_Boot_starts_again_from_them()
    {
        string script = Script("boot.csx", "Boot(\"KPTI=1\");\n" + OneRoot + "Expect(!oneRoot, \"Boot(KPTI=1) wins over --define KPTI=0\");\n"
                                           + "Boot(CpuVendor.Amd);\n" + OneRoot.Replace("bool oneRoot", "oneRoot") + "Expect(oneRoot, \"Boot() keeps --define KPTI=0\");\n"
                                           + "Expect(Machine.Cpu.Vendor == CpuVendor.Amd, \"on the profile given\");\n");
        var (status, output, _) = Run([script], defines: new() { ["KPTI"] = 0 });
        Assert.True(status == 0, output);
    }

    [Fact]
    public void Boot_with_a_malformed_switch_fails_the_script_with_a_hint()
    {
        var (status, output, _) = Run([Script("bad.csx", "Boot(\"KPTI\");\n")]);
        Assert.Equal(1, status);
        Assert.Contains("bad.csx:1: Boot(\"KPTI\"): write NAME=VALUE, the value in hex (0x10) or decimal", output);
    }

    [Fact]
    public void BareMachine_gives_the_long_mode_machine_of_the_built_in_program()
    {
        string script = Script("bare.csx", "BareMachine();\nExpect(Cpu.Rip == Sym[\"_start\"] && (Cpu.Efer >> 10 & 1) == 1 && !Sym.Contains(\"entry_SYSCALL_64\"));\n");
        var (status, output, _) = Run([script]);
        Assert.True(status == 0, output);
    }

    [Fact]
    public void A_broken_expectation_in_a_kernel_scenario_fails_it_with_the_expects_message_and_line()
    {
        // scripts/swapgs.csx with one claim made false: before SWAPGS, GS.base would already be the kernel's.
        string scripts = Path.Combine(ScenarioScriptsTests.RepositoryRoot(), "scripts");
        Directory.CreateDirectory(Path.Combine(_dir, "lib"));
        File.Copy(Path.Combine(scripts, "lib", "kernel.csx"), Path.Combine(_dir, "lib", "kernel.csx"));
        const string Claim = "Expect(Cpu.Gs.Base == UserGs, \"at CPL 0, before SWAPGS, GS.base is still the user's\");";
        var lines = File.ReadAllLines(Path.Combine(scripts, "swapgs.csx"));
        int line = Array.IndexOf(lines, Claim) + 1;
        Assert.True(line > 0, "swapgs.csx makes the claim");
        lines[line - 1] = Claim.Replace("Cpu.Gs.Base == UserGs", "Cpu.Gs.Base == perCpu", StringComparison.Ordinal);
        string broken = Path.Combine(_dir, "swapgs.csx");
        File.WriteAllLines(broken, lines);

        var (status, output, _) = Run([broken]);
        Assert.Equal(1, status);
        Assert.Contains($"  swapgs.csx:{line}: Expect(Cpu.Gs.Base == perCpu) failed: at CPL 0, before SWAPGS, GS.base is still the user's\n", output);
        Assert.Single(output.Split('\n'), l => l.Contains("failed:", StringComparison.Ordinal));
    }

    [Fact]
    public void An_image_that_does_not_load_is_a_usage_error()
    {
        var (status, _, error) = Run([Script("a.csx", Passing)], image: Path.Combine(_dir, "missing.elf"));
        Assert.Equal(2, status);
        Assert.StartsWith("repl: cannot load ", error);
    }

    [Fact]
    public void Zero_jobs_is_a_usage_error()
    {
        var (status, _, error) = Run([Script("a.csx", Passing)], jobs: 0);
        Assert.Equal(2, status);
        Assert.Equal("repl: --jobs 0: give at least 1\n", error);
    }

    [Fact]
    public void A_missing_script_is_a_usage_error()
    {
        var (status, _, error) = Run([Path.Combine(_dir, "nowhere.csx")]);
        Assert.Equal(2, status);
        Assert.StartsWith("repl: no script ", error);
    }

    [Fact]
    public void The_command_line_passes_what_follows_the_double_dash_to_the_scripts()
    {
        string script = Script("args.csx", "Expect(Args.SequenceEqual(new[] { \"x\", \"y\" }), string.Join(\",\", Args));\n");
        var (status, output) = RunProcess(script, "--jobs", "1", "--", "x", "y");
        Assert.Equal("1 passed, 0 failed", output.TrimEnd().Split('\n')[^1]);
        Assert.Equal(0, status);
    }

    /// <summary>repl run as its own process: what only the real command line or the process's end can show.</summary>
    (int Status, string Output) RunProcess(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["XDG_CACHE_HOME"] = Cache;
        foreach (string a in new[] { Path.Combine(AppContext.BaseDirectory, "repl.dll"), "run" }.Concat(args))
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        _ = error.Result;
        return (process.ExitCode, output);
    }

    [Fact]
    public void Empty_and_comment_only_scripts_pass_with_nothing_to_check_beside_the_others()
    {
        string junit = Path.Combine(_dir, "results.xml");
        var (status, output, _) = Run([Script("empty.csx", ""), Script("comments.csx", "// nothing yet\nusing System.Text;\n"),
                                       Script("good.csx", Passing)], junit);
        Assert.Equal(0, status);
        Assert.Equal("3 passed, 0 failed", output.TrimEnd().Split('\n')[^1]);
        Assert.Equal(3, XDocument.Load(junit).Descendants("testcase").Count());
    }

    [Fact]
    public void Junit_names_scripts_whose_only_common_directory_is_the_root_by_their_whole_path()
    {
        var report = JUnitReport.Build([new("/srv/a/one.csx", [], "", "", TimeSpan.Zero, false),
                                        new("/home/b/two.csx", [], "", "", TimeSpan.Zero, false)]);

        Assert.Equal(["srv/a/one", "home/b/two"], report.Descendants("testcase").Select(c => c.Attribute("name")!.Value));
    }

    [Fact]
    public void Junit_holds_characters_xml_cannot_as_escapes_and_names_scripts_by_their_path_from_the_runs_common_directory()
    {
        string junit = Path.Combine(_dir, "results.xml");
        Directory.CreateDirectory(Path.Combine(_dir, "d2"));
        Run([Script("fail.csx", "Expect(false, \"bad\\u0001char\");\n"), Script("d2/fail.csx", Failing)], junit);

        var cases = XDocument.Load(junit).Descendants("testcase").ToList();
        Assert.Equal(["fail", "d2/fail"], cases.Select(c => c.Attribute("name")!.Value));
        Assert.Equal("fail.csx:1: Expect(false) failed: bad\\u0001char", cases[0].Element("failure")!.Attribute("message")!.Value);
    }

    [Fact]
    public void What_scripts_running_together_write_to_the_console_shows_under_each_and_in_its_system_out()
    {
        string junit = Path.Combine(_dir, "results.xml");
        string Writer(string name) => Script(name + ".csx", $"for (int i = 0; i < 200; i++) {{ Console.WriteLine(\"{name} \" + i); }}\n"
                                                           + $"Print(\"{name} done\");\n");
        var (status, output, _) = Run([Writer("a"), Writer("b")], junit);

        Assert.Equal(0, status);
        string[] lines = output.Split('\n');
        int a = Array.FindIndex(lines, l => l.StartsWith("PASS ", StringComparison.Ordinal) && l.Contains("a.csx", StringComparison.Ordinal));
        Assert.Equal([.. Enumerable.Range(0, 200).Select(i => $"  | a {i}"), "  | a done"], lines[(a + 1)..(a + 202)]);
        var systemOut = XDocument.Load(junit).Descendants("testcase").Select(c => c.Element("system-out")!.Value).ToList();
        Assert.Equal(string.Concat(Enumerable.Range(0, 200).Select(i => $"b {i}\n")) + "b done\n", systemOut[1]);
    }

    [Fact]
    public void A_script_that_calls_Environment_Exit_ends_the_run_with_its_status_and_what_finished_is_still_reported()
    {
        string junit = Path.Combine(_dir, "results.xml");
        var (status, output) = RunProcess(Script("good.csx", Passing), Script("exits.csx", "Console.WriteLine(\"leaving\");\nEnvironment.Exit(3);\n"),
                                          "--jobs", "1", "--junit", junit);

        Assert.Equal(3, status);
        Assert.Contains("\n  ended the process with Environment.Exit(3), which ends every script: the run stopped here\n  | leaving\n", output);
        Assert.EndsWith("1 passed, 1 failed\n", output);
        var cases = XDocument.Load(junit).Descendants("testcase").ToList();
        Assert.Equal(["good", "exits"], cases.Select(c => c.Attribute("name")!.Value));
        Assert.NotNull(cases[1].Element("failure"));
    }
}
