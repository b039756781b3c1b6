using System.Text;

namespace Repl.Machine.Asm;

/// <summary>A macro parameter: its name, the default value (empty when none), and its :req / :vararg qualifier.</summary>
internal sealed record MacroParameter(string Name, string Default, bool Required, bool VarArg);

/// <summary>A macro as .macro defined it: the body is the statements between .macro and .endm, unexpanded.</summary>
internal sealed record MacroDefinition(string Name, IReadOnlyList<MacroParameter> Parameters, IReadOnlyList<Statement> Body);

/// <summary>
/// The words of a macro invocation, a .macro parameter list or an .irp list, split as GNU as splits them: at
/// commas (even inside brackets: "(1, 2)" is the two values "(1" and "2)"), and at blanks between two operands.
/// GNU as first squeezes blanks out of a line except between two operands, so "1 + 2" is one value, "1+2"; but
/// "1 -2" and "1 - 2" keep theirs and so are two and three values. Inside brackets the blanks GNU as keeps do not
/// split. A value in double quotes loses its quotes and keeps its text as written.
/// </summary>
internal static class MacroWords
{
    /// <summary>
    /// Reads the value starting at <paramref name="i"/> (blanks skipped), leaves <paramref name="i"/> past it
    /// and past the comma that ends it, if any. With <paramref name="rest"/> (a :vararg parameter) the value is
    /// everything to the end of the statement, commas and quotes included.
    /// </summary>
    public static string Next(string text, ref int i, bool rest = false)
    {
        i = SkipBlanks(text, i);
        if (!rest && i < text.Length && text[i] == '"')
        {
            int end = Cursor.SkipString(text, i);
            bool closed = end - 1 > i && text[end - 1] == '"';
            string quoted = text[(i + 1)..(closed ? end - 1 : end)];
            i = SkipComma(text, end);
            return quoted;
        }
        var value = new StringBuilder();
        int depth = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (IsBlank(c))
            {
                int after = SkipBlanks(text, i);
                bool kept = after < text.Length && value.Length > 0 && Kept(value[^1], text[after]);
                if (kept && depth == 0 && !rest)
                    break;
                if (kept)
                    value.Append(' ');
                i = after;
                continue;
            }
            if (c == ',' && !rest)
                break;
            int next = c switch
            {
                '"' => Cursor.SkipString(text, i),
                '\'' => Math.Min(i + 2, text.Length),
                _ => i + 1,
            };
            if (c is '(' or '[')
                depth++;
            else if (c is ')' or ']')
                depth = Math.Max(0, depth - 1);
            value.Append(text, i, next - i);
            i = next;
        }
        i = SkipComma(text, i);
        return value.ToString();
    }

    /// <summary>The text with its blanks squeezed as GNU as squeezes a line before reading it.</summary>
    public static string Squeeze(string text)
    {
        int i = 0;
        return Next(text, ref i, rest: true);
    }

    static int SkipComma(string text, int i)
    {
        i = SkipBlanks(text, i);
        return i < text.Length && text[i] == ',' ? i + 1 : i;
    }

    /// <summary>Whether GNU as keeps a blank between these two characters: only between operands, or around a '-'.</summary>
    static bool Kept(char before, char next) =>
        (Cursor.IsSymbolPart(before) || before is '-' or '(' or '\'' or '"')
        && (Cursor.IsSymbolPart(next) || next is '%' or '(' or '[' or '-' or '"' or '\'');

    public static bool IsBlank(char c) => c is ' ' or '\t' or '\f' or '\v' or '\r';

    public static int SkipBlanks(string text, int i)
    {
        while (i < text.Length && IsBlank(text[i]))
            i++;
        return i;
    }

    /// <summary>
    /// The body line with \NAME replaced by its value (names read as long as symbol characters go, as GNU as
    /// does; an unknown name stays as written), \() removed (it only separates a name from what follows) and,
    /// in a macro, \@ replaced by the number of the expansion.
    /// </summary>
    public static string Substitute(string line, IReadOnlyDictionary<string, string> values, string? expansionNumber)
    {
        int backslash = line.IndexOf('\\');
        if (backslash < 0)
            return line;
        var result = new StringBuilder(line.Length + 16);
        int copied = 0;
        for (int i = backslash; i >= 0 && i < line.Length; i = line.IndexOf('\\', i))
        {
            int after = i + 1;
            string? replacement = null;
            if (after < line.Length && line[after] == '@' && expansionNumber is not null)
            {
                replacement = expansionNumber;
                after++;
            }
            else if (after + 1 < line.Length && line[after] == '(' && line[after + 1] == ')')
            {
                replacement = "";
                after += 2;
            }
            else
            {
                int end = after;
                while (end < line.Length && Cursor.IsSymbolPart(line[end]))
                    end++;
                if (end > after && values.TryGetValue(line[after..end], out var value))
                {
                    replacement = value;
                    after = end;
                }
            }
            if (replacement is null)
            {
                i = after;
                continue;
            }
            result.Append(line, copied, i - copied).Append(replacement);
            copied = i = after;
        }
        return result.Append(line, copied, line.Length - copied).ToString();
    }
}

