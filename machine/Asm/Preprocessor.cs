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
    public Preprocessor(AsmOptions options, IPreprocessorHost host, DiagnosticBag diagnostics) => throw new NotImplementedException("the macros helper replaces this");

    /// <summary>Starts reading a file's text (the main source first).</summary>
    public void PushFile(string name, string text) => throw new NotImplementedException();

    /// <summary>The next statement for the assembler proper, or null when every source is read (or .end was seen).</summary>
    public Statement? Next() => throw new NotImplementedException();

    /// <summary>Every file read so far, the main source first, in the order first read: the line table's file list.</summary>
    public IReadOnlyList<string> Files => throw new NotImplementedException();
}
