namespace Repl.Machine.Asm;

/// <summary>
/// The assembler's entry point.
/// <para>
/// Layout rule: the result needs no linker script. Sections come in the order the source first names them
/// (.text first, as GNU as opens it before the first line), except that NoBits sections (.bss, @nobits) follow
/// every section that carries bytes. The first starts at <see cref="AsmOptions.Origin"/>; each next one at the
/// first multiple of its alignment (the largest .align/.balign/.p2align in it) after the end of the previous one.
/// Empty sections and sections without the "a" flag (.note.GNU-stack, .comment) are left out, as ld leaves them
/// out of the loaded image. This is what GNU ld does with a script listing the sections in that order.
/// </para>
/// </summary>
public static class Assembler
{
    /// <summary>Assembles source text; never throws on bad input: problems are in the result's diagnostics.</summary>
    public static AssemblyResult Assemble(string text, AsmOptions? options = null)
    {
        options ??= new AsmOptions();
        var pass = new AssemblyPass(options);
        try
        {
            return pass.Run(text);
        }
        catch (Exception e)
        {
            // The one broad catch: a bug of the assembler becomes a diagnostic rather than a crash of the caller.
            pass.Diagnostics.Error(new SourceLocation(options.FileName, 0, 0), $"internal error: {e.GetType().Name}: {e.Message}");
            return new AssemblyResult { Diagnostics = pass.Diagnostics.All, Sections = [], Symbols = [], Lines = [], Files = [options.FileName] };
        }
    }
}

/// <summary>
/// One run of the assembler over a source: reads the preprocessor's statements into sections of fragments
/// (labels, assignments, directives, instructions), then lays them out (see Layout.cs).
/// </summary>
internal sealed partial class AssemblyPass : IPreprocessorHost, IInstructionContext
{
    readonly AsmOptions options;
    readonly SymbolTable symbols = new();
    readonly List<Section> sections = [];
    Preprocessor? preprocessor;

    /// <summary>The section being assembled into, the one .previous returns to, and the .pushsection stack.</summary>
    Section current;
    Section previous;
    readonly Stack<(Section Current, Section Previous)> pushed = new();

    /// <summary>Symbols being resolved right now: an equate that refers to itself is undefined, not a stack overflow.</summary>
    readonly HashSet<Symbol> resolving = [];

    /// <summary>What .print said, in order.</summary>
    readonly List<string> printed = [];

    public DiagnosticBag Diagnostics { get; } = new();
    public int Bitness { get; private set; }
    public AsmSyntax Syntax { get; private set; } = AsmSyntax.Att;

    public AssemblyPass(AsmOptions options)
    {
        this.options = options;
        Bitness = options.Bitness;
        current = previous = SectionNamed(".text", null, null);
    }

    public AssemblyResult Run(string text)
    {
        foreach (var (name, value) in options.Defines)
            symbols.Get(name).Value = new Value(value);
        preprocessor = new Preprocessor(options, this, Diagnostics);
        preprocessor.PushFile(options.FileName, text);
        while (preprocessor.Next() is { } statement)
            Read(statement);
        return Layout();
    }

    /// <summary>Labels first (any number, "name:" or "1:"), then an assignment, a directive or an instruction.</summary>
    void Read(Statement statement)
    {
        var c = statement.Cursor();
        while (true)
        {
            c.SkipSpace();
            int start = c.Position;
            if (char.IsAsciiDigit(c.Peek))
            {
                while (char.IsAsciiDigit(c.Peek))
                    c.Position++;
                if (c.Peek == ':' && int.TryParse(c.Text[start..c.Position], out int number))
                {
                    c.Position++;
                    DefineLabel(symbols.DefineLocal(number), statement, start);
                    continue;
                }
                c.Position = start;
                break;
            }
            if (c.Identifier() is not { } name)
                break;
            c.SkipSpace();
            if (c.Peek == ':' && c.PeekAt(1) != ':')
            {
                c.Position++;
                DefineLabel(name, statement, start);
                continue;
            }
            if (c.Peek == '=' && c.PeekAt(1) != '=')
            {
                c.Position++;
                if (name == ".")
                    Org(statement, c);
                else
                    Assign(name, statement, start, c, fixedOnce: false);
                return;
            }
            c.Position = start;
            break;
        }
        if (c.AtEnd)
            return;
        if (c.Peek == '.' && Cursor.IsSymbolPart(c.PeekAt(1)))
            Directive(statement, c);
        else
            Instruction(statement, c);
    }

    void DefineLabel(string name, Statement statement, int position)
    {
        var symbol = symbols.Get(name);
        if (symbol.Defined)
        {
            Diagnostics.Error(statement, position, $"symbol {SymbolTable.Describe(name)} is already defined");
            return;
        }
        symbol.Value = Here;
        symbol.Fixed = true;
    }

    /// <summary>name = expr, .set, .equ (redefinable) and .equiv (<paramref name="fixedOnce"/>: once only).</summary>
    void Assign(string name, Statement statement, int namePosition, Cursor c, bool fixedOnce)
    {
        if (ParseExpression(statement, c) is not { } expr || !ExpectEnd(statement, c))
            return;
        var symbol = symbols.Get(name);
        if (symbol.Fixed || (fixedOnce && symbol.Defined))
        {
            Diagnostics.Error(statement, namePosition, $"symbol {SymbolTable.Describe(name)} is already defined");
            return;
        }
        var value = EvaluateNow(expr);
        if (value.Error is not null)
        {
            Diagnostics.Error(statement, value.ErrorPosition, value.Error);
            return;
        }
        // Resolve later what is not known here: GNU as lets an equate name a label defined further on. The
        // symbol keeps its latest assignment (for the symbol table and references read before any assignment);
        // references read from here on name this assignment's own symbol.
        foreach (var assigned in new[] { symbol, symbols.Assignment(name) })
        {
            assigned.Value = value.Known ? value.Value : null;
            assigned.Formula = value.Known ? null : (expr, current.Current, current.Current.FixedSize);
        }
        symbol.Fixed = fixedOnce;
    }

