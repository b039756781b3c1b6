using System.Text;

namespace Repl.Shell.Interactive;

/// <summary>
/// The shell's standard output, shared by command output, C# output and the guest's serial port (COM1), so that the
/// three appear in the order they happen. Guest bytes are UTF-8 text; control characters other than tab, CR and LF
/// show in caret notation (ESC as ^[), so that a guest cannot move the cursor or recolour the terminal under the line
/// editor. A guest line left unfinished is ended before anything else is written, so that a report or the prompt
/// starts at the left margin; and while the line editor reads a line (when gdb runs the machine, the guest may print
/// then), guest output waits until the line is entered rather than landing inside it.
/// </summary>
public sealed class ConsoleOutput(TextWriter inner) : TextWriter
{
    readonly Decoder _utf8 = Encoding.UTF8.GetDecoder();
    readonly StringBuilder _held = new();
    readonly Lock _lock = new();
    readonly char[] _decoded = new char[2];
    bool _guestMidLine, _holding;

    /// <summary>Makes a ConsoleOutput over the process's standard output the process's <see cref="Console.Out"/>.</summary>
    public static ConsoleOutput Install()
    {
        var output = new ConsoleOutput(Console.Out);
        Console.SetOut(output);
        return output;
    }

    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value)
    {
        lock (_lock)
        {
            EndGuestLine();
            inner.Write(value);
        }
    }

    public override void Write(string? value)
    {
        lock (_lock)
        {
            EndGuestLine();
            inner.Write(value);
        }
    }

    public override void Write(char[] buffer, int index, int count)
    {
        lock (_lock)
        {
            EndGuestLine();
            inner.Write(buffer, index, count);
        }
    }

    public override void Flush() => inner.Flush();

    /// <summary>A byte the guest sent to COM1; called on whichever thread runs the machine.</summary>
    public void WriteGuest(byte value)
    {
        lock (_lock)
        {
            int count = _utf8.GetChars([value], _decoded, flush: false);
            for (int i = 0; i < count; i++)
            {
                char c = _decoded[i];
                string text = c is '\t' or '\r' or '\n' || !char.IsControl(c) ? c.ToString()
                    : c == '\x7f' ? "^?" : c < ' ' ? "^" + (char)(c + '@') : $"\\u{(int)c:x4}";
                if (_holding)
                {
                    _held.Append(text);
                    continue;
                }
                inner.Write(text);
                _guestMidLine = c != '\n';
            }
        }
    }

    /// <summary>While the line editor reads: the prompt starts on a line of its own, and guest output waits.</summary>
    public void Hold()
    {
        lock (_lock)
        {
            EndGuestLine();
            inner.Flush();
            _holding = true;
        }
    }

    /// <summary>The line was entered: guest output that waited is written, and later output goes straight out.</summary>
    public void Release()
    {
        lock (_lock)
        {
            _holding = false;
            if (_held.Length == 0)
                return;
            inner.Write(_held.ToString());
            _guestMidLine = _held[^1] != '\n';
            _held.Clear();
        }
    }

    void EndGuestLine()
    {
        if (!_guestMidLine)
            return;
        _guestMidLine = false;
        inner.Write('\n');
    }
}
