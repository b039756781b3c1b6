namespace Repl.Shell.Interactive;

/// <summary>How a read ended: a line, a line the user abandoned with Ctrl-C, or the end of input (Ctrl-D, end of file).</summary>
public enum ReadOutcome { Line, Cleared, End }

public readonly record struct LineRead(ReadOutcome Outcome, string Text = "");

/// <summary>Where the loop's lines come from: a line editor on a terminal, or plain lines from a pipe or file.</summary>
public interface ILineReader
{
    /// <summary>Reads one line; <paramref name="prompt"/> is null when the line continues an unfinished C# submission.</summary>
    LineRead Read(string? prompt);

    /// <summary>Whether a person types the lines: only they can be stuck in an unfinished submission, and only for
    /// them do two empty lines end it (a script's blank lines belong to its code).</summary>
    bool Typed => true;
}

/// <summary>Stdin that is not a terminal: plain lines, no prompt, no escape codes, so that output is only results.</summary>
public sealed class PlainReader(TextReader input) : ILineReader
{
    public LineRead Read(string? prompt) => input.ReadLine() is { } line ? new(ReadOutcome.Line, line) : new(ReadOutcome.End);

    public bool Typed => false;
}
