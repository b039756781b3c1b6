using System.Text;

namespace Repl.Machine.Asm;

/// <summary>What the preprocessor asks of the assembler proper: conditionals read symbols and expressions.</summary>
internal interface IPreprocessorHost : ILocalLabels
{
    /// <summary>The expression's value now, for .if/.elseif/.rept counts (see <see cref="IInstructionContext.EvaluateNow"/>).</summary>
    Evaluation EvaluateNow(Expr expr);

    /// <summary>For .ifdef/.ifndef: is the symbol defined (or referenced, as GNU as counts it) at this point?</summary>
    bool IsDefined(string name);
}

/// <summary>
/// Turns source files into the statements the assembler proper sees: removes comments (# to end of line and
/// /* */), splits lines at ';', reads .include files, expands macros, .rept, .irp and .irpc, and keeps only the
/// statements that .if/.ifdef/.ifb/.ifc ... select. Stops at .end.
/// </summary>
internal sealed partial class Preprocessor
{
    readonly AsmOptions options;
    readonly IPreprocessorHost host;
    readonly DiagnosticBag diagnostics;
    readonly List<string> files = [];

    /// <summary>Where statements come from, innermost (the one read next) last: files and expansions.</summary>
    readonly List<IStatementSource> sources = [];

    /// <summary>How many of <see cref="sources"/> are expansions: GNU as stops past <see cref="MaximumNesting"/>.</summary>
    int expansionDepth;

    const int MaximumNesting = 100;

    bool ended, finished;

    public Preprocessor(AsmOptions options, IPreprocessorHost host, DiagnosticBag diagnostics)
    {
        this.options = options;
        this.host = host;
        this.diagnostics = diagnostics;
    }

    /// <summary>Starts reading a file's text (the main source first).</summary>
    public void PushFile(string name, string text)
    {
        AddFile(name);
        sources.Add(new SourceFile(name, text, AddFile));
    }

    void AddFile(string name)
    {
        if (!files.Contains(name))
            files.Add(name);
    }

    /// <summary>Every file read so far, the main source first, in the order first read: the line table's file list.</summary>
    public IReadOnlyList<string> Files => files;

    /// <summary>The next statement for the assembler proper, or null when every source is read (or .end was seen).</summary>
    public Statement? Next()
    {
        while (!ended && sources.Count > 0)
        {
            var source = sources[^1];
            if (source.Next() is not { } statement)
            {
                Pop();
                continue;
            }
            if (Process(statement) is { } forAssembler)
                return forAssembler;
        }
        if (!finished)
        {
            finished = true;
            if (collecting is not null)
                diagnostics.Error(collecting.Opener, 0, collecting.Unterminated);
            CloseConditionals(0, "end of file inside conditional");
        }
        return null;
    }

    void Push(ExpansionSource expansion)
    {
        sources.Add(expansion);
        expansionDepth++;
    }

    /// <summary>
    /// Ends the innermost source. A body being collected goes on into the source around it, as in GNU as, but a
    /// conditional opened in an expansion must close in it.
    /// </summary>
    void Pop()
    {
        var source = sources[^1];
        sources.RemoveAt(sources.Count - 1);
        if (source is ExpansionSource expansion)
        {
            expansionDepth--;
            CloseConditionals(expansion.ConditionalDepth, "end of macro inside conditional");
        }
    }

    /// <summary>The number of conditionals that were open when the innermost expansion began.</summary>
    int CurrentExpansionConditionals => sources.Count > 0 && sources[^1] is ExpansionSource e ? e.ConditionalDepth : 0;

    /// <summary>
    /// Handles a statement that is the preprocessor's business and returns null (or the labels in front of it),
    /// or returns the statement for the assembler proper.
    /// </summary>
    Statement? Process(Statement statement)
    {
        string text = statement.Text;
        int labelsEnd = LabelsEnd(text);
        int wordAt = MacroWords.SkipBlanks(text, labelsEnd);
        int wordEnd = wordAt;
        while (wordEnd < text.Length && Cursor.IsSymbolPart(text[wordEnd]))
            wordEnd++;
        string word = text[wordAt..wordEnd];
        string directive = word.StartsWith('.') ? word.ToLowerInvariant() : "";
        if (collecting is not null)
        {
            Collect(statement, directive);
            return null;
        }
        var cursor = new Cursor(text, statement.Location) { Position = wordEnd };
        if (IsConditional(directive))
        {
            bool wasActive = Active;
            Conditional(statement, directive, cursor, wordAt);
            return wasActive ? Labels(statement, labelsEnd) : null;
        }
        if (!Active)
            return null;
        return Consume(statement, directive, word, cursor, wordAt, wordEnd) ? Labels(statement, labelsEnd) : statement;
    }

