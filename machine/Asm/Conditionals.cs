namespace Repl.Machine.Asm;

/// <summary>.if and its family: which statements the assembler proper gets to see.</summary>
internal sealed partial class Preprocessor
{
    /// <summary>One open .if: whether the text around it is assembled, whether its current branch is, and whether a branch already was.</summary>
    sealed class OpenConditional(Statement opener, bool parentActive, bool active)
    {
        public Statement Opener { get; } = opener;
        public bool ParentActive { get; } = parentActive;
        public bool Active { get; set; } = active;
        public bool Taken { get; set; } = active;
        public Statement? Else { get; set; }
    }

    readonly List<OpenConditional> conditionals = [];

    /// <summary>False inside a branch that .if, .else or .elseif turned off.</summary>
    bool Active => conditionals.Count == 0 || conditionals[^1].Active;

    static bool IsConditional(string word) => word.StartsWith(".if", StringComparison.Ordinal)
        ? word is ".if" or ".ifeq" or ".ifne" or ".ifge" or ".ifgt" or ".ifle" or ".iflt" or ".ifdef" or ".ifndef" or ".ifnotdef"
            or ".ifb" or ".ifnb" or ".ifc" or ".ifnc" or ".ifeqs" or ".ifnes"
        : word is ".else" or ".elseif" or ".endif";

    /// <summary>Handles a conditional directive; in a region turned off, only its nesting counts.</summary>
    void Conditional(Statement statement, string word, Cursor cursor, int wordAt)
    {
        switch (word)
        {
            case ".else":
                if (Innermost(statement, wordAt, "\".else\" without matching \".if\"") is not { } open)
                    return;
                if (open.Else is not null)
                {
                    diagnostics.Error(statement, wordAt, "duplicate \".else\"");
                    return;
                }
                open.Else = statement;
                open.Active = open.ParentActive && !open.Taken;
                open.Taken = true;
                return;
            case ".elseif":
                if (Innermost(statement, wordAt, "\".elseif\" without matching \".if\"") is not { } chained)
                    return;
                if (chained.Else is not null)
                {
                    diagnostics.Error(statement, wordAt, "\".elseif\" after \".else\"");
                    return;
                }
                chained.Active = chained.ParentActive && !chained.Taken && Absolute(statement, cursor, IfError, out long value) && value != 0;
                chained.Taken |= chained.Active;
                return;
            case ".endif":
                if (Innermost(statement, wordAt, "\".endif\" without \".if\"") is not null)
                    conditionals.RemoveAt(conditionals.Count - 1);
                return;
        }
        bool parentActive = Active;
        // In a region turned off nothing is evaluated: its expressions may well be meaningless there.
        bool taken = parentActive && Test(statement, word, cursor, wordAt);
        conditionals.Add(new OpenConditional(statement, parentActive, taken));
    }

    OpenConditional? Innermost(Statement statement, int wordAt, string unmatched)
    {
        if (conditionals.Count > CurrentExpansionConditionals)
            return conditionals[^1];
        diagnostics.Error(statement, wordAt, unmatched);
        return null;
    }

    const string IfError = "non-constant expression in \".if\" statement";

    /// <summary>Whether the .if-family directive's condition holds.</summary>
    bool Test(Statement statement, string word, Cursor cursor, int wordAt)
    {
        switch (word)
        {
            case ".ifdef" or ".ifndef" or ".ifnotdef":
            {
                if (cursor.Identifier() is not { } name)
                {
                    diagnostics.Error(statement, cursor.Position, $"invalid identifier for \"{word}\"");
                    return false;
                }
                return host.IsDefined(name) == (word == ".ifdef");
            }
            case ".ifb" or ".ifnb":
                return cursor.AtEnd == (word == ".ifb");
            case ".ifc" or ".ifnc":
            {
                // Two strings, up to and after the first comma, compared as GNU as sees them: blanks squeezed, quotes kept.
                string rest = cursor.Rest;
                int comma = rest.IndexOf(',');
                if (comma < 0)
                {
                    diagnostics.Error(statement, wordAt, "bad format for ifc or ifnc");
                    return false;
                }
                bool same = MacroWords.Squeeze(rest[..comma]) == MacroWords.Squeeze(rest[(comma + 1)..]);
                return same == (word == ".ifc");
            }
            case ".ifeqs" or ".ifnes":
            {
                var first = cursor.StringLiteral(out _);
                var second = first is not null && cursor.Accept(',') ? cursor.StringLiteral(out _) : null;
                if (second is null)
                {
                    diagnostics.Error(statement, cursor.Position, "missing string");
                    return false;
                }
                return first!.AsSpan().SequenceEqual(second) == (word == ".ifeqs");
            }
        }
        if (!Absolute(statement, cursor, IfError, out long value))
            return false;
        return word switch
        {
            ".if" or ".ifne" => value != 0,
            ".ifeq" => value == 0,
            ".ifge" => value >= 0,
            ".ifgt" => value > 0,
            ".ifle" => value <= 0,
            ".iflt" => value < 0,
            _ => throw new InvalidOperationException($"{word} at {statement.At(wordAt)} is not a conditional"),
        };
    }

    /// <summary>
    /// Reads the rest of the statement as an expression whose value must be known now and absolute; otherwise
    /// reports <paramref name="notConstant"/> (or the syntax error) and returns false.
    /// </summary>
    bool Absolute(Statement statement, Cursor cursor, string notConstant, out long value)
    {
        value = 0;
        cursor.SkipSpace();
        int at = cursor.Position;
        if (cursor.AtEnd)
        {
            diagnostics.Error(statement, at, notConstant);
            return false;
        }
        if (Expressions.Parse(cursor, host, out string? error, out int errorPosition) is not { } expr)
        {
            diagnostics.Error(statement, errorPosition, error!);
            return false;
        }
        if (!cursor.AtEnd)
        {
            diagnostics.Error(statement, cursor.Position, $"junk at end of line, first unrecognized character is `{cursor.Peek}'");
            return false;
        }
        if (!host.EvaluateNow(expr).IsAbsolute(out value))
        {
            diagnostics.Error(statement, at, notConstant);
            return false;
        }
        return true;
    }

    /// <summary>Conditionals opened inside an expansion must close inside it; at its end, any left open are errors.</summary>
    void CloseConditionals(int depth, string message)
    {
        if (depth >= conditionals.Count)
            return;
        for (int i = depth; i < conditionals.Count; i++)
            diagnostics.Error(conditionals[i].Opener, 0, message);
        conditionals.RemoveRange(depth, conditionals.Count - depth);
    }
}
