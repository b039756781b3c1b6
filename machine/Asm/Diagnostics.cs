namespace Repl.Machine.Asm;

/// <summary>
/// One logical statement of the source, after comments are removed and ';'-separated statements are split, as
/// the preprocessor hands it on: its text, where it starts, the whole source line it came from (for the caret
/// display) and the chain of macro/.rept/.irp expansions that produced it (innermost first; empty for a line
/// read straight from a file).
/// </summary>
internal sealed record Statement(string Text, SourceLocation Location, string SourceLine, IReadOnlyList<Expansion> Chain)
{
    public Cursor Cursor() => new(Text, Location);

    /// <summary>The location of the character at <paramref name="position"/> in <see cref="Text"/>.</summary>
    public SourceLocation At(int position) => Location with { Column = Location.Column + position };
}

/// <summary>Collects every diagnostic of a run, in the order found; the assembler never stops at the first.</summary>
internal sealed class DiagnosticBag
{
    readonly List<Diagnostic> all = [];

    public IReadOnlyList<Diagnostic> All => all;
    public bool HasErrors => all.Any(d => d.Severity == DiagnosticSeverity.Error);

    public void Error(Statement at, int position, string message) => Add(DiagnosticSeverity.Error, at, position, message);
    public void Warning(Statement at, int position, string message) => Add(DiagnosticSeverity.Warning, at, position, message);

    public void Add(DiagnosticSeverity severity, Statement at, int position, string message) =>
        all.Add(new Diagnostic(severity, at.At(position), message, at.SourceLine, at.Chain));

    /// <summary>For problems with no statement to point at (an unreadable main file, a bad --defsym).</summary>
    public void Error(SourceLocation at, string message) => all.Add(new Diagnostic(DiagnosticSeverity.Error, at, message, "", []));
}
