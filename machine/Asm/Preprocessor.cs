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
internal sealed class Preprocessor
{
    readonly AsmOptions options;
    readonly IPreprocessorHost host;
    readonly DiagnosticBag diagnostics;
    readonly List<string> files = [];

    /// <summary>Where statements come from, innermost (the one read next) last: files and expansions.</summary>
    readonly List<IStatementSource> sources = [];

    /// <summary>Statements already decided on, handed out before anything else is read (a label split off an invocation).</summary>
    readonly Queue<Statement> ready = new();

    bool ended;

    public Preprocessor(AsmOptions options, IPreprocessorHost host, DiagnosticBag diagnostics)
    {
        this.options = options;
        this.host = host;
        this.diagnostics = diagnostics;
    }

    /// <summary>Starts reading a file's text (the main source first).</summary>
    public void PushFile(string name, string text)
    {
        if (!files.Contains(name))
            files.Add(name);
        sources.Add(new SourceFile(name, text));
    }

    /// <summary>Every file read so far, the main source first, in the order first read: the line table's file list.</summary>
    public IReadOnlyList<string> Files => files;

    /// <summary>The next statement for the assembler proper, or null when every source is read (or .end was seen).</summary>
    public Statement? Next()
    {
        while (!ended)
        {
            if (ready.TryDequeue(out var queued))
                return queued;
            if (sources.Count == 0)
                return null;
            var source = sources[^1];
            var statement = source.Next();
            if (statement is null)
            {
                sources.RemoveAt(sources.Count - 1);
                continue;
            }
            if (Process(statement) is { } forAssembler)
                return forAssembler;
        }
        return null;
    }

    /// <summary>
    /// Handles a statement that is the preprocessor's business and returns null, or returns the statement for the
    /// assembler proper.
    /// </summary>
    Statement? Process(Statement statement)
    {
        var cursor = statement.Cursor();
        string? word = DirectiveWord(cursor);
        switch (word?.ToLowerInvariant())
        {
            case ".include":
                Include(statement, cursor);
                return null;
            case ".end":
                ended = true;
                return null;
            default:
                return statement;
        }
    }

    /// <summary>The statement's first word when it is a directive name (starting with '.'), the cursor after it.</summary>
    static string? DirectiveWord(Cursor cursor)
    {
        cursor.SkipSpace();
        if (cursor.Peek != '.')
            return null;
        int start = cursor.Position;
        cursor.Position++;
        while (cursor.Position < cursor.Text.Length && Cursor.IsSymbolPart(cursor.Text[cursor.Position]))
            cursor.Position++;
        return cursor.Text[start..cursor.Position];
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
internal sealed class SourceFile(string name, string text) : IStatementSource
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
