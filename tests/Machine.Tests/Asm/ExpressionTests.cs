using System.Buffers.Binary;
using Repl.Machine.Asm;
using Repl.Qemu;
using Xunit.Abstractions;

namespace Repl.Machine.Tests.Asm;

public class ExpressionTests(ITestOutputHelper output)
{
    sealed class NoLocals : ILocalLabels
    {
        public string LocalLabel(int number, bool forward) => $"L{number}{(forward ? "f" : "b")}";
    }

    sealed class Symbols(Dictionary<string, Value> values, Value dot = default) : ISymbolValues
    {
        public bool TryGetValue(string name, out Value value) => values.TryGetValue(name, out value);
        public Value Dot => dot;
    }

    static Evaluation Eval(string text, Dictionary<string, Value>? symbols = null, Value dot = default)
    {
        var expr = Expressions.Parse(new Cursor(text, new SourceLocation("t.S", 1, 1)), new NoLocals(), out var error, out _);
        Assert.True(expr is not null, $"'{text}' did not parse: {error}");
        return Expressions.Evaluate(expr!, new Symbols(symbols ?? [], dot));
    }

    static long Absolute(string text)
    {
        var e = Eval(text);
        Assert.True(e.IsAbsolute(out long v), $"'{text}' is not absolute: {e}");
        return v;
    }

    /// <summary>Operators, precedence, number bases and character constants, each checked against GNU as's .quad.</summary>
    static readonly string[] Corpus =
    [
        "1+2*3", "1|2+3", "6&3==2", "1-1<0", "2<<1+1", "5!3", "1 && 0 || 2", "0 || 0", "3 && 4", "-1>>60", "7%3", "~0<<4",
        "0x10>>2|1", "1<2", "2>1", "3==3", "3<>4", "3!=3", "4>=4", "4<=3", "10/3*3", "!0", "!5", "-(3)", "1<<63", "017",
        "0b101", "9/-2", "-9%4", "0xffffffff+1", "'a", "'a'", "'\\n", "'0+1", "(1+2)*(3+4)", "-2*-3", "+5", "~~7",
        "1<<2<<3", "100/10/5", "8-4-2", "2^3|4&5", "1+2==3&&4", "-1<0", "0x7fffffffffffffff+1", "64>>3>>1", "1<<64",
        "0xFF^0x0F", "12345678901", "0", "1 + 2 * 3 - 4 / 2", "(1 < 2) + (2 < 1)", "5 > 3 == -1",
    ];

    [GasFact]
    public void Constant_expressions_evaluate_as_GNU_as_evaluates_them()
    {
        string dir = Directory.CreateTempSubdirectory("repl-expr-").FullName;
        try
        {
            string s = Path.Combine(dir, "e.S"), o = Path.Combine(dir, "e.o"), bin = Path.Combine(dir, "e.bin");
            File.WriteAllText(s, ".data\n" + string.Concat(Corpus.Select(e => $".quad {e}\n")));
            QemuImage.Tool("as", ["--64", "-o", o, s]);
            QemuImage.Tool("objcopy", ["-O", "binary", "-j", ".data", o, bin]);
            var gas = File.ReadAllBytes(bin);
            Assert.Equal(Corpus.Length * 8, gas.Length);
            var mismatches = Corpus.Select((e, i) => (e, gas: BinaryPrimitives.ReadInt64LittleEndian(gas.AsSpan(i * 8)), ours: Absolute(e)))
                                   .Where(x => x.gas != x.ours).Select(x => $"{x.e}: gas {x.gas}, ours {x.ours}").ToList();
            string line = $"[gas-expressions] {Corpus.Length} expressions compared, {mismatches.Count} mismatches";
            output.WriteLine(line);
            Console.WriteLine(line);
            Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void The_difference_of_two_labels_on_the_same_base_is_absolute()
    {
        var fragment = new object();
        var e = Eval("end - start", new() { ["start"] = new Value(4, fragment), ["end"] = new Value(20, fragment) });
        Assert.True(e.IsAbsolute(out long v));
        Assert.Equal(16, v);
    }

    [Fact]
    public void An_address_plus_a_constant_keeps_its_base()
    {
        var section = new object();
        var e = Eval("4 + label - 1", new() { ["label"] = new Value(8, section) });
        Assert.True(e.Known);
        Assert.Equal(new Value(11, section), e.Value);
    }

    [Fact]
    public void Subtracting_labels_of_different_sections_is_an_error()
    {
        var e = Eval("a - b", new() { ["a"] = new Value(0, "text"), ["b"] = new Value(0, "data") });
        Assert.Equal("can't subtract symbols in different sections", e.Error);
    }

    [Fact]
    public void Multiplying_an_address_is_an_error_at_the_operator()
    {
        var e = Eval("1 + a*2", new() { ["a"] = new Value(0, "text") });
        Assert.NotNull(e.Error);
        Assert.Equal(5, e.ErrorPosition);
    }

    [Fact]
    public void An_undefined_symbol_is_reported_by_name()
    {
        var e = Eval("1 + later");
        Assert.False(e.Known);
        Assert.Equal("later", e.Undefined);
    }

    [Fact]
    public void Dot_is_the_location_counter()
    {
        var e = Eval(". + 2", dot: new Value(0x10, "text"));
        Assert.Equal(new Value(0x12, "text"), e.Value);
    }

    [Fact]
    public void Numeric_local_references_name_the_labels_the_caller_gives()
    {
        var e = Eval("1f - 2b", new() { ["L1f"] = new Value(9, "s"), ["L2b"] = new Value(4, "s") });
        Assert.True(e.IsAbsolute(out long v));
        Assert.Equal(5, v);
    }

    [Fact]
    public void Division_by_zero_is_an_error_not_an_exception()
    {
        Assert.Equal("division by zero", Eval("1/(2-2)").Error);
        Assert.Equal("division by zero", Eval("1%0").Error);
    }

    [Theory]
    [InlineData("1 +", "expected an expression", 3)]
    [InlineData("(1 + 2", "missing ')'", 6)]
    [InlineData("0x", "bad number '0x'", 0)]
    [InlineData("09", "bad number '09'", 0)]
    [InlineData("1 + @", "unexpected '@' in expression", 4)]
    public void Malformed_expressions_give_a_message_and_a_position(string text, string message, int position)
    {
        var expr = Expressions.Parse(new Cursor(text, new SourceLocation("t.S", 1, 1)), new NoLocals(), out var error, out int at);
        Assert.Null(expr);
        Assert.Equal(message, error);
        Assert.Equal(position, at);
    }

    [Fact]
    public void Parsing_stops_before_a_parenthesis_that_follows_an_operand()
    {
        var cursor = new Cursor("8+4(%rax)", new SourceLocation("t.S", 1, 1));
        var expr = Expressions.Parse(cursor, new NoLocals(), out _, out _);
        Assert.NotNull(expr);
        Assert.Equal("(%rax)", cursor.Rest);
    }
}
