namespace Repl.Machine.Asm;

/// <summary>
/// An expression as written: numbers, symbols, '.', and GNU as's operators. Position is the index in the
/// statement text where the expression starts, for diagnostics.
/// </summary>
internal abstract record Expr(int Position);

internal sealed record ConstantExpr(int Position, long Value) : Expr(Position);

internal sealed record SymbolExpr(int Position, string Name) : Expr(Position);

/// <summary>'.', the location counter.</summary>
internal sealed record DotExpr(int Position) : Expr(Position);

internal sealed record UnaryExpr(int Position, char Operator, Expr Operand) : Expr(Position);

internal sealed record BinaryExpr(int Position, BinaryOperator Operator, Expr Left, Expr Right) : Expr(Position);

internal enum BinaryOperator
{
    Multiply, Divide, Modulus, ShiftLeft, ShiftRight,
    Or, OrNot, Xor, And,
    Add, Subtract,
    Equal, NotEqual, Less, LessOrEqual, Greater, GreaterOrEqual,
    LogicalAnd, LogicalOr,
}

/// <summary>
/// A value: an absolute number when <see cref="Base"/> is null, otherwise an offset from a base the caller
/// chose — a section after layout, or a fragment while the pass runs, so that the difference of two labels in
/// the same fragment is known at once, as in GNU as.
/// </summary>
internal readonly record struct Value(long Offset, object? Base = null)
{
    public bool IsAbsolute => Base is null;
}

/// <summary>What an expression evaluates to: a value, or the first symbol not defined yet, or an error.</summary>
internal readonly record struct Evaluation(Value Value, string? Undefined = null, string? Error = null, int ErrorPosition = 0)
{
    public bool Known => Undefined is null && Error is null;
    public bool IsAbsolute(out long value)
    {
        value = Value.Offset;
        return Known && Value.IsAbsolute;
    }
}

/// <summary>Names the symbol a reference means at the point it is read.</summary>
internal interface ISymbolReferences
{
    /// <summary>A numeric local label reference: 1b is the latest "1:", 1f the next one.</summary>
    string LocalLabel(int number, bool forward);

    /// <summary>
    /// A named reference: the symbol itself, or for a symbol that .set or = may assign again, the assignment in
    /// force here, so that a later assignment does not change what this reference meant (as in GNU as).
    /// </summary>
    string Reference(string name) => name;
}

/// <summary>The symbol values an evaluation sees.</summary>
internal interface ISymbolValues
{
    /// <summary>False when the symbol is not defined (yet).</summary>
    bool TryGetValue(string name, out Value value);

    /// <summary>The value of '.'.</summary>
    Value Dot { get; }
}

/// <summary>
/// GNU as's expression grammar. Binary operators bind, from tightest: * / % &lt;&lt; &gt;&gt;; then | &amp; ^ !
/// (or-not); then + -; then == != &lt;&gt; &lt; &lt;= &gt; &gt;=; then &amp;&amp;; then ||. Unary - ~ ! + bind
/// tighter than all. A comparison is -1 when true and 0 when false; &amp;&amp; and || give 1 or 0.
/// </summary>
internal static class Expressions
{
    /// <summary>
    /// Reads an expression from the cursor, stopping at the first token that cannot continue it (a comma, an
    /// unmatched ')', or a '(' after a complete operand, as in AT&amp;T "8(%rax)"). Null with an error message and
    /// position when the text is not an expression.
    /// </summary>
    public static Expr? Parse(Cursor cursor, ISymbolReferences labels, out string? error, out int errorPosition)
    {
        var parser = new Parser(cursor, labels);
        var expr = parser.Binary(0);
        error = parser.Error;
        errorPosition = parser.ErrorPosition;
        return error is null ? expr : null;
    }