    void Instruction(Statement statement, Cursor c)
    {
        int at = c.Position;
        var instruction = InstructionAssembler.Assemble(c, this, out string? error, out int errorPosition);
        if (instruction is null)
        {
            Diagnostics.Error(statement, error is null ? at : errorPosition, error ?? "invalid instruction");
            return;
        }
        if (!StoreAllowed(statement, at))
            return;
        var fragment = current.Current;
        fragment.Lines.Add((fragment.FixedSize, LineOf(statement).File, LineOf(statement).Line));
        if (instruction.BranchTarget is not null)
        {
            current.Close(new BranchPart(statement, instruction));
            return;
        }
        fragment.Instructions.Add(new PlacedInstruction(fragment.FixedSize, instruction, statement));
        fragment.Bytes.AddRange(new byte[instruction.Length]);
    }

    /// <summary>NoBits sections hold zeros only: GNU as refuses anything else there.</summary>
    bool StoreAllowed(Statement statement, int position)
    {
        if (!current.NoBits)
            return true;
        Diagnostics.Error(statement, position, $"attempt to store non-zero value in section `{current.Name}'");
        return false;
    }

    /// <summary>
    /// The line the line table gives a statement: for a line a macro produced, the line that invoked the
    /// outermost macro (GNU as with -g does not step into macro bodies); otherwise its own, .rept bodies included.
    /// </summary>
    static SourceLocation LineOf(Statement statement)
    {
        for (int i = statement.Chain.Count - 1; i >= 0; i--)
            if (statement.Chain[i].What.StartsWith("macro", StringComparison.Ordinal))
                return statement.Chain[i].Location;
        return statement.Location;
    }

    /// <summary>The location counter now: the end of the current fragment's fixed part.</summary>
    Value Here => new(current.Current.FixedSize, current.Current);

    Expr? ParseExpression(Statement statement, Cursor c)
    {
        c.SkipSpace();
        var expr = Expressions.Parse(c, this, out string? error, out int errorPosition);
        if (expr is null)
            Diagnostics.Error(statement, errorPosition, error ?? "bad expression");
        return expr;
    }

    /// <summary>GNU as's complaint about text left after a statement.</summary>
    bool ExpectEnd(Statement statement, Cursor c)
    {
        if (c.AtEnd)
            return true;
        Diagnostics.Error(statement, c.Position, $"junk at end of line, first unrecognized character is `{c.Peek}'");
        return false;
    }

    // IPreprocessorHost and IInstructionContext: values as the pass knows them at this point.

    /// <summary>
    /// Labels in two fragments of one section have a difference that only layout knows: that is "not known
    /// yet" here, not the error it is after layout (when the bases are sections), as in GNU as.
    /// </summary>
    public Evaluation EvaluateNow(Expr expr)
    {
        var value = Expressions.Evaluate(expr, new Scope(this, Here, final: false));
        return value.Error == CrossBaseDifference ? new Evaluation(default, Undefined: NotLaidOut) : value;
    }

    /// <summary>The evaluator's message for a difference of values with two bases (Expressions.Apply).</summary>
    const string CrossBaseDifference = "can't subtract symbols in different sections";

    /// <summary>What stands for the undefined symbol when a value waits for layout rather than for a definition.</summary>
    const string NotLaidOut = "(labels not laid out yet)";

    public bool IsDefined(string name) => symbols.Find(name)?.Defined == true;

    public string LocalLabel(int number, bool forward) => symbols.LocalLabel(number, forward);

    public string Reference(string name) => symbols.Reference(name);

    /// <summary>
    /// A symbol's value. During the pass (<paramref name="final"/> false) labels are fragment offsets; after
    /// layout they are section offsets, so that only same-section differences become absolute.
    /// </summary>
    bool TryGetValue(string name, bool final, out Value value)
    {
        value = default;
        var symbol = symbols.Find(name);
        if (symbol is null)
            return false;
        if (symbol.Value is { } known)
        {
            value = final ? Final(known) : known;
            return true;
        }
        if (symbol.Formula is not { } formula || !resolving.Add(symbol))
            return false;
        try
        {
            var dot = new Value(formula.Offset, formula.Fragment);
            var result = Expressions.Evaluate(formula.Expr, new Scope(this, final ? Final(dot) : dot, final));
            value = result.Value;
            return result.Known;
        }
        finally
        {
            resolving.Remove(symbol);
        }
    }

    /// <summary>A fragment-based value as a section-based one (layout has set the fragment offsets).</summary>
    static Value Final(Value value) =>
        value.Base is Fragment f ? new Value(f.Offset + value.Offset, f.Section) : value;

    /// <summary>What an expression sees: the symbols, and '.' where the expression stands.</summary>
    sealed class Scope(AssemblyPass pass, Value dot, bool final) : ISymbolValues
    {
        public Value Dot => dot;
        public bool TryGetValue(string name, out Value value) => pass.TryGetValue(name, final, out value);
    }
}