    /// <summary>Acts on a directive or macro invocation that is the preprocessor's; false for anything else.</summary>
    bool Consume(Statement statement, string directive, string word, Cursor cursor, int wordAt, int wordEnd)
    {
        switch (directive)
        {
            case ".macro":
                DefineMacro(statement, cursor);
                return true;
            case ".rept" or ".irp" or ".irpc":
                Repeat(statement, directive, cursor, wordAt);
                return true;
            case ".endm":
                diagnostics.Warning(statement, wordAt, ".endm encountered without preceding .macro");
                return true;
            case ".endr":
                diagnostics.Warning(statement, wordAt, ".endr encountered without preceding .rept, .irp, or .irpc");
                return true;
            case ".exitm":
                ExitMacro(statement, wordAt);
                return true;
            case ".purgem":
                Purge(statement, cursor);
                return true;
            case ".include":
                Include(statement, cursor);
                return true;
            case ".end":
                ended = true;
                return true;
        }
        if (word.Length == 0 || IsAssignment(statement.Text, wordEnd) || !macros.TryGetValue(word, out var macro))
            return false;
        Invoke(macro, statement, wordAt, wordEnd);
        return true;
    }

    /// <summary>Labels in front of a statement the preprocessor consumes are still labels for the assembler proper.</summary>
    static Statement? Labels(Statement statement, int labelsEnd) =>
        labelsEnd > 0 ? statement with { Text = statement.Text[..labelsEnd] } : null;

    /// <summary>"NAME = VALUE" sets a symbol even when a macro has that name, as in GNU as.</summary>
    static bool IsAssignment(string text, int wordEnd)
    {
        int i = MacroWords.SkipBlanks(text, wordEnd);
        return i < text.Length && text[i] == '=' && !(i + 1 < text.Length && text[i + 1] == '=');
    }

    /// <summary>The index past the labels ("name:" or "1:") that begin the statement, 0 when there are none.</summary>
    static int LabelsEnd(string text)
    {
        int end = 0;
        while (true)
        {
            int i = MacroWords.SkipBlanks(text, end), start = i;
            while (i < text.Length && Cursor.IsSymbolPart(text[i]))
                i++;
            if (i == start || i >= text.Length || text[i] != ':' || text[start] == '$')
                return end;
            end = i + 1;
        }
    }

    /// <summary>.include "file": the file is read next, from the including file's directory or an include path.</summary>
    void Include(Statement statement, Cursor cursor)
    {
        cursor.SkipSpace();
        int at = cursor.Position;
        var bytes = cursor.StringLiteral(out string? error);
        if (bytes is null)
        {
            diagnostics.Error(statement, at, error!);
            return;
        }
        string name = Encoding.UTF8.GetString(bytes);
        string directory = Path.GetDirectoryName(statement.Location.File) ?? "";
        var candidates = Path.IsPathRooted(name)
            ? [name]
            : new[] { directory.Length == 0 ? name : Path.Combine(directory, name) }.Concat(options.IncludePaths.Select(p => Path.Combine(p, name)));
        foreach (string path in candidates)
        {
            if (Read(path) is { } content)
            {
                PushFile(path, Encoding.UTF8.GetString(content));
                return;
            }
        }
        diagnostics.Error(statement, at, $"can't open {name} for reading: No such file or directory");
    }