    static readonly (string Token, BinaryOperator Op, int Rank)[] Operators =
    [
        // Longer tokens first, so "<<" is not read as "<".
        ("<<", BinaryOperator.ShiftLeft, 5), (">>", BinaryOperator.ShiftRight, 5),
        ("==", BinaryOperator.Equal, 2), ("!=", BinaryOperator.NotEqual, 2), ("<>", BinaryOperator.NotEqual, 2),
        ("<=", BinaryOperator.LessOrEqual, 2), (">=", BinaryOperator.GreaterOrEqual, 2),
        ("&&", BinaryOperator.LogicalAnd, 1), ("||", BinaryOperator.LogicalOr, 0),
        ("*", BinaryOperator.Multiply, 5), ("/", BinaryOperator.Divide, 5), ("%", BinaryOperator.Modulus, 5),
        ("|", BinaryOperator.Or, 4), ("!", BinaryOperator.OrNot, 4), ("^", BinaryOperator.Xor, 4), ("&", BinaryOperator.And, 4),
        ("+", BinaryOperator.Add, 3), ("-", BinaryOperator.Subtract, 3),
        ("<", BinaryOperator.Less, 2), (">", BinaryOperator.Greater, 2),
    ];

    sealed class Parser(Cursor c, ISymbolReferences labels)
    {
        public string? Error;
        public int ErrorPosition;

        Expr Fail(string message, int position)
        {
            if (Error is null)
            {
                Error = message;
                ErrorPosition = position;
            }
            return new ConstantExpr(position, 0);
        }

        public Expr Binary(int minRank)
        {
            var left = Unary();
            while (Error is null)
            {
                c.SkipSpace();
                int at = c.Position;
                var match = Operators.FirstOrDefault(o => string.CompareOrdinal(c.Text, at, o.Token, 0, o.Token.Length) == 0);
                if (match.Token is null || match.Rank < minRank)
                    return left;
                c.Position += match.Token.Length;
                var right = Binary(match.Rank + 1);
                left = new BinaryExpr(at, match.Op, left, right);
            }
            return left;
        }

        Expr Unary()
        {
            c.SkipSpace();
            int at = c.Position;
            char ch = c.Peek;
            if (ch is '-' or '~' or '!' or '+')
            {
                c.Position++;
                return new UnaryExpr(at, ch, Unary());
            }
            if (ch == '(')
            {
                c.Position++;
                var inner = Binary(0);
                if (!c.Accept(')'))
                    return Fail("missing ')'", c.Position);
                return inner;
            }
            if (ch == '\'')
            {
                c.Position++;
                if (c.Position >= c.Text.Length)
                    return Fail("missing character after '", at);
                long value;
                if (c.Text[c.Position] == '\\')
                {
                    c.Position++;
                    value = c.Escape();
                }
                else
                    value = c.Text[c.Position++];
                if (c.Peek == '\'')
                    c.Position++;
                return new ConstantExpr(at, value);
            }
            if (char.IsAsciiDigit(ch))
                return Number(at);
            if (ch == '.' && !Cursor.IsSymbolPart(c.PeekAt(1)))
            {
                c.Position++;
                return new DotExpr(at);
            }
            if (c.Identifier() is { } name)
                return new SymbolExpr(at, labels.Reference(name));
            return Fail(c.Position >= c.Text.Length ? "expected an expression" : $"unexpected '{ch}' in expression", at);
        }

        /// <summary>0x hex, 0b binary, leading-0 octal, decimal; and numeric local label references such as 1b and 2f.</summary>
        Expr Number(int at)
        {
            int end = at;
            while (end < c.Text.Length && char.IsAsciiLetterOrDigit(c.Text[end]))
                end++;
            string token = c.Text[at..end];
            c.Position = end;
            if (token.Length >= 2 && token[^1] is 'b' or 'f' && token[..^1].All(char.IsAsciiDigit))
                return new SymbolExpr(at, labels.LocalLabel(int.Parse(token[..^1]), token[^1] == 'f'));
            try
            {
                ulong value = token switch
                {
                    _ when token.StartsWith("0x", StringComparison.OrdinalIgnoreCase) => Convert.ToUInt64(token[2..], 16),
                    _ when token.StartsWith("0b", StringComparison.OrdinalIgnoreCase) => Convert.ToUInt64(token[2..], 2),
                    _ when token.Length > 1 && token[0] == '0' => Convert.ToUInt64(token[1..], 8),
                    _ => ulong.Parse(token, System.Globalization.CultureInfo.InvariantCulture),
                };
                return new ConstantExpr(at, (long)value);
            }
            catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
            {
                return Fail($"bad number '{token}'", at);
            }
        }
    }

