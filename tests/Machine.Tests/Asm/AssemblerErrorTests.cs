using Repl.Machine.Asm;

namespace Repl.Machine.Tests.Asm;

/// <summary>Diagnostics of the assembler proper: GNU as's messages, at file:line:col, every one of a run.</summary>
public class AssemblerErrorTests
{
    static AssemblyResult Assemble(string source) => Assembler.Assemble(source, new AsmOptions { FileName = "e.S" });

    /// <summary>The only diagnostic of the run, which must have the given severity, location and message.</summary>
    static void AssertSingle(string source, DiagnosticSeverity severity, string location, string message)
    {
        var result = Assemble(source);
        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal((severity, location, message), (diagnostic.Severity, diagnostic.Location.ToString(), diagnostic.Message));
    }

    [Theory]
    [InlineData(".data\n  .foo 1\n", "e.S:2:3", "unknown pseudo-op: `.foo'")]
    [InlineData("x: nop\n x: nop\n", "e.S:2:2", "symbol `x' is already defined")]
    [InlineData(".equiv K, 1\n.equiv K, 2\n", "e.S:2:8", "symbol `K' is already defined")]
    [InlineData("lbl: nop\nlbl = 3\n", "e.S:2:1", "symbol `lbl' is already defined")]
    [InlineData(".byte 1 2\n", "e.S:1:9", "junk at end of line, first unrecognized character is `2'")]
    [InlineData(".data\n.long missing\n", "e.S:2:7", "undefined symbol `missing'")]
    [InlineData(".data\n.long 1f\n", "e.S:2:7", "local label `\"1\" (instance number 1 of a fb label)' is not defined")]
    [InlineData(".data\n.byte later\nlater = 0x100\n", "e.S:2:7", "value of 0x100 too large for field of 1 byte")]
    [InlineData(".p2align 2\n.balign 3\n", "e.S:2:9", "alignment not a power of 2")]
    [InlineData(".byte 1, 2\n.org 1\n", "e.S:2:6", "attempt to move .org backwards")]
    [InlineData(".bss\n.byte 1\n", "e.S:2:7", "attempt to store non-zero value in section `.bss'")]
    [InlineData(".bss\nnop\n", "e.S:2:1", "attempt to store non-zero value in section `.bss'")]
    [InlineData(".error \"stop here\"\n", "e.S:1:1", "stop here")]
    [InlineData(".error\n", "e.S:1:1", ".error directive invoked in source file")]
    [InlineData(".err\n", "e.S:1:1", ".err encountered")]
    [InlineData(".incbin \"no/such/file.bin\"\n", "e.S:1:9", "file not found: no/such/file.bin")]
    [InlineData(".section .x,\"a\",@weird\n", "e.S:1:17", "unrecognized section type `weird'")]
    [InlineData(".type f, @gadget\n", "e.S:1:10", "unrecognized symbol type \"gadget\"")]
    [InlineData(".data\n.byte (1 + 2\n", "e.S:2:13", "missing ')'")]
    [InlineData(".data\n.long 1 / 0\n", "e.S:2:9", "division by zero")]
    [InlineData(".text 1\n", "e.S:1:7", "subsections are not supported")]
    [InlineData(".fill x\n", "e.S:1:7", "expected an absolute expression")]
    [InlineData(".ascii \"open\n", "e.S:1:8", "unterminated string")]
    [InlineData(".text\nt: nop\n.data\nd: .long d - t\n", "e.S:4:12", "can't subtract symbols in different sections")]
    [InlineData(".data\n.skip 1f - later\n1: .byte 0\nlater:\n", "e.S:2:7", "expected a non-negative absolute size")]
    [InlineData(".p2align 31\n", "e.S:1:10", "alignment too large: at most 1073741824 bytes")]
    [InlineData(".skip 0x100000000\n", "e.S:1:7", "size too large: at most 1073741824 bytes")]
    [InlineData(".fill 0x10000000, 8, 0\n", "e.S:1:7", "size too large: at most 1073741824 bytes")]
    [InlineData(".org 0x7fffffff0000\n", "e.S:1:6", ".org too far: at most 1073741824 bytes of padding")]
    [InlineData(".data\n.byte 1\n.balignw 4, 0x1234\n", "e.S:3:1", "alignment padding (3 bytes) not a multiple of 2")]
    public void Errors_name_the_place_and_the_problem(string source, string location, string message) =>
        AssertSingle(source, DiagnosticSeverity.Error, location, message);

