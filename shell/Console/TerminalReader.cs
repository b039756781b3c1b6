using RadLine;
using Spectre.Console;

namespace Repl.Shell.Interactive;

/// <summary>
/// Lines from a terminal, through RadLine: editing, persistent history, completion and highlighting. RadLine's
/// defaults are adapted to a shell's habits: Up and Down walk the history (its default moves between the lines of a
/// multi-line buffer, which this shell does not use: an unfinished C# submission continues at a fresh prompt
/// instead, so every line is recalled on its own), Ctrl-C abandons the line, Ctrl-D on an empty line ends input.
/// While a line is read, Ctrl-C is a key rather than a signal, so that it takes its turn behind the keys typed
/// before it: a signal would overtake them, and abandon a line whose Enter was already typed.
/// </summary>
public sealed class TerminalReader : ILineReader
{
    /// <summary>The prompt before a line that continues an unfinished C# submission.</summary>
    public const string Continuation = "...";

    readonly LineEditor editor;
    readonly MutablePrompt prompt;
    readonly HistoryFile history;
    readonly ConsoleOutput? output;
    bool endOfInput;

    /// <param name="output">Held while a line is read, so that guest output does not land inside it.</param>
    public TerminalReader(IAnsiConsole console, HistoryFile history, ITextCompletion completion, Highlighter? highlighter, ConsoleOutput? output = null)
    {
        prompt = new MutablePrompt(highlighter);
        this.history = history;
        this.output = output;
        editor = new LineEditor(console, new AltKeysAsBindings()) { Prompt = prompt, Completion = completion, Highlighter = highlighter };
        ReadlineKeys.Bind(editor, console);
        editor.KeyBindings.Add<PreviousHistoryCommand>(ConsoleKey.UpArrow);
        editor.KeyBindings.Add<NextHistoryCommand>(ConsoleKey.DownArrow);
        // A line feed ends the line too (readline's Ctrl-J), which .NET reports as Ctrl+Enter. Keys typed before the
        // terminal left canonical mode come this way: the terminal turned their Enter (CR) into LF.
        editor.KeyBindings.Add<SubmitCommand>(ConsoleKey.Enter, ConsoleModifiers.Control);
        editor.KeyBindings.Add(ConsoleKey.C, ConsoleModifiers.Control, () => new AbandonLine());
        editor.KeyBindings.Add(ConsoleKey.D, ConsoleModifiers.Control, () => new EndOfInput(this));
        foreach (string line in history.Load())
            editor.History.Add(line);
    }

    public LineRead Read(string? promptText)
    {
        prompt.Text = promptText is null ? $"[grey]{Continuation}[/]" : $"[green]{Markup.Escape(promptText)}>[/]";
        endOfInput = false;
        string? line;
        Console.TreatControlCAsInput = true;
        output?.Hold();
        try
        {
            line = editor.ReadLine(CancellationToken.None).GetAwaiter().GetResult();
        }
        finally
        {
            output?.Release();
            // Between lines Ctrl-C is the signal again, which stops a running machine.
            Console.TreatControlCAsInput = false;
        }
        if (line is null)
            return new(endOfInput ? ReadOutcome.End : ReadOutcome.Cleared);
        history.Append(line);
        return new(ReadOutcome.Line, line);
    }

    /// <summary>
    /// A prompt that changes between reads (RadLine takes its prompt once, at construction). RadLine asks for it just
    /// before it draws the line, which makes it the place to give the highlighter the whole line: RadLine's highlighter
    /// interface sees one token at a time, too little to tell a string, a comment or an identifier's digits. RadLine
    /// 0.6.0 keeps the line in a public Buffer property of its internal state class, read here by reflection; without
    /// it the line is drawn without colour (a pty test watches for that).
    /// </summary>
    sealed class MutablePrompt(Highlighter? highlighter) : ILineEditorPrompt
    {
        public string Text { get; set; } = "";

        public (Markup Markup, int Margin) GetPrompt(ILineEditorState state, int line)
        {
            if (highlighter is not null && state.GetType().GetProperty("Buffer")?.GetValue(state) is LineBuffer buffer)
                highlighter.Begin(buffer.Content);
            return (new Markup(Text), 1);
        }
    }

    /// <summary>Ctrl-C: the line is dropped, as a shell does.</summary>
    sealed class AbandonLine : LineEditorCommand
    {
        public override void Execute(LineEditorContext context) => context.Submit(SubmitAction.Cancel);
    }

    /// <summary>Ctrl-D: the end of input on an empty line, otherwise delete the character under the cursor (readline's way).</summary>
    sealed class EndOfInput(TerminalReader reader) : LineEditorCommand
    {
        public override void Execute(LineEditorContext context)
        {
            if (context.Buffer.Length != 0)
            {
                context.Execute(new DeleteCommand());
                return;
            }
            reader.endOfInput = true;
            context.Submit(SubmitAction.Cancel);
        }
    }
}