/// <summary>
/// Statements produced by expanding a body: a macro once, .rept N times, .irp and .irpc once per value. Each
/// statement keeps the location of its body line and gains the expansion in its chain. <c>iterations</c> holds
/// the parameter values of each pass (null for .rept, which substitutes nothing); <c>expansionNumber</c> is a
/// macro's \@ (null for the others).
/// </summary>
internal sealed class ExpansionSource(IReadOnlyList<Statement> body, IReadOnlyList<IReadOnlyDictionary<string, string>>? iterations,
                                     long count, string? expansionNumber, IReadOnlyList<Expansion> chain) : IStatementSource
{
    long iteration;
    int line;

    /// <summary>The number of conditionals open when the expansion began; those opened inside must close inside.</summary>
    public int ConditionalDepth { get; init; }

    public Statement? Next()
    {
        // An empty body repeated a huge number of times is still nothing.
        while (iteration < count && body.Count > 0)
        {
            if (line < body.Count)
            {
                var statement = body[line++];
                // .rept substitutes nothing.
                if (iterations is null)
                    return statement with { Chain = chain };
                var values = iterations[(int)iteration];
                string text = MacroWords.Substitute(statement.Text, values, expansionNumber);
                if (ReferenceEquals(text, statement.Text))
                    return statement with { Chain = chain };
                // The caret display shows the line as expanded, so columns count in the expanded text.
                string before = statement.SourceLine[..Math.Min(statement.Location.Column - 1, statement.SourceLine.Length)];
                return new Statement(text, statement.Location with { Column = MacroWords.Substitute(before, values, expansionNumber).Length + 1 },
                                     MacroWords.Substitute(statement.SourceLine, values, expansionNumber), chain);
            }
            line = 0;
            iteration++;
        }
        return null;
    }
}

/// <summary>.macro, .rept, .irp and .irpc: collecting bodies and expanding them.</summary>
internal sealed partial class Preprocessor
{
    readonly Dictionary<string, MacroDefinition> macros = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The number of macro expansions so far: the value of \@ in the next one.</summary>
    int macroExpansions;

    /// <summary>
    /// A body being read up to its .endm or .endr: nested pairs of the same kind are counted, not interpreted,
    /// and <see cref="Done"/> runs when the matching end is read.
    /// </summary>
    sealed class Body(Statement opener, bool isMacro, string unterminated, Action<IReadOnlyList<Statement>> done)
    {
        public Statement Opener { get; } = opener;
        public bool IsMacro { get; } = isMacro;
        public string Unterminated { get; } = unterminated;
        public Action<IReadOnlyList<Statement>> Done { get; } = done;
        public List<Statement> Statements { get; } = [];
        public int Depth { get; set; } = 1;
    }

    Body? collecting;

    void Collect(Statement statement, string directive)
    {
        var body = collecting!;
        bool opens = body.IsMacro ? directive == ".macro" : directive is ".rept" or ".irp" or ".irpc";
        bool closes = directive == (body.IsMacro ? ".endm" : ".endr");
        if (opens)
            body.Depth++;
        else if (closes && --body.Depth == 0)
        {
            collecting = null;
            body.Done(body.Statements);
            return;
        }
        body.Statements.Add(statement);
    }

    /// <summary>.macro NAME [,] PARAM[:req|:vararg][=DEFAULT] ...: the body up to the matching .endm becomes the macro.</summary>
    void DefineMacro(Statement statement, Cursor cursor)
    {
        cursor.SkipSpace();
        int nameAt = cursor.Position;
        var definition = MacroHeader(statement, cursor);
        if (definition is not null && macros.ContainsKey(definition.Name))
        {
            diagnostics.Error(statement, nameAt, $"Macro `{definition.Name}' was already defined");
            definition = null;
        }
        string name = definition?.Name ?? "";
        collecting = new Body(statement, isMacro: true, $"unexpected end of file in macro `{name}' definition", body =>
        {
            if (definition is not null)
                macros[definition.Name] = definition with { Body = body };
        });
    }