    /// <summary>Evaluates an expression against symbol values.</summary>
    public static Evaluation Evaluate(Expr expr, ISymbolValues symbols)
    {
        switch (expr)
        {
            case ConstantExpr k:
                return new Evaluation(new Value(k.Value));
            case DotExpr:
                return new Evaluation(symbols.Dot);
            case SymbolExpr s:
                return symbols.TryGetValue(s.Name, out var v) ? new Evaluation(v) : new Evaluation(default, Undefined: s.Name);
            case UnaryExpr u:
            {
                var e = Evaluate(u.Operand, symbols);
                if (!e.Known || u.Operator == '+')
                    return e;
                if (!e.Value.IsAbsolute)
                    return Invalid(u);
                long x = e.Value.Offset;
                return new Evaluation(new Value(u.Operator switch { '-' => -x, '~' => ~x, _ => x == 0 ? 1 : 0 }));
            }
            case BinaryExpr b:
            {
                var l = Evaluate(b.Left, symbols);
                if (!l.Known)
                    return l;
                var r = Evaluate(b.Right, symbols);
                if (!r.Known)
                    return r;
                return Apply(b, l.Value, r.Value);
            }
            default:
                throw new InvalidOperationException($"unknown expression node {expr.GetType().Name}");
        }
    }

    static Evaluation Invalid(Expr at) => new(default, Error: "invalid operands: only + and - apply to an address", ErrorPosition: at.Position);

    static Evaluation Apply(BinaryExpr b, Value l, Value r)
    {
        if (b.Operator == BinaryOperator.Add && (l.IsAbsolute || r.IsAbsolute))
            return new Evaluation(new Value(l.Offset + r.Offset, l.Base ?? r.Base));
        if (b.Operator == BinaryOperator.Subtract && r.IsAbsolute)
            return new Evaluation(new Value(l.Offset - r.Offset, l.Base));
        if (b.Operator == BinaryOperator.Subtract && !l.IsAbsolute)
            return Equals(l.Base, r.Base)
                ? new Evaluation(new Value(l.Offset - r.Offset))
                : new Evaluation(default, Error: "can't subtract symbols in different sections", ErrorPosition: b.Position);
        if (!l.IsAbsolute || !r.IsAbsolute)
            return Invalid(b);
        long x = l.Offset, y = r.Offset;
        if (b.Operator is BinaryOperator.Divide or BinaryOperator.Modulus && y == 0)
            return new Evaluation(default, Error: "division by zero", ErrorPosition: b.Position);
        long result = b.Operator switch
        {
            BinaryOperator.Multiply => x * y,
            BinaryOperator.Divide => x / y,
            BinaryOperator.Modulus => x % y,
            BinaryOperator.ShiftLeft => (ulong)y >= 64 ? 0 : x << (int)y,
            BinaryOperator.ShiftRight => (ulong)y >= 64 ? 0 : (long)((ulong)x >> (int)y),
            BinaryOperator.Or => x | y,
            BinaryOperator.OrNot => x | ~y,
            BinaryOperator.Xor => x ^ y,
            BinaryOperator.And => x & y,
            BinaryOperator.Add => x + y,
            BinaryOperator.Subtract => x - y,
            BinaryOperator.Equal => x == y ? -1 : 0,
            BinaryOperator.NotEqual => x != y ? -1 : 0,
            BinaryOperator.Less => x < y ? -1 : 0,
            BinaryOperator.LessOrEqual => x <= y ? -1 : 0,
            BinaryOperator.Greater => x > y ? -1 : 0,
            BinaryOperator.GreaterOrEqual => x >= y ? -1 : 0,
            BinaryOperator.LogicalAnd => x != 0 && y != 0 ? 1 : 0,
            BinaryOperator.LogicalOr => x != 0 || y != 0 ? 1 : 0,
            _ => throw new InvalidOperationException($"unknown operator {b.Operator}"),
        };
        return new Evaluation(new Value(result));
    }
}
