using Repl.Machine.Asm;

namespace Repl.Machine.Tests.Asm;

/// <summary>
/// The smallest pass an instruction needs, for tests without the front end: no labels, '.' is a position in a
/// section (not absolute), and the names in <paramref name="later"/> are symbols defined further down the file —
/// unknown while the form is chosen, absolute when the bytes are written.
/// </summary>
sealed class AsmTestContext(int bitness, IReadOnlyDictionary<string, long>? later = null) : IInstructionContext
{
    static readonly object Section = new();

    public int Bitness { get; set; } = bitness;
    public AsmSyntax Syntax => AsmSyntax.Att;

    public string LocalLabel(int number, bool forward) => $".L{number}{(forward ? 'f' : 'b')}";

    public Evaluation EvaluateNow(Expr expr) => Expressions.Evaluate(expr, new Symbols(null, new Value(0, Section)));

    /// <summary>Values after layout, with '.' at <paramref name="ip"/>.</summary>
    public Func<Expr, Evaluation> Final(ulong ip) => expr => Expressions.Evaluate(expr, new Symbols(later, new Value((long)ip)));

    sealed class Symbols(IReadOnlyDictionary<string, long>? values, Value dot) : ISymbolValues
    {
        public Value Dot => dot;

        public bool TryGetValue(string name, out Value value)
        {
            value = default;
            if (values is null || !values.TryGetValue(name, out long v))
                return false;
            value = new Value(v);
            return true;
        }
    }

    /// <summary>Assembles one statement at <paramref name="ip"/>: its bytes, or null with the error.</summary>
    public byte[]? Assemble(string statement, ulong ip, out string? error)
    {
        var cursor = new Cursor(statement, new SourceLocation("test.s", 1, 1));
        var encoded = InstructionAssembler.Assemble(cursor, this, out error, out _);
        return encoded?.Encode(ip, Final(ip), out error, out _);
    }
}
