using Repl.Machine.Tests.Boot;

namespace Repl.Shell.Tests.Interactive;

/// <summary>The interactive shell on a real pseudo-terminal: what a user types and what the screen then shows.</summary>
// One collection for the tests that start repl processes: they run one after another, so that they do not
// crowd the machine for the suite's other, timed, tests.
[Collection("repl processes")]
public class TerminalSessionTests
{
    static string DataHome() => Directory.CreateTempSubdirectory("repl-data-").FullName;

    /// <summary>The prompt ends every idle screen: the machine's place, then '>'.</summary>
    static bool AtPrompt(string screen) => Tmux.LastLine(screen).EndsWith('>');

    [TmuxFact]
    public void The_banner_says_how_to_begin_and_a_command_answers_under_the_prompt()
    {
        using var tmux = new Tmux(DataHome());
        string banner = tmux.WaitFor(AtPrompt, "the first prompt");
        Assert.Contains("break entry_SYSCALL_64", banner);

        tmux.Type("help");
        tmux.Press("Enter");

        tmux.WaitFor("Commands or C#?");
        tmux.WaitFor(AtPrompt, "the prompt after help");
    }

    [TmuxFact]
    public void Csharp_is_evaluated_and_its_value_shown()
    {
        using var tmux = new Tmux(DataHome());
        tmux.WaitFor(AtPrompt, "the first prompt");

        tmux.Type("6 * 7");
        tmux.Press("Enter");

        tmux.WaitFor("42");
    }

    [TmuxFact]
    public void Tab_completes_a_command_name()
    {
        using var tmux = new Tmux(DataHome());
        tmux.WaitFor(AtPrompt, "the first prompt");

        tmux.Type("contin");
        tmux.Press("Tab");

        tmux.WaitFor(s => Tmux.LastLine(s).EndsWith("> continue", StringComparison.Ordinal), "'contin' completed to 'continue'");
    }

    [TmuxFact]
    public void Up_recalls_a_line_from_the_previous_session_and_ctrl_d_leaves()
    {
        string dataHome = DataHome();
        using (var first = new Tmux(dataHome))
        {
            first.WaitFor(AtPrompt, "the first prompt");
            first.Type("int remembered = 1; remembered"); // no trailing semicolon: tmux would take it for its own command separator
            first.Press("Enter");
            first.WaitFor(s => AtPrompt(s) && s.Contains("remembered"), "the prompt after the declaration");
            first.Press("C-d");
            first.WaitFor("[repl exited 0]");
        }

        using var second = new Tmux(dataHome);
        second.WaitFor(AtPrompt, "the first prompt");
        second.Press("Up");

        second.WaitFor(s => Tmux.LastLine(s).EndsWith("> int remembered = 1; remembered", StringComparison.Ordinal), "the recalled line");
    }

    [TmuxFact]
    public void Ctrl_c_ends_repl_gdb_and_removes_the_files_it_wrote_for_gdb()
    {
        string temporary = Directory.CreateTempSubdirectory("repl-tmp-").FullName;
        try
        {
            using var tmux = new Tmux(new Dictionary<string, string> { ["XDG_DATA_HOME"] = DataHome(), ["TMPDIR"] = temporary }, "gdb", "--listen", "127.0.0.1:0");
            tmux.WaitFor("listening on");
            Assert.Single(Directory.GetDirectories(temporary, "repl-gdb-*"));

            tmux.Press("C-c");

            tmux.WaitFor("[repl exited 0]");
            Assert.Empty(Directory.GetDirectories(temporary, "repl-gdb-*"));
        }
        finally
        {
            Directory.Delete(temporary, recursive: true);
        }
    }

    [TmuxFact]
    public void Ctrl_c_at_the_prompt_abandons_the_line()
    {
        using var tmux = new Tmux(DataHome());
        tmux.WaitFor(AtPrompt, "the first prompt");

        tmux.Type("this is abandoned");
        tmux.Press("C-c");
        tmux.WaitFor(AtPrompt, "a fresh prompt");
        tmux.Type("6 * 7");
        tmux.Press("Enter");

        tmux.WaitFor("42");
        Assert.DoesNotContain("abandoned6", tmux.Screen());
    }

    [TmuxFact]
    public void An_unfinished_statement_continues_on_the_next_line()
    {
        using var tmux = new Tmux(DataHome());
        tmux.WaitFor(AtPrompt, "the first prompt");

        tmux.Type("int Twice(int n) {");
        tmux.Press("Enter");
        tmux.WaitFor(s => Tmux.LastLine(s).EndsWith("...", StringComparison.Ordinal), "the continuation prompt");
        tmux.Type("return 2 * n; }");
        tmux.Press("Enter");
        tmux.WaitFor(AtPrompt, "the prompt after the function");
        tmux.Type("Twice(21)");
        tmux.Press("Enter");

        tmux.WaitFor("42");
    }

