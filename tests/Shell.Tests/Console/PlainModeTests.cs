using System.Diagnostics;

namespace Repl.Shell.Tests.Interactive;

/// <summary>repl with no subcommand and stdin a pipe, as a script or another program feeds it: results only.</summary>
// One collection for the tests that start repl processes: they run one after another, so that they do not
// crowd the machine for the suite's other, timed, tests.
[Collection("repl processes")]
public class PlainModeTests
{
    static (string Stdout, string Stderr, int Status) Repl(string stdin, params string[] args) => Repl(new Dictionary<string, string>(), stdin, args);

    static (string Stdout, string Stderr, int Status) Repl(Dictionary<string, string> environment, string stdin, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in environment)
            start.Environment[name] = value;
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "repl.dll"));
        foreach (var a in args)
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (stdout, stderr.Result, process.ExitCode);
    }

    [Fact]
    public void Piped_lines_give_their_results_and_nothing_else()
    {
        var (stdout, stderr, status) = Repl("6 * 7\nint n = 5;\n\nn + 1\n");

        Assert.Equal("0x2a (42)\n6\n", stdout);
        Assert.Equal("", stderr);
        Assert.Equal(0, status);
    }

    [Fact]
    public void Guest_serial_output_comes_in_order_with_command_output_its_unfinished_line_ended()
    {
        var (stdout, _, status) = Repl("continue\nx/2xb msg\n", "--image", TerminalSessionTests.SerialImage());

        Assert.StartsWith("hello from the guest\n^[[2Jno newline\nStopped: halted at 0x", stdout);
        Assert.EndsWith(" <msg>:  0x68  0x65\n", stdout);
        Assert.Equal(0, status);
    }

    [Fact]
    public void An_unfinished_guest_line_printed_last_is_not_lost_at_the_end_of_input()
    {
        var (stdout, _, _) = Repl("Continue();\n", "--image", TerminalSessionTests.SerialImage());

        Assert.Equal("hello from the guest\n^[[2Jno newline", stdout);
    }

    [Fact]
    public void The_end_of_input_stops_gdbserver_and_removes_the_files_it_wrote_for_gdb()
    {
        string temporary = Directory.CreateTempSubdirectory("repl-plain-").FullName;
        try
        {
            var (stdout, _, status) = Repl(new Dictionary<string, string> { ["TMPDIR"] = temporary },
                                           "gdbserver 127.0.0.1:0\nSystem.IO.Directory.GetDirectories(System.IO.Path.GetTempPath(), \"repl-gdb-*\").Length\n");

            Assert.StartsWith("gdbserver listening on 127.0.0.1:", stdout);
            Assert.EndsWith("\n1\n", stdout); // while it served
            Assert.Equal(0, status);
            Assert.Empty(Directory.GetDirectories(temporary, "repl-gdb-*"));
        }
        finally
        {
            Directory.Delete(temporary, recursive: true);
        }
    }

    [Fact]
    public void Help_explains_how_commands_and_csharp_are_told_apart_without_escape_codes()
    {
        var (stdout, _, status) = Repl("help\n");

        Assert.Contains("Commands or C#?", stdout);
        Assert.DoesNotContain('\u001b', stdout);
        Assert.Equal(0, status);
    }

    [Fact]
    public void An_unfinished_statement_takes_the_following_lines()
    {
        var (stdout, _, _) = Repl("int Twice(int n)\n{\n    return 2 * n;\n}\nTwice(21)\n");

        Assert.Equal("0x2a (42)\n", stdout);
    }

    [Fact]
    public void Mistakes_in_csharp_and_in_commands_go_to_stderr_the_session_goes_on_and_the_exit_status_is_1()
    {
        var (stdout, stderr, status) = Repl("undefinedName\nbreak nowhere_at_all\nthrow new System.Exception(\"boom\");\n6 * 7\n");

        Assert.Equal("0x2a (42)\n", stdout);
        string[] errors = stderr.TrimEnd('\n').Split('\n');
        Assert.Equal(3, errors.Length);
        Assert.Contains("undefinedName", errors[0]);
        Assert.Contains("nowhere_at_all", errors[1]);
        Assert.Contains("boom", errors[2]);
        Assert.Equal(1, status);
    }

    [Fact]
    public void A_failed_expect_goes_to_stderr_and_makes_the_exit_status_1()
    {
        var (stdout, stderr, status) = Repl("Expect(1 + 1 == 3, \"arithmetic\")\n");

        Assert.Equal("false\n", stdout);
        Assert.Equal("line 1: Expect(1 + 1 == 3) failed: arithmetic\n", stderr);
        Assert.Equal(1, status);
    }

    [Fact]
    public void The_forcing_prefixes_reach_csharp_and_the_debugger()
    {
        // 'x' alone would be gdb's examine command; '>' makes it the C# variable.
        var (stdout, _, _) = Repl("var x = 7;\n>x\n");

        Assert.Equal("7\n", stdout);
    }

    [Fact]
    public void Quit_ends_the_session_before_the_lines_after_it()
    {
        var (stdout, _, status) = Repl("quit\n6 * 7\n");

        Assert.Equal("", stdout);
        Assert.Equal(0, status);
    }

    [Fact]
    public void An_image_that_cannot_be_read_is_one_line_and_exit_code_2()
    {
        var (stdout, stderr, status) = Repl("", "--image", "/nonexistent/kernel.elf");

        Assert.Equal("", stdout);
        Assert.StartsWith("repl: ", stderr);
        Assert.Contains("/nonexistent/kernel.elf", stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.Equal(2, status);
    }

    [Fact]
    public void A_switch_the_entry_kernel_refuses_is_one_line_whose_hint_is_the_define_values_not_the_image()
    {
        var (stdout, stderr, status) = Repl("", "--define", "KPTI=2");

        Assert.Equal("", stdout);
        Assert.Equal("repl: entry kernel: defs.inc:23:2: the switch KPTI takes 0 or 1 (check the --define values)\n", stderr);
        Assert.Equal(2, status);
    }

    [Fact]
    public void Print_evaluates_csharp_with_gdbs_register_names_and_formats()
    {
        var (stdout, _, _) = Repl("set rax=0x41\np $rax\np/x $eax + 1\np/c $al\np Cpu.Rax * 2\np\nvar c = 3;\nc*2\n");

        Assert.Equal("$1 = 0x41 (65)\n$2 = 0x42\n$3 = 65 'A'\n$4 = 0x82 (130)\n$5 = 0x82 (130)\n6\n", stdout.Replace("rax = 0x41\n", ""));
    }

    [Fact]
    public void Help_for_repl_itself_describes_the_interactive_shell_and_its_options()
    {
        var (stdout, _, status) = Repl("", "--help");

        Assert.Contains("interactive shell", stdout);
        foreach (string option in new[] { "--image", "--cpu", "--define", "--no-color" })
            Assert.Contains(option, stdout);
        Assert.Contains("Example: repl --image kernel.elf --cpu amd", stdout);
        Assert.Equal(0, status);
    }
}