    MacroDefinition? MacroHeader(Statement statement, Cursor cursor)
    {
        cursor.SkipSpace();
        int nameAt = cursor.Position;
        if (!Cursor.IsSymbolStart(cursor.Peek))
        {
            diagnostics.Error(statement, nameAt, "Missing macro name");
            return null;
        }
        string text = cursor.Text;
        int i = nameAt;
        while (i < text.Length && Cursor.IsSymbolPart(text[i]))
            i++;
        string name = text[nameAt..i];
        i = MacroWords.SkipBlanks(text, i);
        if (i < text.Length && text[i] == ',')
            i++;
        var parameters = new List<MacroParameter>();
        while ((i = MacroWords.SkipBlanks(text, i)) < text.Length)
        {
            int at = i;
            string word = MacroWords.Next(text, ref i);
            if (ParseParameter(statement, name, word, at) is not { } parameter)
                return null;
            if (parameters.Any(p => p.Name == parameter.Name))
            {
                diagnostics.Error(statement, at, $"A parameter named `{parameter.Name}' already exists for macro `{name}'");
                return null;
            }
            parameters.Add(parameter);
        }
        cursor.Position = i;
        return new MacroDefinition(name, parameters, []);
    }

    /// <summary>One parameter: NAME, NAME=DEFAULT, NAME:req, NAME:vararg (a default in quotes loses them).</summary>
    MacroParameter? ParseParameter(Statement statement, string macro, string word, int at)
    {
        int end = 0;
        while (end < word.Length && Cursor.IsSymbolPart(word[end]))
            end++;
        string name = word[..end];
        if (name.Length == 0 || !Cursor.IsSymbolStart(name[0]))
        {
            diagnostics.Error(statement, at, $"bad macro parameter `{word}' in macro `{macro}'");
            return null;
        }
        bool required = false, varArg = false;
        int rest = MacroWords.SkipBlanks(word, end);
        if (rest < word.Length && word[rest] == ':')
        {
            int qualifierEnd = rest + 1;
            while (qualifierEnd < word.Length && Cursor.IsSymbolPart(word[qualifierEnd]))
                qualifierEnd++;
            string qualifier = word[(rest + 1)..qualifierEnd];
            required = qualifier == "req";
            varArg = qualifier == "vararg";
            if (!required && !varArg)
            {
                diagnostics.Error(statement, at, $"`{qualifier}' is not a valid parameter qualifier for `{name}' in macro `{macro}'");
                return null;
            }
            rest = MacroWords.SkipBlanks(word, qualifierEnd);
        }
        string defaultValue = "";
        if (rest < word.Length && word[rest] == '=')
        {
            int valueAt = rest + 1;
            defaultValue = MacroWords.Next(word, ref valueAt);
        }
        else if (rest < word.Length)
        {
            diagnostics.Error(statement, at + rest, $"bad macro parameter `{word}' in macro `{macro}'");
            return null;
        }
        return new MacroParameter(name, defaultValue, required, varArg);
    }

    /// <summary>.rept COUNT, .irp SYMBOL, VALUES..., .irpc SYMBOL, CHARACTERS: the body up to the matching .endr, repeated.</summary>
    void Repeat(Statement statement, string directive, Cursor cursor, int wordAt)
    {
        long count = 0;
        List<IReadOnlyDictionary<string, string>>? iterations = null;
        if (directive == ".rept")
        {
            if (Absolute(statement, cursor, "bad or irreducible absolute expression", out count) && count < 0)
            {
                diagnostics.Error(statement, cursor.Position, "negative count for REPT - ignored");
                count = 0;
            }
        }
        else if (cursor.Identifier() is not { } symbol)
            diagnostics.Error(statement, cursor.Position, "missing model parameter");
        else
        {
            cursor.Accept(',');
            string text = cursor.Text;
            int i = cursor.Position;
            var values = new List<string>();
            if (directive == ".irp")
            {
                // No values at all still makes one pass, with the symbol empty.
                do
                    values.Add(MacroWords.Next(text, ref i));
                while (MacroWords.SkipBlanks(text, i) < text.Length);
            }
            else
            {
                string characters = MacroWords.Next(text, ref i);
                values.AddRange(characters.Length == 0 ? [""] : characters.Select(c => c.ToString()));
            }
            iterations = values.Select(v => (IReadOnlyDictionary<string, string>)new Dictionary<string, string> { [symbol] = v }).ToList();
            count = iterations.Count;
        }
        var chain = Chain(directive, statement, statement.At(wordAt));
        string unterminated = directive == ".rept" ? "REPT without ENDR" : "unexpected end of file in irp or irpc";
        collecting = new Body(statement, isMacro: false, unterminated, body =>
        {
            if (count > 0 && Nest(statement))
                Push(new ExpansionSource(body, iterations, count, null, chain) { ConditionalDepth = conditionals.Count });
        });
    }

