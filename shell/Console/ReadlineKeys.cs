using RadLine;
using Spectre.Console;
using Spectre.Console.Advanced;

namespace Repl.Shell.Interactive;

/// <summary>
/// The keys gdb's users have in their fingers, from GNU readline's emacs mode (its manual, "Commands For Moving",
/// "Killing And Yanking"), where RadLine binds none: Ctrl-A/E line start and end, Ctrl-B/F and Alt-B/F by character
/// and by word, Ctrl-P/N history, Ctrl-K/U/W and Alt-D kill, Ctrl-Y yanks the last kill back, Ctrl-L clears the screen.
/// </summary>
public static class ReadlineKeys
{
    public static void Bind(LineEditor editor, IAnsiConsole console)
    {
        var keys = editor.KeyBindings;
        var killed = new KillRing();
        keys.Add<MoveHomeCommand>(ConsoleKey.A, ConsoleModifiers.Control);
        keys.Add<MoveEndCommand>(ConsoleKey.E, ConsoleModifiers.Control);
        keys.Add<MoveLeftCommand>(ConsoleKey.B, ConsoleModifiers.Control);
        keys.Add<MoveRightCommand>(ConsoleKey.F, ConsoleModifiers.Control);
        keys.Add<PreviousHistoryCommand>(ConsoleKey.P, ConsoleModifiers.Control);
        keys.Add<NextHistoryCommand>(ConsoleKey.N, ConsoleModifiers.Control);
        keys.Add(ConsoleKey.B, ConsoleModifiers.Alt, () => new Move(b => WordStartBefore(b.Content, b.Position)));
        keys.Add(ConsoleKey.F, ConsoleModifiers.Alt, () => new Move(b => WordEndAfter(b.Content, b.Position)));
        keys.Add(ConsoleKey.K, ConsoleModifiers.Control, () => new Kill(killed, b => b.Length));
        keys.Add(ConsoleKey.U, ConsoleModifiers.Control, () => new Kill(killed, _ => 0));
        keys.Add(ConsoleKey.W, ConsoleModifiers.Control, () => new Kill(killed, b => BlankWordStartBefore(b.Content, b.Position)));
        keys.Add(ConsoleKey.D, ConsoleModifiers.Alt, () => new Kill(killed, b => WordEndAfter(b.Content, b.Position)));
        keys.Add(ConsoleKey.Y, ConsoleModifiers.Control, () => new Yank(killed));
        keys.Add(ConsoleKey.L, ConsoleModifiers.Control, () => new ClearScreen(console));
    }

    /// <summary>Alt-B: back to the start of the word before the cursor; readline's words are letters and digits.</summary>
    public static int WordStartBefore(string text, int position)
    {
        while (position > 0 && !char.IsLetterOrDigit(text[position - 1]))
            position--;
        while (position > 0 && char.IsLetterOrDigit(text[position - 1]))
            position--;
        return position;
    }

    /// <summary>Alt-F and Alt-D: on to the end of the word after the cursor.</summary>
    public static int WordEndAfter(string text, int position)
    {
        while (position < text.Length && !char.IsLetterOrDigit(text[position]))
            position++;
        while (position < text.Length && char.IsLetterOrDigit(text[position]))
            position++;
        return position;
    }

    /// <summary>Ctrl-W (unix-word-rubout): back to the previous blank, so that <c>x/4gx $rsp</c> loses <c>$rsp</c> whole.</summary>
    public static int BlankWordStartBefore(string text, int position)
    {
        while (position > 0 && char.IsWhiteSpace(text[position - 1]))
            position--;
        while (position > 0 && !char.IsWhiteSpace(text[position - 1]))
            position--;
        return position;
    }

    /// <summary>What the last kill removed, for Ctrl-Y (readline keeps a ring; one slot is the habit people use).</summary>
    sealed class KillRing
    {
        public string Text { get; set; } = "";
    }

    sealed class Move(Func<LineBuffer, int> to) : LineEditorCommand
    {
        public override void Execute(LineEditorContext context) => context.Buffer.Move(to(context.Buffer));
    }

    /// <summary>Removes the text between the cursor and where <paramref name="to"/> says, on either side of it.</summary>
    sealed class Kill(KillRing ring, Func<LineBuffer, int> to) : LineEditorCommand
    {
        public override void Execute(LineEditorContext context)
        {
            var buffer = context.Buffer;
            int target = to(buffer), from = Math.Min(buffer.Position, target), end = Math.Max(buffer.Position, target);
            if (end == from)
                return;
            ring.Text = buffer.Content[from..end];
            buffer.Clear(from, end - from);
            buffer.Move(from);
        }
    }

    sealed class Yank(KillRing ring) : LineEditorCommand
    {
        public override void Execute(LineEditorContext context)
        {
            context.Buffer.Insert(ring.Text);
            context.Buffer.Move(context.Buffer.Position + ring.Text.Length);
        }
    }

    /// <summary>Ctrl-L: the screen is cleared with the cursor left at its top, where the editor then draws the line again.</summary>
    sealed class ClearScreen(IAnsiConsole console) : LineEditorCommand
    {
        public override void Execute(LineEditorContext context) => console.WriteAnsi("\u001b[H\u001b[2J");
    }
}

/// <summary>
/// The terminal's keys as RadLine should see them. A terminal sends Alt-B as Escape then 'b', which .NET reports as
/// 'b' with the Alt modifier when both bytes arrive together, and as Escape, then 'b', when they do not (a loaded
/// machine splits them). RadLine inserts any printable character before it looks at bindings, so either way Alt-B
/// would type a 'b'. Here Escape is a prefix, as in readline's emacs keymap (Escape then f is Alt-F however slowly
/// typed), and an Alt key loses its character, so that it goes to the bindings.
/// </summary>
public sealed class AltKeysAsBindings : IInputSource
{
    public bool ByPassProcessing => false;

    public bool IsKeyAvailable() => Console.KeyAvailable;

    public ConsoleKeyInfo ReadKey()
    {
        var key = Console.ReadKey(intercept: true);
        if (key is { Key: ConsoleKey.Escape, Modifiers: 0 })
        {
            var next = Console.ReadKey(intercept: true);
            return char.IsLetterOrDigit(next.KeyChar) ? Alt(next) : next;
        }
        return (key.Modifiers & ConsoleModifiers.Alt) == 0 ? key : Alt(key);
    }

    static ConsoleKeyInfo Alt(ConsoleKeyInfo key) =>
        new('\0', key.Key, (key.Modifiers & ConsoleModifiers.Shift) != 0, alt: true, (key.Modifiers & ConsoleModifiers.Control) != 0);
}
