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

    /// <summary>The statement with its form chosen, or null with the error and its position.</summary>
    public EncodedInstruction? Choose(string statement, out string? error, out int errorPosition)
        => InstructionAssembler.Assemble(new Cursor(statement, new SourceLocation("test.s", 1, 1)), this, out error, out errorPosition);

    /// <summary>Assembles one statement at <paramref name="ip"/>: its bytes, or null with the error.</summary>
    public byte[]? Assemble(string statement, ulong ip, out string? error)
        => Choose(statement, out error, out _)?.Encode(ip, Final(ip), out error, out _);
}

public sealed class AttInstructionTests
{
    static string Hex(byte[]? bytes) => bytes is null ? "(null)" : Convert.ToHexString(bytes).ToLowerInvariant();

    static string Bytes(string statement, int bitness = 64, ulong ip = 0)
    {
        var bytes = new AsmTestContext(bitness, Later).Assemble(statement, ip, out string? error);
        Assert.True(bytes is not null, $"{statement}: {error}");
        return Hex(bytes);
    }

    static string Error(string statement, int bitness = 64)
    {
        var context = new AsmTestContext(bitness, Later);
        var bytes = context.Assemble(statement, 0, out string? error);
        Assert.Null(bytes);
        return error!;
    }

    static readonly Dictionary<string, long> Later = new() { ["far_label"] = 0x12345, ["zero"] = 0 };

    [Theory]
    [InlineData("mov %eax,%ebx", "89c3")]
    [InlineData("add %rcx,%rdx", "4801ca")]
    [InlineData("xor %r8b,%al", "4430c0")]
    public void A_register_pair_puts_the_destination_in_modrm_rm(string statement, string expected)
        => Assert.Equal(expected, Bytes(statement));

    [Fact]
    public void A_register_operand_sizes_an_unsuffixed_instruction()
    {
        Assert.Equal("66c7000000", Bytes("movw $0,(%rax)"));
        Assert.Equal("6689c3", Bytes("mov %ax,%bx"));
        Assert.Equal("4889c3", Bytes("mov %rax,%rbx"));
    }

    [Theory]
    [InlineData("add $1,(%rax)")]
    [InlineData("incl (%rax)", true)]
    [InlineData("shl (%rbx)")]
    [InlineData("mov $0,8(%rsp)")]
    public void A_memory_operand_without_suffix_or_register_cannot_be_sized(string statement, bool suffixed = false)
    {
        if (suffixed)
            Assert.Equal("ff00", Bytes(statement));
        else
            Assert.Equal("no instruction mnemonic suffix given and no register operands; can't size instruction", Error(statement));
    }

    [Theory]
    [InlineData("push (%rax)", "ff30")]
    [InlineData("call *(%rax)", "ff10")]
    [InlineData("iret", "cf")]
    [InlineData("lret", "cb")]
    [InlineData("push $1", "6a01")]
    public void Stack_and_branch_instructions_take_the_natural_size_without_a_suffix(string statement, string expected)
        => Assert.Equal(expected, Bytes(statement));

    [Theory]
    [InlineData("add $0x7f,%ebx", "83c37f")]
    [InlineData("add $0x80,%ebx", "81c380000000")]
    [InlineData("add $0xffffff80,%ebx", "83c380")]
    [InlineData("add $0x80,%eax", "0580000000")]
    [InlineData("addw $1,%ax", "6683c001")]
    public void A_known_immediate_that_fits_takes_the_sign_extended_imm8_form(string statement, string expected)
        => Assert.Equal(expected, Bytes(statement));

    [Fact]
    public void An_immediate_not_known_yet_takes_the_full_field_even_if_it_turns_out_small()
    {
        Assert.Equal("81c300000000", Bytes("add $zero,%ebx"));
        Assert.Equal("8b8000000000", Bytes("mov zero(%rax),%eax"));
    }

    [Theory]
    [InlineData("movq $-1,%rax", "48c7c0ffffffff")]
    [InlineData("movq $0xffffffff,%rax", "48b8ffffffff00000000")]
    [InlineData("movabs $1,%rax", "48b80100000000000000")]
    [InlineData("mov $1,%eax", "b801000000")]
    public void Mov_of_an_immediate_to_a_64_bit_register_sign_extends_imm32_unless_only_imm64_fits(string statement, string expected)
        => Assert.Equal(expected, Bytes(statement));

    [Theory]
    [InlineData("mov (%rax),%ecx", "8b08")]
    [InlineData("mov 0(%rax),%ecx", "8b08")]
    [InlineData("mov (%rbp),%ecx", "8b4d00")]
    [InlineData("mov 0x80(%rax),%ecx", "8b8880000000")]
    [InlineData("mov 0x1000,%ecx", "8b0c2500100000")]
    public void A_displacement_is_as_short_as_its_known_value_allows(string statement, string expected)
        => Assert.Equal(expected, Bytes(statement));

