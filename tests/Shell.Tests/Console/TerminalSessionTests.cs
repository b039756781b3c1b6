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

/// <summary>The line editor's habits on a real pseudo-terminal: completion by argument, readline's keys, colours.</summary>
[Collection("repl processes")]
public class LineEditorTests
{
    static string DataHome() => Directory.CreateTempSubdirectory("repl-data-").FullName;

    static bool AtPrompt(string screen) => Tmux.LastLine(screen).EndsWith('>');

    static Tmux Started(Dictionary<string, string>? environment = null)
    {
        var tmux = new Tmux(new Dictionary<string, string>(environment ?? []) { ["XDG_DATA_HOME"] = DataHome() });
        tmux.WaitFor(AtPrompt, "the first prompt");
        return tmux;
    }

    static void WaitForLine(Tmux tmux, string line) =>
        tmux.WaitFor(s => Tmux.LastLine(s).EndsWith("> " + line, StringComparison.Ordinal), $"the line '{line}'");

    [TmuxFact]
    public void Tab_completes_what_the_command_takes_there()
    {
        using var tmux = Started();
        (string Typed, string Completed)[] cases =
            [("regs se", "regs seg"), ("catch sys", "catch syscall"), ("msr ls", "msr lstar"), ("trace of", "trace off"), ("On.Sys", "On.Syscall")];
        foreach (var (typed, completed) in cases)
        {
            tmux.Type(typed);
            tmux.Press("Tab");
            WaitForLine(tmux, completed);
            tmux.Press("C-u");
            tmux.WaitFor(AtPrompt, "the emptied line");
        }
    }

    [TmuxFact]
    public void Readline_keys_move_and_kill_as_in_gdb()
    {
        using var tmux = Started();
        tmux.Type("ste");
        tmux.Press("C-u");
        tmux.Type("info ");
        WaitForLine(tmux, "info");

        tmux.Press("C-a");
        tmux.Type("x");
        tmux.Press("C-e");
        tmux.Type("y");
        WaitForLine(tmux, "xinfo y");
        tmux.Press("M-b");
        tmux.Press("M-b");
        tmux.Press("M-f");
        tmux.Type("-");
        WaitForLine(tmux, "xinfo- y");
        tmux.Press("C-k");
        WaitForLine(tmux, "xinfo-");
        tmux.Type(" x/4gx $rsp");
        tmux.Press("C-w");
        WaitForLine(tmux, "xinfo- x/4gx");
        tmux.Press("C-y");
        WaitForLine(tmux, "xinfo- x/4gx $rsp");

        tmux.Press("C-l");
        tmux.WaitFor(s => s.Split('\n')[0].TrimEnd().EndsWith("> xinfo- x/4gx $rsp", StringComparison.Ordinal), "the line alone at the top of a cleared screen");
    }

    /// <summary>The escape sequence that starts a colour, or resets it.</summary>
    const string Escape = "\u001b[";

    [TmuxFact]
    public void Colour_follows_the_line_as_lexed_identifiers_strings_and_comments_whole()
    {
        using var tmux = Started();
        tmux.Type("break entry_SYSCALL_64");
        WaitForLine(tmux, "break entry_SYSCALL_64");
        Assert.Contains("entry_SYSCALL_64", LastColouredLine(tmux)); // no colour starts inside the identifier
        Assert.Contains(Escape, LastColouredLine(tmux)); // the command itself is coloured

        tmux.Press("C-u");
        tmux.Type("x/4gx $rsp");
        WaitForLine(tmux, "x/4gx $rsp");
        Assert.Contains("/4gx $rsp", LastColouredLine(tmux)); // 4gx is no number

        tmux.Press("C-u");
        tmux.Type("Print(\"a\") // a note");
        WaitForLine(tmux, "Print(\"a\") // a note");
        string csharp = LastColouredLine(tmux);
        Assert.Matches("\u001b\\[[0-9;]*m\"a\"", csharp);
        // The comment's colour is on each of its words (RadLine leaves blanks uncoloured).
        var comment = System.Text.RegularExpressions.Regex.Match(csharp, "(\u001b\\[[0-9;]*m)//");
        Assert.True(comment.Success, csharp);
        Assert.Contains(comment.Groups[1].Value + "a" + Escape, csharp);
        Assert.Contains(comment.Groups[1].Value + "note", csharp);
    }

    static string LastColouredLine(Tmux tmux) => Tmux.LastLine(tmux.ColouredScreen());

    [TmuxFact]
    public void An_empty_no_color_keeps_colour_and_a_set_one_drops_it()
    {
        using (var empty = Started(new() { ["NO_COLOR"] = "" }))
        {
            empty.Type("break");
            WaitForLine(empty, "break");
            Assert.Contains(Escape, LastColouredLine(empty));
        }
        using var set = Started(new() { ["NO_COLOR"] = "1" });
        set.Type("break");
        WaitForLine(set, "break");
        Assert.DoesNotContain(Escape, LastColouredLine(set));
    }

    [TmuxFact]
    public void Two_empty_lines_end_an_unfinished_submission_with_the_compilers_word_on_it()
    {
        using var tmux = Started();
        tmux.Type("if (Cpu.Rax != 0) {");
        tmux.Press("Enter");
        tmux.WaitFor(s => Tmux.LastLine(s).EndsWith("...", StringComparison.Ordinal), "the continuation prompt");
        tmux.Press("Enter");
        tmux.WaitFor("another empty line compiles it");
        tmux.Press("Enter");

        tmux.WaitFor(s => AtPrompt(s) && s.Contains("error CS"), "the compiler's errors and the prompt");
    }
}
