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
public sealed class ConsoleOutput : TextWriter
{
    /// <summary>How long a guest line without its newline may wait before it is shown as far as it goes.</summary>
    static readonly TimeSpan PartialLineDelay = TimeSpan.FromMilliseconds(100);

    /// <summary>Guest text waiting for its line to end; a line at a time goes out, not a write per byte.</summary>
    const int MaxPending = 4096;

    readonly TextWriter _inner;
    readonly Decoder _utf8 = Encoding.UTF8.GetDecoder();
    readonly StringBuilder _pending = new(), _held = new();
    readonly Lock _lock = new();
    readonly byte[] _byte = new byte[1];
    readonly char[] _decoded = new char[2];
    readonly Timer _partialLines;
    bool _guestMidLine, _holding;

    public ConsoleOutput(TextWriter inner)
    {
        _inner = inner;
        _partialLines = new Timer(_ => ShowPartialLine(), null, PartialLineDelay, PartialLineDelay);
    }

    /// <summary>Makes a ConsoleOutput over the process's standard output the process's <see cref="Console.Out"/>.</summary>
    public static ConsoleOutput Install()
    {
        var output = new ConsoleOutput(Console.Out);
        Console.SetOut(output);
        return output;
    }

    public override Encoding Encoding => _inner.Encoding;

    public override void Write(char value)
    {
        lock (_lock)
        {
            EndGuestLine();
            _inner.Write(value);
        }
    }

    public override void Write(string? value)
    {
        lock (_lock)
        {
            EndGuestLine();
            _inner.Write(value);
        }
    }

    public override void Write(char[] buffer, int index, int count)
    {
        lock (_lock)
        {
            EndGuestLine();
            _inner.Write(buffer, index, count);
        }
    }

    /// <summary>Writes out what the guest sent so far, finished line or not, and flushes.</summary>
    public override void Flush()
    {
        lock (_lock)
        {
            WritePending();
            _inner.Flush();
        }
    }

    /// <summary>A byte the guest sent to COM1; called on whichever thread runs the machine.</summary>
    public void WriteGuest(byte value)
    {
        lock (_lock)
        {
            _byte[0] = value;
            int count = _utf8.GetChars(_byte, 0, 1, _decoded, 0, flush: false);
            for (int i = 0; i < count; i++)
            {
                char c = _decoded[i];
                var into = _holding ? _held : _pending;
                if (c is '\t' or '\r' or '\n' || !char.IsControl(c))
                    into.Append(c);
                else
                    into.Append(c == '\x7f' ? "^?" : c < ' ' ? "^" + (char)(c + '@') : $"\\u{(int)c:x4}");
                if (!_holding && (c == '\n' || _pending.Length >= MaxPending))
                    WritePending();
            }
        }
    }

    /// <summary>While the line editor reads: the prompt starts on a line of its own, and guest output waits.</summary>
    public void Hold()
    {
        lock (_lock)
        {
            EndGuestLine();
            _inner.Flush();
            _holding = true;
        }
    }

    /// <summary>The line was entered: guest output that waited is written, and later output goes straight out.</summary>
    public void Release()
    {
        lock (_lock)
        {
            _holding = false;
            _pending.Append(_held);
            _held.Clear();
            WritePending();
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _partialLines.Dispose();
        base.Dispose(disposing);
    }

    /// <summary>A guest that prints a prompt and waits shows it: a line left unfinished goes out after a moment.</summary>
    void ShowPartialLine()
    {
        lock (_lock)
        {
            if (!_holding)
                WritePending();
        }
    }

    void WritePending()
    {
        if (_pending.Length == 0)
            return;
        _inner.Write(_pending.ToString());
        _guestMidLine = _pending[^1] != '\n';
        _pending.Clear();
    }

    /// <summary>Before anything that is not the guest's: what the guest wrote goes first, and its unfinished line is ended.</summary>
    void EndGuestLine()
    {
        WritePending();
        if (!_guestMidLine)
            return;
        _guestMidLine = false;
        _inner.Write('\n');
    }
}