    [Fact]
    public void A_rip_relative_label_is_the_target_and_a_rip_relative_number_is_the_displacement()
    {
        Assert.Equal("8b05" + "3f230000", Bytes("mov far_label(%rip),%eax", ip: 0x10000));
        Assert.Equal("8b05" + "10000000", Bytes("mov 0x10(%rip),%eax", ip: 0x10000));
    }

    [Fact]
    public void Jmp_to_a_label_starts_short_and_grows_to_rel32_when_made_near()
    {
        var context = new AsmTestContext(64, Later);
        var jmp = context.Choose("jmp far_label", out _, out _)!;
        Assert.NotNull(jmp.BranchTarget);
        Assert.Equal((2, 5), (jmp.Length, jmp.NearLength));
        jmp.MakeNear();
        Assert.Null(jmp.BranchTarget);
        Assert.Equal("e9" + "40230100", Hex(jmp.Encode(0, context.Final(0), out _, out _)));
    }

    [Fact]
    public void Jcc_in_16_bit_code_grows_to_rel16()
    {
        var context = new AsmTestContext(16, Later);
        var jne = context.Choose("jne .+0x300", out _, out _)!;
        Assert.Equal((2, 4), (jne.Length, jne.NearLength));
        jne.MakeNear();
        Assert.Equal("0f85" + "fc02", Hex(jne.Encode(0, context.Final(0), out _, out _)));
    }

    [Fact]
    public void A_short_branch_out_of_range_is_an_error_not_an_exception()
    {
        var context = new AsmTestContext(64, Later);
        var jmp = context.Choose("jmp far_label", out _, out _)!;
        Assert.Null(jmp.Encode(0, context.Final(0), out string? error, out _));
        Assert.Equal("jump target out of range", error);
    }

    [Theory]
    [InlineData("jmp 0x1000", "e9fb0f0000")]
    [InlineData("je 0x1000", "0f84fa0f0000")]
    [InlineData("call .", "e8fbffffff")]
    public void A_branch_to_an_absolute_address_or_a_call_is_near_at_once(string statement, string expected)
    {
        var context = new AsmTestContext(64, Later);
        Assert.Null(context.Choose(statement, out _, out _)!.BranchTarget);
        Assert.Equal(expected, Bytes(statement));
    }

    [Theory]
    [InlineData("loop .")]
    [InlineData("jrcxz .")]
    public void Loop_and_jrcxz_are_short_only(string statement)
    {
        var encoded = new AsmTestContext(64, Later).Choose(statement, out _, out _)!;
        Assert.Null(encoded.BranchTarget);
        Assert.Equal(2, encoded.Length);
    }

    [Theory]
    [InlineData("int $3", "cc")]
    [InlineData("int3", "cc")]
    [InlineData("int $0x80", "cd80")]
    [InlineData("shl $1,%eax", "d1e0")]
    [InlineData("shl %eax", "d1e0")]
    [InlineData("shl $2,%eax", "c1e002")]
    public void Int_3_and_shifts_by_one_take_their_one_byte_shorter_forms(string statement, string expected)
        => Assert.Equal(expected, Bytes(statement));

    [Theory]
    [InlineData("cltq", "4898")]
    [InlineData("cwtl", "98")]
    [InlineData("cqto", "4899")]
    [InlineData("movslq %eax,%rbx", "4863d8")]
    [InlineData("movzbl (%rax),%ecx", "0fb608")]
    [InlineData("lretq", "48cb")]
    [InlineData("sysretq", "480f07")]
    [InlineData("setnae %al", "0f92c0")]
    [InlineData("cmovll %eax,%ecx", "0f4cc8")]
    [InlineData("movq %rax,%rbx", "4889c3")]
    public void Att_only_names_and_condition_aliases_mean_what_gnu_as_means(string statement, string expected)
        => Assert.Equal(expected, Bytes(statement));

    [Theory]
    [InlineData("rep movsb", "f3a4")]
    [InlineData("lock addl $1,(%rax)", "f0830001")]
    [InlineData("lock btsw %ax,(%rcx)", "66f00fab01")]
    [InlineData("mov %ax,4(%ebx)", "67668943" + "04")]
    [InlineData("rep", "f3")]
    [InlineData("mov %gs:0x10,%rax", "65488b042510000000")]
    public void Prefixes_come_out_in_gnu_as_order(string statement, string expected)
        => Assert.Equal(expected, Bytes(statement));

    [Theory]
    [InlineData("ljmp $0x10,$0x1000", 32, "ea001000001000")]
    [InlineData("ljmp $0x8,$0x1000", 16, "ea00100800")]
    [InlineData("enter $0x10,$1", 64, "c8100001")]
    [InlineData("mov %eax,%ds", 64, "8ed8")]
    [InlineData("mov %ds,%rax", 64, "8cd8")]
    [InlineData("arpl %ax,%bx", 32, "63c3")]
    public void Operands_gnu_as_does_not_reverse_or_resize_keep_its_encoding(string statement, int bitness, string expected)
        => Assert.Equal(expected, Bytes(statement, bitness));