    byte[]? Read(string path)
    {
        if (options.ReadFile is { } read)
            return read(path);
        try
        {
            return File.Exists(path) ? File.ReadAllBytes(path) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>A stream of statements: a file being read, or the body of a macro, .rept or .irp being expanded.</summary>
internal interface IStatementSource
{
    Statement? Next();
}

/// <summary>
/// Reads a file's text as GNU as's x86 front end does: '#' starts a comment anywhere outside a string or
/// character constant, '/' does at the start of a line, /* */ comments may span lines, and ';' separates
/// statements. Each physical line ends the statement in progress.
/// </summary>
internal sealed class SourceFile(string name, string text, Action<string> renamed) : IStatementSource
{
    int position = text.Length > 0 && text[0] == '\uFEFF' ? 1 : 0;
    int line;
    bool inComment;
    readonly Queue<Statement> pending = new();

    public Statement? Next()
    {
        while (pending.Count == 0)
        {
            if (position >= text.Length)
                return null;
            SplitLine();
        }
        return pending.Dequeue();
    }

    static bool IsBlank(char c) => c is ' ' or '\t' or '\f' or '\v' or '\r';

    /// <summary>Reads one physical line into statements.</summary>
    void SplitLine()
    {
        int end = text.IndexOf('\n', position);
        if (end < 0)
            end = text.Length;
        string physical = text[position..end].TrimEnd('\r');
        position = end + 1;
        line++;
        if (!inComment && LineMarker(physical))
            return;

        var statement = new StringBuilder();
        int start = -1;
        bool atLineStart = true;
        for (int i = 0; i < physical.Length;)
        {
            char c = physical[i];
            if (inComment)
            {
                if (c == '*' && i + 1 < physical.Length && physical[i + 1] == '/')
                {
                    inComment = false;
                    // The comment stands for blanks, so columns after it stay those of the line.
                    statement.Append(' ', start < 0 ? 0 : 2);
                    i += 2;
                }
                else
                {
                    statement.Append(' ', start < 0 ? 0 : 1);
                    i++;
                }
                continue;
            }
            if (IsBlank(c))
            {
                if (start >= 0)
                    statement.Append(c);
                i++;
                continue;
            }
            if (c == '#' || (c == '/' && atLineStart && !(i + 1 < physical.Length && physical[i + 1] == '*')))
                break;
            atLineStart = false;
            if (c == '/' && i + 1 < physical.Length && physical[i + 1] == '*')
            {
                inComment = true;
                statement.Append(' ', start < 0 ? 0 : 2);
                i += 2;
                continue;
            }
            if (c == ';')
            {
                Flush(statement, start, physical);
                start = -1;
                i++;
                continue;
            }
            if (start < 0)
                start = i;
            int next = c switch
            {
                '"' => Cursor.SkipString(physical, i),
                '\'' => SkipCharacterConstant(physical, i),
                _ => i + 1,
            };
            statement.Append(physical, i, next - i);
            i = next;
        }
        Flush(statement, start, physical);
    }

    /// <summary>
    /// A C preprocessor's line marker, # LINE "FILE" [FLAGS...] at the start of a line: the next line is LINE of
    /// FILE, as GNU as reads it, so a file that went through cpp reports lines of the source before it.
    /// </summary>
    bool LineMarker(string physical)
    {
        if (physical.Length < 4 || physical[0] != '#')
            return false;
        int i = MacroWords.SkipBlanks(physical, 1), digits = i;
        while (i < physical.Length && char.IsAsciiDigit(physical[i]))
            i++;
        int quote = MacroWords.SkipBlanks(physical, i);
        if (i == digits || quote == i || quote >= physical.Length || physical[quote] != '"'
            || !int.TryParse(physical.AsSpan(digits, i - digits), System.Globalization.CultureInfo.InvariantCulture, out int next))
            return false;
        int close = physical.IndexOf('"', quote + 1);
        if (close < 0)
            return false;
        name = physical[(quote + 1)..close];
        line = next - 1;
        renamed(name);
        return true;
    }

    /// <summary>
    /// The index past a character constant: the character after the quote is taken literally (a backslash
    /// escape counts as one), and a closing quote, when present, belongs to it too.
    /// </summary>
    static int SkipCharacterConstant(string physical, int quote)
    {
        int i = quote + 1;
        if (i < physical.Length && physical[i] == '\\')
            i++;
        i = Math.Min(i + 1, physical.Length);
        if (i < physical.Length && physical[i] == '\'')
            i++;
        return i;
    }

    void Flush(StringBuilder statement, int start, string physical)
    {
        if (start >= 0)
        {
            int length = statement.Length;
            while (length > 0 && IsBlank(statement[length - 1]))
                length--;
            pending.Enqueue(new Statement(statement.ToString(0, length), new SourceLocation(name, line, start + 1), physical, []));
        }
        statement.Clear();
    }
}