    static IReadOnlyList<Expansion> Chain(string what, Statement invocation, SourceLocation at) =>
        [new Expansion(what, at), .. invocation.Chain];

    /// <summary>
    /// Whether another expansion may begin; past GNU as's limit the error is fatal, as there, since a runaway
    /// recursion would otherwise go on producing errors.
    /// </summary>
    bool Nest(Statement statement)
    {
        if (expansionDepth <= MaximumNesting)
            return true;
        diagnostics.Error(statement, 0, "macros nested too deeply");
        ended = true;
        return false;
    }

    /// <summary>NAME ARGUMENTS: the macro's body with each \PARAMETER replaced by its argument.</summary>
    void Invoke(MacroDefinition macro, Statement statement, int nameAt, int argumentsAt)
    {
        string text = statement.Text;
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        int positional = 0, i = argumentsAt;
        bool ok = true, keywords = false;
        while (ok && (i = MacroWords.SkipBlanks(text, i)) < text.Length)
        {
            int at = i;
            MacroParameter? parameter;
            if (Keyword(text, ref i) is { } keyword)
            {
                keywords = true;
                parameter = macro.Parameters.FirstOrDefault(p => p.Name == keyword);
                if (parameter is null)
                {
                    diagnostics.Error(statement, at, $"Parameter named `{keyword}' does not exist for macro `{macro.Name}'");
                    ok = false;
                    break;
                }
            }
            else if (keywords)
            {
                diagnostics.Error(statement, at, "can't mix positional and keyword arguments");
                ok = false;
                break;
            }
            else if (positional < macro.Parameters.Count)
                parameter = macro.Parameters[positional++];
            else
            {
                diagnostics.Error(statement, at, "too many positional arguments");
                ok = false;
                break;
            }
            if (values.ContainsKey(parameter.Name))
                diagnostics.Warning(statement, at, $"Value for parameter `{parameter.Name}' of macro `{macro.Name}' was already specified");
            values[parameter.Name] = MacroWords.Next(text, ref i, rest: parameter.VarArg);
        }
        foreach (var parameter in macro.Parameters)
        {
            if (values.TryGetValue(parameter.Name, out var value) && value.Length > 0)
                continue;
            if (parameter.Required)
            {
                diagnostics.Error(statement, nameAt, $"Missing value for required parameter `{parameter.Name}' of macro `{macro.Name}'");
                ok = false;
            }
            values[parameter.Name] = parameter.Default;
        }
        if (!ok || !Nest(statement))
            return;
        string number = (macroExpansions++).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var chain = Chain($"macro {macro.Name}", statement, statement.At(nameAt));
        Push(new ExpansionSource(macro.Body, [values], 1, number, chain) { ConditionalDepth = conditionals.Count });
    }

    /// <summary>"NAME=" at <paramref name="i"/> names the parameter the value after it is for; otherwise null, nothing consumed.</summary>
    static string? Keyword(string text, ref int i)
    {
        int end = i;
        while (end < text.Length && Cursor.IsSymbolPart(text[end]))
            end++;
        int equals = MacroWords.SkipBlanks(text, end);
        if (end == i || !Cursor.IsSymbolStart(text[i]) || equals >= text.Length || text[equals] != '=' || (equals + 1 < text.Length && text[equals + 1] == '='))
            return null;
        string name = text[i..end];
        i = equals + 1;
        return name;
    }

    /// <summary>
    /// .exitm: leaves the innermost expansion at once, as GNU as does: a macro's, or a whole .rept or .irp with
    /// the passes it had left, and the conditionals opened in it.
    /// </summary>
    void ExitMacro(Statement statement, int wordAt)
    {
        int innermost = sources.FindLastIndex(s => s is ExpansionSource);
        if (innermost < 0)
        {
            diagnostics.Warning(statement, wordAt, "ignoring macro exit outside a macro definition.");
            return;
        }
        int depth = ((ExpansionSource)sources[innermost]).ConditionalDepth;
        conditionals.RemoveRange(depth, conditionals.Count - depth);
        while (sources.Count > innermost)
            Pop();
    }

    /// <summary>.purgem NAME: forgets the macro.</summary>
    void Purge(Statement statement, Cursor cursor)
    {
        cursor.SkipSpace();
        int at = cursor.Position;
        if (cursor.Identifier() is { } name && !macros.Remove(name))
            diagnostics.Warning(statement, at, $"Attempt to purge non-existing macro `{name}'");
    }
}