    [Theory]
    [InlineData("lodsb (%rsi)", 64, "ac")]
    [InlineData("stos", 64, "ab")]
    [InlineData("stos %ax,%es:(%rdi)", 64, "66ab")]
    [InlineData("mov (%rip),%eax", 64, "8b0500000000")]
    [InlineData("imul $3,%eax", 64, "6bc003")]
    [InlineData("aam", 32, "d40a")]
    [InlineData("in (%dx),%al", 64, "ec")]
    [InlineData("data16 push $0x7da2", 64, "6668a27d")]
    public void Operands_gnu_as_leaves_implied_take_their_implied_value(string statement, int bitness, string expected)
        => Assert.Equal(expected, Bytes(statement, bitness));

    [Theory]
    [InlineData("frobnicate %eax", "no such instruction: `frobnicate'", 0)]
    [InlineData("mov %eax,%xyz", "bad register name `%xyz'", 9)]
    [InlineData("add $0xffffffff,%rax", "operand type mismatch for `add'", 0)]
    [InlineData("mov (%rax,%rbx,3),%eax", "expecting scale factor of 1, 2, 4, or 8: got `3'", 15)]
    [InlineData("mov (%rax,),%eax", "expecting index register or scale factor after `,'; got ')'", 10)]
    [InlineData("mov (%rax,,1),%eax", "expecting scale factor of 1, 2, 4, or 8: got `'", 10)]
    [InlineData("lock add %eax,%ebx", "expecting lockable instruction after `lock'", 5)]
    [InlineData("lock nop", "expecting lockable instruction after `lock'", 5)]
    [InlineData("rep repne movsb", "same type of prefix used twice", 10)]
    [InlineData("movl %cr0,%eax", "operand type mismatch for `mov'", 0)]
    [InlineData("movsxd %di,%si", "operand type mismatch for `movsxd'", 0)]
    [InlineData("  add $1,8(%rax)", "no instruction mnemonic suffix given and no register operands; can't size instruction", 2)]
    [InlineData("bswap %si", "operand type mismatch for `bswap'", 0)]
    public void A_bad_statement_is_an_error_with_its_position(string statement, string message, int position)
    {
        var encoded = new AsmTestContext(64, Later).Choose(statement, out string? error, out int errorPosition);
        Assert.Null(encoded);
        Assert.Equal((message, position), (error, errorPosition));
    }

    [Fact]
    public void A_label_value_that_does_not_fit_its_field_after_layout_is_an_error()
        => Assert.Equal("value 74565 does not fit in 8 bits", Error("mov $far_label,%al"));

    [Fact]
    public void An_undefined_symbol_at_encoding_time_is_named()
        => Assert.Equal("undefined symbol `nowhere'", Error("mov $nowhere,%eax"));

    [Theory]
    [InlineData("")]
    [InlineData("mov")]
    [InlineData("mov %eax")]
    [InlineData("mov ,")]
    [InlineData("mov $,%eax")]
    [InlineData("mov (%rax")]
    [InlineData("mov (%ax),%eax")]
    [InlineData("movabs $1,(%rax)")]
    [InlineData("lea %eax,%ebx")]
    [InlineData("mov %ah,%r8b")]
    [InlineData("jmp")]
    [InlineData("push %xmm0")]
    [InlineData("mov %cr0,%ax")]
    [InlineData("ljmp $0x10,$0x1000")]
    [InlineData("mov $1,%eax junk")]
    [InlineData("%eax")]
    [InlineData("int $1,$2")]
    [InlineData("mov %eax:(%rax),%eax")]
    [InlineData("mov 0x80000000,%ebx")]
    [InlineData("mov 1/0,%eax")]
    public void Malformed_statements_are_errors_never_exceptions(string statement)
        => Assert.NotNull(Error(statement));

    /// <summary>Every prefix of every corpus line, and each line with its operands swapped: any answer but an exception.</summary>
    [Fact]
    public void Truncated_and_swapped_corpus_lines_never_throw()
    {
        int statements = 0;
        foreach (var (bitness, line) in GasCorpus.Forms().Where((_, i) => i % 3 == 0))
        {
            var context = new AsmTestContext(bitness, Later);
            int space = line.IndexOf(' '), comma = line.LastIndexOf(',');
            var variants = Enumerable.Range(0, line.Length).Select(n => line[..n])
                .Append(space > 0 && comma > space ? $"{line[..space]} {line[(comma + 1)..]},{line[(space + 1)..comma]}" : line);
            foreach (var variant in variants)
            {
                context.Assemble(variant, 0x1000, out _);
                statements++;
            }
        }
        Assert.True(statements > 10000, $"only {statements} statements tried");
    }
}
