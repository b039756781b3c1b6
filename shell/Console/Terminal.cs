using Spectre.Console;

namespace Repl.Shell.Interactive;

/// <summary>
/// Puts the loop on the process's console: a line editor when both ends are a terminal, plain lines otherwise
/// (a pipe, a file, a test harness), and Ctrl-C, as a signal, to a running command.
/// </summary>
public static class Terminal
{
    /// <summary>True when no colour was asked for, by --no-color or by a non-empty NO_COLOR (no-color.org).</summary>
    public static bool NoColor(bool option) => option || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));

    /// <summary>Spectre's colour detection turns colour off for any NO_COLOR, even an empty one, which no-color.org says
    /// asks for nothing; so an empty NO_COLOR is taken out of repl's environment before Spectre looks (repl starts no
    /// other process that could miss it).</summary>
    static IAnsiConsole CreateConsole(bool noColor)
    {
        if (!noColor && Environment.GetEnvironmentVariable("NO_COLOR") is "")
            Environment.SetEnvironmentVariable("NO_COLOR", null);
        return AnsiConsole.Create(new AnsiConsoleSettings
        {
            ColorSystem = noColor ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Ansi = AnsiSupport.Yes,
            Interactive = InteractionSupport.Yes,
        });
    }

    /// <param name="output">Where the guest's output goes; it waits while the line editor reads.</param>
    public static int Run(ICommandRunner commands, ICodeRunner code, string banner, bool noColor, ConsoleOutput? output = null)
    {
        ILineReader reader;
        // Escape codes go only to a terminal: with either end redirected the output must be results alone.
        bool plain = Console.IsInputRedirected || Console.IsOutputRedirected;
        if (plain)
            reader = new PlainReader(Console.In);
        else
        {
            var console = CreateConsole(noColor);
            // .NET takes the terminal out of echo mode when input is first polled; doing that before the banner keeps
            // keys typed ahead of the first prompt from being echoed raw (^[OA for Up) into the screen.
            _ = Console.KeyAvailable;
            Console.Write(banner);
            reader = new TerminalReader(console, new HistoryFile(HistoryFile.DefaultPath()), new Completer(commands, code),
                                        noColor ? null : new Highlighter(commands.Names), output);
        }
        StartupTrace.Mark("terminal ready");
        // Piped, errors go to stderr and make the exit status 1, as with gdb -batch -x, though every line still runs
        // (as gdb reading its stdin does): what a script or a pipe reads on stdout is results alone, and a failure
        // is not lost. On a terminal they show in order with the rest, on stdout.
        var session = new Session(commands, code, reader, Console.Out, plain ? Console.Error : Console.Out);
        // Ctrl-C stops what runs. With nothing running, a terminal gets it as a key (TerminalReader), but one may
        // still slip in between a line and its command starting, and must not end the shell; piped input waiting
        // for more is ended by it, as cat is.
        ConsoleCancelEventHandler onCtrlC = (_, e) => e.Cancel = session.Interrupt() || !plain;
        Console.CancelKeyPress += onCtrlC;
        try
        {
            session.Run();
        }
        finally
        {
            Console.CancelKeyPress -= onCtrlC;
        }
        return plain && session.Failed ? 1 : 0;
    }
}
