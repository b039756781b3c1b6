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
                                                 bool terminal = false, double timeout = 300, string? image = null)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int status = RunCommand.Run(new RunCommand.RunOptions(scripts, args ?? [], junit, jobs, TimeSpan.FromSeconds(timeout), image, CpuVendor.Intel, Cache),
                                    output, error, interactive: terminal);
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
        var (status, output, _) = Run([Script("throws.csx", "var a = 1;\nvar v = Mem.U64[0xdead_0000_0000_0000];\n")]);
        Assert.Equal(1, status);
        Assert.Contains("  throws.csx:2: linear address 0xdead000000000000 is not mapped", output);
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
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["XDG_CACHE_HOME"] = Cache;
        foreach (string a in new[] { Path.Combine(AppContext.BaseDirectory, "repl.dll"), "run", script, "--jobs", "1", "--", "x", "y" })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.Equal("1 passed, 0 failed", output.TrimEnd().Split('\n')[^1]);
        Assert.Equal(0, process.ExitCode);
    }
}
