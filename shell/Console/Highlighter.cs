using System.Text.RegularExpressions;
using RadLine;
using Spectre.Console;

namespace Repl.Shell.Interactive;

/// <summary>
/// Colours as the user types. The line is lexed whole, as the loop will read it (<see cref="InputRule"/>): a command
/// line's first word is the command; C# strings, characters and comments are coloured to their end, so nothing inside
/// them is taken for a keyword or a number; a number is a whole C# numeric literal, so neither the 64 of
/// entry_SYSCALL_64 nor the 4gx of x/4gx is one. RadLine then hands over the line's tokens one at a time, in order;
/// each takes the colour of the place it was found at.
/// </summary>
public sealed partial class Highlighter(IReadOnlyCollection<string> commandNames) : IHighlighter
{
    static readonly Style Command = new(Color.Yellow), Keyword = new(Color.Blue), Number = new(Color.Aqua),
                          String = new(Color.Orange1), Comment = new(Color.Grey);

    /// <summary>The C# keywords (the language reference's reserved list and the contextual ones a script uses).</summary>
    static readonly HashSet<string> Keywords =
    [
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const", "continue",
        "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern", "false", "finally",
        "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface", "internal", "is", "lock",
        "long", "namespace", "new", "null", "object", "operator", "out", "override", "params", "private", "protected",
        "public", "readonly", "ref", "return", "sbyte", "sealed", "short", "sizeof", "stackalloc", "static", "string",
        "struct", "switch", "this", "throw", "true", "try", "typeof", "uint", "ulong", "unchecked", "unsafe", "ushort",
        "using", "virtual", "void", "volatile", "while",
        "async", "await", "dynamic", "nameof", "record", "var", "when", "with", "yield",
    ];

    /// <summary>A C# integer or real literal (the language specification's lexical grammar), with '_' separators.</summary>
    [GeneratedRegex(@"^(0[xX][0-9a-fA-F_]+|0[bB][01_]+|[0-9][0-9_]*(\.[0-9][0-9_]*)?([eE][0-9]+)?)([uU][lL]?|[lL][uU]?|[fFdDmM])?$")]
    private static partial Regex NumericLiteral();

    string line = "";
    Style?[] styles = [];
    /// <summary>Where in the line the next token is looked for.</summary>
    int next;

    /// <summary>The line about to be drawn: called before its tokens are handed over.</summary>
    public void Begin(string text)
    {
        line = text;
        styles = Lex(text, commandNames);
        next = 0;
    }

    public Style? Highlight(string token)
    {
        int at = line.IndexOf(token, next, StringComparison.Ordinal);
        if (at < 0)
            return null;
        next = at + token.Length;
        return styles[at];
    }

    /// <summary>The style of each character of <paramref name="text"/>.</summary>
    public static Style?[] Lex(string text, IReadOnlyCollection<string> commandNames)
    {
        var styles = new Style?[text.Length];
        int i = 0;
        bool csharp = true;
        if (InputRule.Classify(text, commandNames.Contains).Kind == InputKind.Command)
        {
            // The command name: the first word, after blanks and a forcing ':'.
            while (i < text.Length && (char.IsWhiteSpace(text[i]) || text[i] == InputRule.ForceCommand))
                i++;
            int start = i;
            i = WordEnd(text, i);
            Array.Fill(styles, Command, start, i - start);
            csharp = false;
        }
        while (i < text.Length)
        {
            int start = i;
            Style? style = null;
            char c = text[i];
            if (csharp && c == '/' && At(text, i + 1, '/'))
                (i, style) = (text.Length, Comment);
            else if (csharp && c == '/' && At(text, i + 1, '*'))
                (i, style) = (BlockCommentEnd(text, i + 2), Comment);
            else if (c == '"' || (c is '@' or '$') && StringFollows(text, i))
                (i, style) = (StringEnd(text, i), String);
            else if (csharp && c == '\'')
                (i, style) = (QuotedEnd(text, i + 1, '\''), String);
            else if (IsWordChar(c))
            {
                i = WordEnd(text, i);
                // A real number's fraction: 1.5 is one literal.
                if (char.IsAsciiDigit(c) && At(text, i, '.') && i + 1 < text.Length && char.IsAsciiDigit(text[i + 1]))
                    i = WordEnd(text, i + 1);
                string word = text[start..i];
                style = char.IsAsciiDigit(c) ? NumericLiteral().IsMatch(word) ? Number : null
                    : Keywords.Contains(word) && !At(text, start - 1, '.') ? Keyword
                    : null;
            }
            else
                i++;
            Array.Fill(styles, style, start, i - start);
        }
        return styles;
    }

    static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';

    static int WordEnd(string text, int i)
    {
        while (i < text.Length && IsWordChar(text[i]))
            i++;
        return i;
    }

    static bool At(string text, int i, char c) => i >= 0 && i < text.Length && text[i] == c;

    /// <summary>@"...", $"...", $@"..." and @$"...": the prefix belongs to the string.</summary>
    static bool StringFollows(string text, int i)
    {
        while (i < text.Length && text[i] is '@' or '$')
            i++;
        return At(text, i, '"');
    }

    static int BlockCommentEnd(string text, int i)
    {
        int end = text.IndexOf("*/", i, StringComparison.Ordinal);
        return end < 0 ? text.Length : end + 2;
    }

    /// <summary>The end of the string starting at <paramref name="i"/> (its prefix, if any): a raw string ends at as many
    /// quotes as opened it, a verbatim one at a lone quote ("" is a quote inside), a regular one at a quote not escaped
    /// by a backslash. An unterminated string runs to the end of the line, as it is still being typed.</summary>
    static int StringEnd(string text, int i)
    {
        bool verbatim = false;
        for (; text[i] != '"'; i++)
            verbatim |= text[i] == '@';
        int quotes = 0;
        while (At(text, i + quotes, '"'))
            quotes++;
        if (quotes >= 3)
        {
            int end = text.IndexOf(new string('"', quotes), i + quotes, StringComparison.Ordinal);
            return end < 0 ? text.Length : end + quotes;
        }
        if (quotes == 2)
            return i + 2; // ""
        if (!verbatim)
            return QuotedEnd(text, i + 1, '"');
        for (i++; i < text.Length; i++)
        {
            if (text[i] != '"')
                continue;
            if (!At(text, i + 1, '"'))
                return i + 1;
            i++;
        }
        return text.Length;
    }

    /// <summary>After an opening <paramref name="quote"/>: the end of the literal, past its closing quote; a backslash escapes.</summary>
    static int QuotedEnd(string text, int i, char quote)
    {
        for (; i < text.Length; i++)
        {
            if (text[i] == '\\')
                i++;
            else if (text[i] == quote)
                return i + 1;
        }
        return text.Length;
    }
}
