namespace Repl.Machine.Asm;

/// <summary>
/// Reads one statement's text left to right: the lexical rules every part of the assembler shares (symbol
/// names, numbers, strings, character constants), and the position of each token for diagnostics.
/// </summary>
internal sealed class Cursor(string text, SourceLocation start)
{
    public string Text { get; } = text;
    public int Position { get; set; }

    /// <summary>Where the statement begins; columns of later tokens are offsets from it.</summary>
    public SourceLocation Start { get; } = start;

    public bool AtEnd { get { SkipSpace(); return Position >= Text.Length; } }
    public char Peek => Position < Text.Length ? Text[Position] : '\0';
    public char PeekAt(int ahead) => Position + ahead < Text.Length ? Text[Position + ahead] : '\0';
    public string Rest => Text[Position..];

    /// <summary>The location of the character at <paramref name="position"/> (default: the current one).</summary>
    public SourceLocation At(int? position = null) => Start with { Column = Start.Column + (position ?? Position) };

    public void SkipSpace()
    {
        while (Position < Text.Length && (Text[Position] == ' ' || Text[Position] == '\t' || Text[Position] == '\f' || Text[Position] == '\v' || Text[Position] == '\r'))
            Position++;
    }

    /// <summary>Skips blanks, then consumes <paramref name="c"/> if it is next.</summary>
    public bool Accept(char c)
    {
        SkipSpace();
        if (Peek != c)
            return false;
        Position++;
        return true;
    }

    public bool Accept(string s)
    {
        SkipSpace();
        if (string.CompareOrdinal(Text, Position, s, 0, s.Length) != 0)
            return false;
        Position += s.Length;
        return true;
    }

    /// <summary>GNU as symbol characters: letters, digits, '_', '.', '$' (a name may not start with a digit or '$').</summary>
    public static bool IsSymbolStart(char c) => char.IsAsciiLetter(c) || c == '_' || c == '.';
    public static bool IsSymbolPart(char c) => char.IsAsciiLetterOrDigit(c) || c == '_' || c == '.' || c == '$';

    /// <summary>Reads a symbol name (or a quoted "symbol name"), or returns null and consumes nothing.</summary>
    public string? Identifier()
    {
        SkipSpace();
        int start = Position;
        if (Peek == '"' && Text.IndexOf('"', Position + 1) is var close && close > Position)
        {
            Position = close + 1;
            return Text[(start + 1)..close];
        }
        if (!IsSymbolStart(Peek))
            return null;
        while (Position < Text.Length && IsSymbolPart(Text[Position]))
            Position++;
        return Text[start..Position];
    }

    /// <summary>The rest of the statement up to the next top-level comma (outside strings and brackets), trimmed.</summary>
    public string Argument()
    {
        SkipSpace();
        int start = Position, depth = 0;
        for (; Position < Text.Length; Position++)
        {
            char c = Text[Position];
            if (c == '"')
                Position = SkipString(Text, Position) - 1;
            else if (c == '(' || c == '[')
                depth++;
            else if (c == ')' || c == ']')
                depth--;
            else if (c == ',' && depth <= 0)
                break;
        }
        return Text[start..Position].Trim();
    }

    /// <summary>The index just past the string literal that opens at <paramref name="quote"/>.</summary>
    public static int SkipString(string text, int quote)
    {
        int i = quote + 1;
        while (i < text.Length && text[i] != '"')
            i += text[i] == '\\' ? 2 : 1;
        return Math.Min(i + 1, text.Length);
    }

    /// <summary>
    /// Reads a string literal with GNU as's escapes (\n \t \b \f \r \\ \" \ooo octal \xhh hex), or returns null
    /// with <paramref name="error"/> set.
    /// </summary>
    public byte[]? StringLiteral(out string? error)
    {
        error = null;
        SkipSpace();
        if (Peek != '"')
        {
            error = "expected a string in double quotes";
            return null;
        }
        var bytes = new List<byte>();
        Position++;
        while (true)
        {
            if (Position >= Text.Length)
            {
                error = "unterminated string";
                return null;
            }
            char c = Text[Position++];
            if (c == '"')
                return bytes.ToArray();
            if (c != '\\')
            {
                foreach (byte b in System.Text.Encoding.UTF8.GetBytes(c.ToString()))
                    bytes.Add(b);
                continue;
            }
            bytes.Add(Escape());
        }
    }

    /// <summary>The byte an escape stands for; the cursor is just past the backslash.</summary>
    public byte Escape()
    {
        char e = Position < Text.Length ? Text[Position++] : '\\';
        switch (e)
        {
            case 'n': return (byte)'\n';
            case 't': return (byte)'\t';
            case 'b': return (byte)'\b';
            case 'f': return (byte)'\f';
            case 'r': return (byte)'\r';
            case 'x' or 'X':
            {
                int value = 0;
                while (Position < Text.Length && char.IsAsciiHexDigit(Text[Position]))
                    value = value * 16 + Convert.ToInt32(Text[Position++].ToString(), 16);
                return (byte)value;
            }
            case >= '0' and <= '7':
            {
                int value = e - '0';
                for (int n = 0; n < 2 && Position < Text.Length && Text[Position] is >= '0' and <= '7'; n++)
                    value = value * 8 + (Text[Position++] - '0');
                return (byte)value;
            }
            default: return (byte)e;
        }
    }
}
