using Spectre.Console;

namespace Repl.Shell.Interactive;

/// <summary>
/// Puts the loop on the process's console: a line editor when both ends are a terminal, plain lines otherwise
/// (a pipe, a file, a test harness), and Ctrl-C routed to whichever of the two is busy.
/// </summary>
public static class Terminal
{
    /// <summary>True when no colour was asked for, by --no-color or by a non-empty NO_COLOR (no-color.org).</summary>
    public static bool NoColor(bool option) => option || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));

    public static int Run(ICommandRunner commands, ICodeRunner code, string banner, bool noColor)
    {
        ILineReader reader;
        // Escape codes go only to a terminal: with either end redirected the output must be results alone.
        if (Console.IsInputRedirected || Console.IsOutputRedirected)
            reader = new PlainReader(Console.In);
        else
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                ColorSystem = noColor ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
                Ansi = AnsiSupport.Yes,
                Interactive = InteractionSupport.Yes,
            });
            // .NET takes the terminal out of echo mode when input is first polled; doing that before the banner keeps
            // keys typed ahead of the first prompt from being echoed raw (^[OA for Up) into the screen.
            _ = Console.KeyAvailable;
            Console.Write(banner);
            reader = new TerminalReader(console, new HistoryFile(HistoryFile.DefaultPath()), new Completer(commands, code),
                                        noColor ? null : new Highlighter(commands.Names));
        }
        var session = new Session(commands, code, reader, Console.Out, Console.Error);
        ConsoleCancelEventHandler onCtrlC = (_, e) => e.Cancel = session.Interrupt() || reader.Interrupt();
        Console.CancelKeyPress += onCtrlC;
        try
        {
            session.Run();
        }
        finally
        {
            Console.CancelKeyPress -= onCtrlC;
        }
        return 0;
    }
}
