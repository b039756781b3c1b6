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
    public void A_cpp_line_marker_sets_the_file_and_line_of_the_next_line()
    {
        var preprocessor = Open("# 10 \"entry.S\"\nnop\n# 20\nret\n# 30 \"other.S\" 2\nhlt");
        var all = ReadAll(preprocessor);
        Assert.Equal([new SourceLocation("entry.S", 10, 1), new SourceLocation("entry.S", 12, 1), new SourceLocation("other.S", 30, 1)],
            all.Select(s => s.Location));
        Assert.Equal(["t.s", "entry.S", "other.S"], preprocessor.Files);
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

    [Fact]
    public void Macro_arguments_replace_backslash_names_positionally_or_by_keyword_with_defaults()
    {
        Assert.Equal([".byte 5, 2", ".byte 7, 8", ".byte 5, 9", ".byte 1+2, 3"], Texts("""
            .macro m a=5 b
            .byte \a, \b
            .endm
            m b=2
            m 7,8
            m ,9
            m 1 + 2, 3
            """));
        Assert.Empty(diagnostics.All);
    }

    [Fact]
    public void Macro_arguments_split_at_blanks_between_operands_but_not_beside_operators()
    {
        Assert.Equal(["1|-2", "1|-", "1+2|", "%rax|%rbx", "8(%rax)|%rbx", "x y|z", "1|'a", "(1|2)", "(1 2)|3", "(1)(2)|"], Texts("""
            .macro m a b
            \a|\b
            .endm
            m 1 -2
            m 1 -
            m 1 +2
            m %rax %rbx
            m 8(%rax), %rbx
            m "x y" z
            m 1 'a
            m (1, 2)
            m (1 2), 3
            m (1)(2)
            """));
    }

    [Fact]
    public void Parameter_names_are_read_as_far_as_symbol_characters_go_and_backslash_parens_separate()
    {
        Assert.Equal(["2 \\a.b 10 \\A \\1"], Texts("""
            .macro m a ab
            \ab \a.b \a\()0 \A \\a
            .endm
            m 1 2
            """));
    }

    [Fact]
    public void Vararg_takes_the_rest_of_the_line_commas_included_blanks_squeezed_as_GNU_as_does()
    {
        Assert.Equal([".byte 1", ".byte 2,\"3\" 4+5"], Texts("""
            .macro m a b:vararg
            .byte \a
            .byte \b
            .endm
            m 1, 2 ,  "3"   4 + 5
            """));
    }

    [Fact]
    public void Backslash_at_counts_macro_expansions_but_not_repetitions()
    {
        Assert.Equal(["0", "0", "1", "1", "2"], Texts("""
            .macro m
            .rept 2
            \@
            .endr
            .endm
            .macro n
            \@
            .endm
            m
            m
            n
            """));
    }

    [Fact]
    public void A_missing_required_argument_is_an_error_at_the_invocation()
    {
        Assert.Empty(Texts(".macro m a:req\n.byte \\a\n.endm\n  m"));
        Assert.Equal(["t.s:4:3: Missing value for required parameter `a' of macro `m'"], Errors);
    }

    [Fact]
    public void Definition_and_invocation_errors_name_the_parameter_and_macro()
    {
        Texts("""
            .macro m a
            .endm
            m x=1
            m 1, 2
            m a=1 a=2
            m a=1, 2
            .macro m
            .endm
            .macro m2 a:foo
            .endm
            .macro m3 a, a
            .endm
            .macro
            .endm
            """);
        Assert.Equal(["t.s:3:3: Parameter named `x' does not exist for macro `m'", "t.s:4:6: too many positional arguments",
                      "t.s:5:7: Value for parameter `a' of macro `m' was already specified", "t.s:6:8: can't mix positional and keyword arguments",
                      "t.s:7:8: Macro `m' was already defined", "t.s:9:11: `foo' is not a valid parameter qualifier for `a' in macro `m2'",
                      "t.s:11:14: A parameter named `a' already exists for macro `m3'", "t.s:13:7: Missing macro name"], Errors);
    }

    [Fact]
    public void Expanded_statements_point_at_the_body_line_and_chain_to_the_invocation()
    {
        var all = Statements(".macro inner\n  nop\n.endm\n.macro outer\n inner\n.endm\n\n   outer");
        var nop = Assert.Single(all);
        Assert.Equal(new SourceLocation("t.s", 2, 3), nop.Location);
        Assert.Equal("  nop", nop.SourceLine);
        Assert.Equal([new Expansion("macro inner", new SourceLocation("t.s", 5, 2)), new Expansion("macro outer", new SourceLocation("t.s", 8, 4))], nop.Chain);
    }

    [Fact]
    public void Expanded_statements_show_the_expanded_line_so_columns_match_it()
    {
        var all = Statements(".macro m a, b\n  .byte \\a ; .byte \\b # \\a\n.endm\nm 100000, 2");
        Assert.Equal([".byte 100000", ".byte 2"], all.Select(s => s.Text));
        Assert.All(all, s => Assert.Equal("  .byte 100000 ; .byte 2 # 100000", s.SourceLine));
        Assert.Equal([3, 18], all.Select(s => s.Location.Column));
        Assert.All(all, s => Assert.Equal(2, s.Location.Line));
    }

    [Fact]
    public void Labels_before_an_invocation_come_out_before_the_expansion()
    {
        var all = Statements(".macro m\nnop\n.endm\nl1: l2: m\n1: .rept 1\nret\n.endr\nx: nop");
        Assert.Equal(["l1: l2:", "nop", "1:", "ret", "x: nop"], all.Select(s => s.Text));
        Assert.Equal(new SourceLocation("t.s", 4, 1), all[0].Location);
        Assert.Equal([new Expansion("macro m", new SourceLocation("t.s", 4, 9))], all[1].Chain);
        Assert.Equal([new Expansion(".rept", new SourceLocation("t.s", 5, 4))], all[3].Chain);
    }

    [Fact]
    public void Macro_names_ignore_case_and_may_be_purged()
    {
        Assert.Equal(["nop", "M"], Texts(".macro M\nnop\n.endm\nm\n.purgem m\nM\n.purgem m"));
        Assert.Equal(["t.s:7:9: Attempt to purge non-existing macro `m'"], Errors);
    }

    [Fact]
    public void An_assignment_to_a_macro_name_is_not_an_invocation()
    {
        Assert.Equal(["m = 1", "m=2", "expanded ==3"], Texts(".macro m a\nexpanded \\a\n.endm\nm = 1\nm=2\nm == 3"));
    }

    [Fact]
    public void A_macro_may_define_another()
    {
        Assert.Equal(["inner 7"], Texts(".macro outer name\n.macro \\name v\ninner \\v\n.endm\n.endm\nouter sub\nsub 7"));
    }

    [Fact]
    public void Exitm_leaves_the_macro_and_the_conditionals_it_opened()
    {
        Assert.Equal(["1", "4"], Texts(".macro m\n1\n.if 1\n.exitm\n.endif\n2\n.endm\nm\n4"));
        Assert.Empty(diagnostics.All);
    }

    [Fact]
    public void Exitm_in_a_repetition_leaves_all_of_it_and_only_it()
    {
        Assert.Equal(["1", "2", "3", "4"], Texts(".macro m\n.if 1\n.rept 3\n1\n.if 1\n.exitm\n.endif\n.endr\n.endif\n2\n.endm\nm\n.rept 5\n3\n.exitm\n.endr\n4"));
        Assert.Empty(diagnostics.All);
    }

    [Fact]
    public void Unbounded_recursion_stops_with_a_fatal_error()
    {
        Assert.Empty(Texts(".macro m\nm\nm\n.endm\nm\nnop"));
        var error = Assert.Single(diagnostics.All);
        Assert.Equal("macros nested too deeply", error.Message);
        Assert.Equal(101, error.Chain.Count);
    }

    [Fact]
    public void Recursion_a_hundred_deep_is_allowed_as_in_GNU_as()
    {
        Assert.Equal(["done"], Texts(".macro r n\n.if \\n\nr \\n-1\n.else\ndone\n.endif\n.endm\nr 100"));
        Assert.Empty(diagnostics.All);
    }

    [Fact]
    public void Rept_repeats_and_nests()
    {
        var all = Statements(".rept 2\na\n.rept 2\nb\n.endr\n.endr\n.rept 0\nc\n.endr");
        Assert.Equal(["a", "b", "b", "a", "b", "b"], all.Select(s => s.Text));
        Assert.Equal([new Expansion(".rept", new SourceLocation("t.s", 3, 1)), new Expansion(".rept", new SourceLocation("t.s", 1, 1))], all[1].Chain);
    }

    [Fact]
    public void Rept_needs_a_known_non_negative_count()
    {
        Assert.Empty(Texts(".rept -1\na\n.endr\n.rept x\nb\n.endr"));
        Assert.Equal(["t.s:1:9: negative count for REPT - ignored", "t.s:4:7: bad or irreducible absolute expression"], Errors);
    }

    [Fact]
    public void Irp_and_irpc_substitute_each_value()
    {
        Assert.Equal(["push %rax", "push %rbx", "push x y", ".byte 4", ".byte 5", "[]"], Texts("""
            .irp r, %rax %rbx, "x y"
            push \r
            .endr
            .irpc c, 45
            .byte \c
            .endr
            .irp r
            [\r]
            .endr
            """));
        Assert.Equal(".irp", Assert.Single(Statements(".irp r, 1\n\\r\n.endr")).Chain[0].What);
    }

    [Fact]
    public void Unterminated_bodies_are_errors_at_their_opening_line()
    {
        Texts("nop\n.macro m\nnop");
        Texts(".rept 2\nnop");
        Texts(".irpc c, ab\nnop");
        Assert.Equal(["t.s:2:1: unexpected end of file in macro `m' definition", "t.s:1:1: REPT without ENDR",
                      "t.s:1:1: unexpected end of file in irp or irpc"], Errors);
    }

    [Fact]
    public void A_body_goes_on_past_the_end_of_an_include_or_an_expansion()
    {
        disk["head.s"] = ".macro m\n1";
        Assert.Equal(["1", "2", "3", "x", "3", "x"], Texts(".include \"head.s\"\n2\n.endm\nm\n.macro n\n.rept 2\n3\n.endm\nn\nx\n.endr"));
        Assert.Empty(diagnostics.All);
    }

    [Fact]
    public void Stray_ends_are_warnings()
    {
        Assert.Empty(Texts(".endm\n.endr\n.exitm"));
        Assert.Equal(["t.s:1:1: .endm encountered without preceding .macro", "t.s:2:1: .endr encountered without preceding .rept, .irp, or .irpc",
                      "t.s:3:1: ignoring macro exit outside a macro definition."], Errors);
        Assert.All(diagnostics.All, d => Assert.Equal(DiagnosticSeverity.Warning, d.Severity));
    }

    [Fact]
    public void If_family_selects_by_the_value_of_an_expression()
    {
        host.Symbols["five"] = 5;
        Assert.Equal(["if", "ifne", "ifge", "ifgt", "ifle0", "iflt", "ifeq"], Texts("""
            .if five - 5
            no
            .endif
            .if five * 2 == 10
            if
            .endif
            .ifne five
            ifne
            .endif
            .ifge 0
            ifge
            .endif
            .ifgt 0
            no
            .endif
            .ifgt 1
            ifgt
            .endif
            .ifle 0
            ifle0
            .endif
            .ifle 1
            no
            .endif
            .iflt -1
            iflt
            .endif
            .ifeq 0
            ifeq
            .endif
            """));
        Assert.Empty(diagnostics.All);
    }

    [Fact]
    public void Else_and_elseif_take_the_first_true_branch_only()
    {
        Assert.Equal(["two", "other"], Texts("""
            .if 0
            one
            .elseif 1
            two
            .elseif 1
            three
            .else
            four
            .endif
            .if 0
            .elseif 0
            .else
            other
            .endif
            """));
    }

    [Fact]
    public void Skipped_regions_keep_nesting_and_neither_evaluate_nor_collect_bodies()
    {
        Assert.Equal(["after"], Texts("""
            .if 0
            .if undefined_symbol
            .error "x"
            .else
            .error "y"
            .endif
            .rept 0 - - -
            .endr
            .macro m
            .endif
            after
            """));
        Assert.Empty(diagnostics.All);
    }

    [Fact]
    public void Ifdef_ifb_ifc_and_ifeqs_test_symbols_and_text()
    {
        host.Symbols["known"] = 1;
        Assert.Equal(["ifdef", "ifndef", "ifnotdef", "ifb", "ifnb", "ifc", "ifc spaces", "ifnc second comma", "ifnc case", "ifnc quotes", "ifeqs", "ifnes"], Texts("""
            .ifdef known
            ifdef
            .endif
            .ifndef unknown
            ifndef
            .endif
            .ifnotdef known
            no
            .else
            ifnotdef
            .endif
            .ifb
            ifb
            .endif
            .ifnb x
            ifnb
            .endif
            .ifc a,a
            ifc
            .endif
            .ifc a  b , a b
            ifc spaces
            .endif
            .ifnc a,a,
            ifnc second comma
            .endif
            .ifnc A,a
            ifnc case
            .endif
            .ifnc "a",a
            ifnc quotes
            .endif
            .ifeqs "a,b", "a,b"
            ifeqs
            .endif
            .ifnes "a","b"
            ifnes
            .endif
            """));
        Assert.Empty(diagnostics.All);
    }

    [Fact]
    public void A_macro_argument_can_be_tested_for_blank()
    {
        Assert.Equal(["push %rax", "none"], Texts(".macro m r\n.ifnb \\r\npush \\r\n.else\nnone\n.endif\n.endm\nm %rax\nm"));
    }

    [Fact]
    public void Conditional_errors_use_GNU_as_wording()
    {
        Texts("""
            .if x
            .endif
            .if
            .endif
            .if 1 2
            .endif
            .else
            .endif
            .elseif 1
            .if 1
            .else
            .else
            .elseif 0
            .endif
            .ifdef 1
            .endif
            .ifeqs a,"a"
            .endif
            .ifc a
            .endif
            """);
        Assert.Equal([
            "t.s:1:5: non-constant expression in \".if\" statement", "t.s:3:4: non-constant expression in \".if\" statement",
            "t.s:5:7: junk at end of line, first unrecognized character is `2'", "t.s:7:1: \".else\" without matching \".if\"",
            "t.s:8:1: \".endif\" without \".if\"", "t.s:9:1: \".elseif\" without matching \".if\"", "t.s:12:1: duplicate \".else\"",
            "t.s:13:1: \".elseif\" after \".else\"", "t.s:15:8: invalid identifier for \".ifdef\"", "t.s:17:8: missing string",
            "t.s:19:1: bad format for ifc or ifnc"], Errors);
    }

    [Fact]
    public void An_unterminated_conditional_is_an_error_at_its_opening_line()
    {
        Assert.Equal(["nop", "nop"], Texts("nop\n.if 1\nnop"));
        Assert.Equal(["t.s:2:1: end of file inside conditional"], Errors);
    }

    [Fact]
    public void A_conditional_left_open_by_a_macro_is_an_error_at_the_macro_end()
    {
        Assert.Equal(["after"], Texts(".macro m\n.if 0\n.endm\nm\nafter"));
        Assert.Equal(["t.s:2:1: end of macro inside conditional"], Errors);
    }

    [Fact]
    public void Error_directives_pass_through_only_when_selected()
    {
        Assert.Equal([".error \"yes\"", ".warning \"w\"", ".print \"p\""], Texts(".if 0\n.error \"no\"\n.else\n.error \"yes\"\n.endif\n.warning \"w\"\n.print \"p\""));
    }

    [Fact]
    public void An_empty_body_repeated_without_end_costs_nothing()
    {
        Assert.Equal(["after"], Texts(".rept 0x7fffffffffffffff\n.endr\nafter"));
    }

    [Fact]
    public void Random_fragments_of_preprocessor_syntax_never_throw()
    {
        string[] pieces = [".macro m a b:req c=1 d:vararg", ".endm", ".rept 2", ".rept", ".endr", ".irp x, 1 2", ".irpc c, \"ab", ".if 1",
                           ".if (", ".else", ".elseif 0", ".endif", ".ifc a,", ".ifeqs \"", ".ifdef", ".ifb", ".exitm", ".purgem m",
                           "m", "m 1, 2, 3", "m b=", "m \"", "l: m", "\\a\\@\\()", "'", "'\\", "\"x;", "/*", "*/", "#", ";", ",", "=",
                           ".include", ".include \"", ".end", "1:", "m = 1", "(", ")", "\t", " "];
        var random = new Random(4);
        for (int run = 0; run < 300; run++)
        {
            var text = new StringBuilder();
            for (int n = random.Next(1, 40); n > 0; n--)
                text.Append(pieces[random.Next(pieces.Length)]).Append(random.Next(3) == 0 ? "\n" : " ");
            var preprocessor = new Preprocessor(new AsmOptions { ReadFile = _ => null }, host, new DiagnosticBag());
            preprocessor.PushFile("fuzz.s", text.ToString());
            for (int limit = 0; limit < 100_000 && preprocessor.Next() is not null; limit++)
            {
            }
        }
    }
}