    [TmuxFact]
    public void Tab_completes_a_member_of_the_csharp_globals()
    {
        using var tmux = new Tmux(DataHome());
        tmux.WaitFor(AtPrompt, "the first prompt");

        tmux.Type("Cpu.Rfl");
        tmux.Press("Tab");

        tmux.WaitFor(s => Tmux.LastLine(s).EndsWith("> Cpu.Rflags", StringComparison.Ordinal), "'Cpu.Rfl' completed to 'Cpu.Rflags'");
    }

    /// <summary>The screen cannot tell when the editor has taken the Enter and the run has begun: a Ctrl-C before that
    /// is a key the next prompt gets, so Ctrl-C is pressed until the prompt is back after <paramref name="text"/>. At
    /// the prompt it only clears the line.</summary>
    static void PressCtrlCUntil(Tmux tmux, string text, string what) =>
        tmux.WaitFor(s =>
        {
            if (AtPrompt(s) && s.Contains(text, StringComparison.Ordinal))
                return true;
            tmux.Press("C-c");
            Thread.Sleep(200);
            return false;
        }, what);

    [TmuxFact]
    public void Ctrl_c_stops_a_running_continue_and_the_prompt_comes_back()
    {
        // A multiboot image that jumps to itself: continue never ends on its own.
        string image = Path.Combine(Directory.CreateTempSubdirectory("repl-image-").FullName, "spin.bin");
        File.WriteAllBytes(image, TestImages.Kludge([0xEB, 0xFE]));
        using var tmux = new Tmux(DataHome(), "--image", image);
        tmux.WaitFor(AtPrompt, "the first prompt");

        tmux.Type("continue");
        tmux.Press("Enter");
        PressCtrlCUntil(tmux, "interrupted", "the prompt after the interrupted run");
        tmux.Type("6 * 7");
        tmux.Press("Enter");
        tmux.WaitFor("0x2a (42)");
    }

    [TmuxFact]
    public void Ctrl_c_stops_csharp_that_never_returns_and_the_session_keeps_its_variables()
    {
        // An image that halts, so that the continue at the end stops on its own.
        using var tmux = new Tmux(DataHome(), "--image", SerialImage());
        tmux.WaitFor(AtPrompt, "the first prompt");
        tmux.Type("int kept = 6; kept"); // no trailing semicolon: tmux would take it for its own command separator
        tmux.Press("Enter");
        tmux.WaitFor(s => AtPrompt(s) && s.Split('\n').Any(l => l.Trim() == "6"), "the prompt after the declaration");

        tmux.Type("while (true) { }");
        tmux.Press("Enter");
        PressCtrlCUntil(tmux, "interrupted (Ctrl-C)", "the prompt after the interrupted loop");
        tmux.Type("kept * 7");
        tmux.Press("Enter");
        tmux.WaitFor("0x2a (42)");
        // The Ctrl-C that stopped C# is not left over for the machine's next run.
        tmux.Type("continue");
        tmux.Press("Enter");
        tmux.WaitFor("Stopped: halted");
    }

    /// <summary>A .S image that prints a line, then text with an escape sequence and no newline, to COM1, and halts.</summary>
    internal static string SerialImage()
    {
        string image = Path.Combine(Directory.CreateTempSubdirectory("repl-image-").FullName, "hello.S");
        File.WriteAllText(image, """
                .globl _start
            _start:
                lea msg(%rip), %rsi
                mov $0x3f8, %dx
            1:  lodsb
                test %al, %al
                jz 2f
                outb %al, %dx
                jmp 1b
            2:  hlt
            msg: .asciz "hello from the guest\n\033[2Jno newline"
            """);
        return image;
    }

    [TmuxFact]
    public void Guest_serial_output_shows_during_continue_on_lines_of_its_own_before_the_report_and_the_prompt()
    {
        using var tmux = new Tmux(DataHome(), "--image", SerialImage());
        tmux.WaitFor(AtPrompt, "the first prompt");

        tmux.Type("continue");
        tmux.Press("Enter");

        string screen = tmux.WaitFor(s => AtPrompt(s) && s.Contains("Stopped: halted"), "the report after the guest's output");
        var lines = screen.Split('\n').Select(l => l.TrimEnd()).ToList();
        int hello = lines.IndexOf("hello from the guest");
        Assert.True(hello >= 0, screen);
        // The escape sequence shows as text (the screen was not cleared), and the unfinished line is ended before the report.
        Assert.Equal("^[[2Jno newline", lines[hello + 1]);
        Assert.StartsWith("Stopped: halted", lines[hello + 2]);
    }

    [TmuxFact]
    public void An_empty_line_repeats_stepi()
    {
        using var tmux = new Tmux(DataHome(), "--image", SerialImage());
        tmux.WaitFor(AtPrompt, "the first prompt");

        tmux.Type("stepi");
        tmux.Press("Enter");
        tmux.WaitFor(s => AtPrompt(s) && s.Contains("_start+"), "the prompt after stepi");
        string afterOne = Tmux.LastLine(tmux.Screen());
        tmux.Press("Enter");

        tmux.WaitFor(s => AtPrompt(s) && Tmux.LastLine(s) != afterOne, "a prompt further on after the empty line");
    }
}