    [Theory]
    [InlineData(".data\n.byte 256\n", "e.S:2:7", "value 0x100 truncated to 0x0")]
    [InlineData(".data\n.short 0x12345\n", "e.S:2:8", "value 0x12345 truncated to 0x2345")]
    [InlineData(".warning \"careful\"\n", "e.S:1:1", "careful")]
    [InlineData(".popsection\n", "e.S:1:1", ".popsection without corresponding .pushsection; ignored")]
    [InlineData(".bss\n.skip 4, 1\n", "e.S:2:7", "ignoring fill value in section `.bss'")]
    [InlineData(".fill -1, 1, 0\n", "e.S:1:7", "repeat < 0; .fill ignored")]
    [InlineData(".text\nret\n.balignw 8\n", "e.S:3:10", "expected fill pattern missing")]
    [InlineData(".data\n.skip -1\n", "e.S:2:7", ".space repeat count is zero, ignored")]
    [InlineData(".data\n.zero 0\n", "e.S:2:7", ".space repeat count is zero, ignored")]
    public void Warnings_as_gnu_as_warns_do_not_fail_the_run(string source, string location, string message)
    {
        AssertSingle(source, DiagnosticSeverity.Warning, location, message);
        Assert.True(Assemble(source).Success);
    }

    [Fact]
    public void Byte_values_that_fit_signed_or_unsigned_need_no_warning()
    {
        Assert.Empty(Assemble(".byte -128, -1, 255, -129\n.short -32768, 65535\n.long -1, 0xffffffff\n").Diagnostics);
    }

    [Fact]
    public void Every_error_of_a_run_is_reported_in_source_order()
    {
        var result = Assemble(".foo\nnop\n.byte 1 2\nx: x: nop\n.bar\n");

        Assert.False(result.Success);
        Assert.Equal(["e.S:1:1", "e.S:3:9", "e.S:4:4", "e.S:5:1"], result.Diagnostics.Select(d => d.Location.ToString()));
    }

    [Fact]
    public void An_unknown_instruction_is_the_encoders_error_at_the_mnemonic()
    {
        var result = Assemble("nop\n   frobnicate %eax\n");

        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Equal("e.S:2:4", diagnostic.Location.ToString());
    }

    [Fact]
    public void A_jump_to_an_undefined_label_is_an_error_at_its_line()
    {
        var result = Assemble("nop\njmp nowhere\n");

        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal(2, diagnostic.Location.Line);
        Assert.Contains("nowhere", diagnostic.Message);
    }

    [Fact]
    public void An_error_inside_a_macro_carries_the_expansion_chain()
    {
        var result = Assemble(".macro bad\n.byte 1 2\n.endm\nbad\n");

        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal("e.S:2:9", diagnostic.Location.ToString());
        Assert.Equal("e.S:4", $"{diagnostic.Chain.Single().Location.File}:{diagnostic.Chain.Single().Location.Line}");
    }

    [Theory]
    [InlineData(".section\n")]
    [InlineData(".org\n")]
    [InlineData(".p2align\n")]
    [InlineData(".globl\n")]
    [InlineData(".size f\n")]
    [InlineData(".equ\n")]
    [InlineData(".incbin\n")]
    [InlineData(". =\n")]
    [InlineData("= 5\n")]
    [InlineData(".long ,\n")]
    [InlineData(".fill 1, 99, 1\n.p2align 99\n")]
    [InlineData("x = x + 1\n.byte x\n")]
    [InlineData(".org undefined_thing\n")]
    [InlineData("1:\n1:\n.byte 1b, 2b\n")]
    public void Malformed_input_gives_diagnostics_never_an_exception(string source)
    {
        var result = Assemble(source);

        Assert.NotEmpty(result.Diagnostics);
        Assert.DoesNotContain(result.Diagnostics, d => d.Message.StartsWith("internal error", StringComparison.Ordinal));
    }

    [Fact]
    public void The_caret_keeps_the_source_lines_tabs_so_it_stands_under_the_error_in_a_terminal()
    {
        var diagnostic = Assert.Single(Assemble("\tjmp\tnowhere\n").Diagnostics);

        Assert.Equal("e.S:1:6: error: undefined symbol `nowhere'\n  \tjmp\tnowhere\n  \t   \t^\n", diagnostic.ToString().ReplaceLineEndings("\n"));
    }
}
