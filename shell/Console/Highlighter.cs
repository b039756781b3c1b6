using RadLine;
using Spectre.Console;

namespace Repl.Shell.Interactive;

/// <summary>
/// Colours as the user types. The editor hands over one token at a time (a run of letters and digits, or one
/// other character) without its place in the line, so colour follows the word alone: command names, C# keywords,
/// numbers. A command name that is also a keyword (break, continue) is coloured as the command it
/// mostly is at this prompt. One-letter command names (x, p, s...) are left plain, as they are too common inside C#.
/// </summary>
public sealed class Highlighter(IReadOnlyCollection<string> commandNames) : IHighlighter
{
    static readonly Style Command = new(Color.Yellow), Keyword = new(Color.Blue), Number = new(Color.Aqua);

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

    public Style? Highlight(string token) =>
        token.Length > 1 && commandNames.Contains(token) ? Command
        : Keywords.Contains(token) ? Keyword
        : token.Length > 0 && char.IsAsciiDigit(token[0]) ? Number
        : null;
}
