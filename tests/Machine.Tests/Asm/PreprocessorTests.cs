using System.Text;
using Repl.Machine.Asm;

namespace Repl.Machine.Tests.Asm;

public class PreprocessorTests
{
    /// <summary>A host whose symbols are a dictionary of absolute values, as the assembler proper would offer them.</summary>
    sealed class Host : IPreprocessorHost, ISymbolValues
    {
        public readonly Dictionary<string, long> Symbols = [];
        public Evaluation EvaluateNow(Expr expr) => Expressions.Evaluate(expr, this);
        public bool IsDefined(string name) => Symbols.ContainsKey(name);
        public string LocalLabel(int number, bool forward) => $"{number}{(forward ? 'f' : 'b')}";
        public bool TryGetValue(string name, out Value value)
        {
            bool known = Symbols.TryGetValue(name, out long v);
            value = new Value(v);
            return known;
        }
        public Value Dot => new(0, "text");
    }

    readonly Host host = new();
    readonly DiagnosticBag diagnostics = new();
    readonly Dictionary<string, string> disk = [];

    Preprocessor Open(string text)
    {
        var options = new AsmOptions
        {
            FileName = "t.s",
            ReadFile = path => disk.TryGetValue(path, out var content) ? Encoding.UTF8.GetBytes(content) : null,
            IncludePaths = ["inc"],
        };
        var preprocessor = new Preprocessor(options, host, diagnostics);
        preprocessor.PushFile("t.s", text);
        return preprocessor;
    }

    static List<Statement> ReadAll(Preprocessor preprocessor)
    {
        var all = new List<Statement>();
        while (preprocessor.Next() is { } statement)
            all.Add(statement);
        return all;
    }

    List<Statement> Statements(string text) => ReadAll(Open(text));

    List<string> Texts(string text) => Statements(text).Select(s => s.Text).ToList();

    List<string> Errors => diagnostics.All.Select(d => $"{d.Location}: {d.Message}").ToList();

    [Fact]
    public void Hash_comments_end_the_line_and_semicolons_split_statements()
    {
        Assert.Equal(["nop", "ret", "mov %rax, %rbx"], Texts("nop ; ret # ; hlt\n\n   mov %rax, %rbx   \n# all comment\n;;\n"));
        Assert.Empty(diagnostics.All);
    }

    [Fact]
    public void Hash_and_semicolon_inside_strings_and_character_constants_are_text()
    {
        Assert.Equal([".ascii \"a#b;c\\\"#\"", ".byte '#", ".byte ';", "mov $'#', %al", "nop"],
            Texts(".ascii \"a#b;c\\\"#\" # comment\n.byte '#;.byte ';\nmov $'#', %al;nop"));
    }

    [Fact]
    public void Block_comments_may_span_lines_and_keep_the_columns_of_what_follows()
    {
        var all = Statements("nop /* one\n two ; three */ ret\n/* x */ hlt");
        Assert.Equal(["nop", "ret", "hlt"], all.Select(s => s.Text));
        Assert.Equal(new SourceLocation("t.s", 2, 17), all[1].Location);
        Assert.Equal(" two ; three */ ret", all[1].SourceLine);
        Assert.Equal(new SourceLocation("t.s", 3, 9), all[2].Location);
    }

    [Fact]
    public void A_slash_at_the_start_of_a_line_is_a_comment()
    {
        Assert.Equal(["nop", "shr $1, %eax"], Texts("  / a comment\nnop\nshr $1, %eax\n"));
    }

    [Fact]
    public void Statements_carry_their_column_and_physical_line()
    {
        var all = Statements("\tnop;  ret\n");
        Assert.Equal(new SourceLocation("t.s", 1, 2), all[0].Location);
        Assert.Equal(new SourceLocation("t.s", 1, 8), all[1].Location);
        Assert.All(all, s => Assert.Equal("\tnop;  ret", s.SourceLine));
        Assert.All(all, s => Assert.Empty(s.Chain));
    }

    [Fact]
    public void Include_reads_the_file_beside_the_including_one_then_the_include_paths()
    {
        disk["sub/a.s"] = "a1\n.include \"b.s\"\na2";
        disk["sub/b.s"] = "b1";
        disk["inc/c.s"] = "c1";
        var preprocessor = Open("m1\n.include \"sub/a.s\"\n.include \"c.s\"\nm2");
        var all = ReadAll(preprocessor);
        Assert.Equal(["m1", "a1", "b1", "a2", "c1", "m2"], all.Select(s => s.Text));
        Assert.Equal(new SourceLocation("sub/b.s", 1, 1), all[2].Location);
        Assert.Equal(["t.s", "sub/a.s", "sub/b.s", "inc/c.s"], preprocessor.Files);
        Assert.Empty(diagnostics.All);
    }

    [Fact]
    public void Include_of_a_missing_file_is_an_error_at_its_name()
    {
        Assert.Equal(["nop"], Texts(".include \"nope.s\"\nnop"));
        Assert.Equal(["t.s:1:10: can't open nope.s for reading: No such file or directory"], Errors);
    }

    [Fact]
    public void End_stops_reading_even_inside_an_include()
    {
        disk["a.s"] = "a1\n.end\na2";
        Assert.Equal(["m1", "a1"], Texts("m1\n.include \"a.s\"\nm2"));
    }
}
