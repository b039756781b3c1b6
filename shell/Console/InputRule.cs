namespace Repl.Shell.Interactive;

/// <summary>What a line typed at the prompt is: a debugger command, C#, or nothing.</summary>
public enum InputKind { Empty, Command, CSharp }

/// <summary>A classified line: its kind and the text to hand on, without the forcing prefix.</summary>
public readonly record struct Input(InputKind Kind, string Text);

/// <summary>
/// The rule that tells debugger commands from C#. It has to be guessable by a user who has never read it: gdb
/// habits (<c>step</c>, <c>x/4gx $rsp</c>, <c>break *0x401000</c>) must stay commands, and C# that happens to
/// start with a command's name (<c>step = 3</c>, <c>next(...)</c>, <c>x.Length</c>) must stay C#. So a command
/// name opens a command unless the very next thing is punctuation that only C# would put there.
/// </summary>
public static class InputRule
{
    public const char ForceCommand = ':', ForceCSharp = '>';

    /// <summary>After a command name, these begin C#: assignment and comparison, a call, member access, indexing,
    /// a statement's end, the conditional and null-forgiving operators. Two-character operators are listed whole
    /// so that <c>x/8gx</c> (gdb's format suffix) stays a command while <c>x /= 8</c> is C#.</summary>
    static readonly string[] CSharpFollowers = ["=", "(", ".", "[", ";", "?", "!", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>="];

    /// <summary>Characters of C#'s binary operators: one standing alone between blanks (<c>n + 1</c>) is arithmetic,
    /// while gdb's arguments put them against their operand (<c>break *0x401000</c>, <c>list -</c>).</summary>
    const string OperatorChars = "+-*/%&|^<>";

    /// <summary>How <c>help</c> explains the rule.</summary>
    public static readonly string Help =
        "A line whose first word is a command name or alias is a command (gdb habits work: x/4gx $rsp, break *0x401000),\n"
        + "unless the word is followed by C# punctuation: = ( . [ ; ? ! or an operator like ++ or +=, or by an operator\n"
        + "standing alone between blanks (n + 1, where n would be next) or written against the name (c*2, n-1; only '/' joins\n"
        + "a format to a command, as in x/4gx). Anything else is C#.\n"
        + $"Force either way with a first character: '{ForceCommand}' makes the line a command (:step), '{ForceCSharp}' makes it C# (>step).\n"
        + "Command names are lower case and matched exactly, so Step() is C#.\n"
        + "C# that is not finished (an open brace, a missing parenthesis) continues at a '...' prompt: two empty lines in a row\n"
        + "end it and the compiler says what it lacks; Ctrl-C drops it.";

    public static Input Classify(string line, Func<string, bool> isCommandName)
    {
        string text = line.Trim();
        if (text.Length == 0)
            return new(InputKind.Empty, "");
        if (text[0] == ForceCommand)
            return Forced(InputKind.Command, text);
        if (text[0] == ForceCSharp)
            return Forced(InputKind.CSharp, text);

        int end = 0;
        while (end < text.Length && (char.IsAsciiLetterOrDigit(text[end]) || text[end] == '_'))
            end++;
        if (end == 0 || !isCommandName(text[..end]))
            return new(InputKind.CSharp, text);
        // An operator against the name (c*2, n+1) is arithmetic: gdb puts a blank between a command and its argument
        // (break *0x401000), and only '/' joins one to its name (x/4gx).
        bool glued = end < text.Length && text[end] != '/' && OperatorChars.Contains(text[end]);
        string rest = text[end..].TrimStart();
        bool csharp = glued || CSharpFollowers.Any(f => rest.StartsWith(f, StringComparison.Ordinal)) || StartsWithLoneOperator(rest);
        return new(csharp ? InputKind.CSharp : InputKind.Command, text);
    }

    static bool StartsWithLoneOperator(string rest)
    {
        int end = 0;
        while (end < rest.Length && OperatorChars.Contains(rest[end]))
            end++;
        return end > 0 && end < rest.Length && char.IsWhiteSpace(rest[end]);
    }

    static Input Forced(InputKind kind, string text)
    {
        string rest = text[1..].Trim();
        return rest.Length == 0 ? new(InputKind.Empty, "") : new(kind, rest);
    }
}
