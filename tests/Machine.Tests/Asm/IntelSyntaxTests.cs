using Xunit.Abstractions;

namespace Repl.Machine.Tests.Asm;

// Inside the namespace, so that these win over Repl.Machine's own Register and OperandKind.
using Iced.Intel;
using Repl.Machine.Asm;
using OperandKind = Repl.Machine.Asm.OperandKind;
using Register = Iced.Intel.Register;

/// <summary>
/// What an instruction sees of the pass in these tests: the syntax and bitness, symbols defined so far (with
/// their values; a label's base is its section name), '.' (by default the start of .text), and local label
/// names "1b" -> ".L1b".
/// </summary>
sealed class IntelContext(int bitness = 64, Dictionary<string, Value>? symbols = null, Value? dot = null) : IInstructionContext, ISymbolValues
{
    readonly Dictionary<string, Value> symbols = symbols ?? [];

    public int Bitness => bitness;
    public AsmSyntax Syntax => AsmSyntax.Intel;
    public string LocalLabel(int number, bool forward) => $".L{number}{(forward ? 'f' : 'b')}";
    public Evaluation EvaluateNow(Expr expr) => Expressions.Evaluate(expr, this);
    public bool TryGetValue(string name, out Value value) => symbols.TryGetValue(name, out value);
    public Value Dot => dot ?? new Value(0, ".text");
}

public class IntelSyntaxTests(ITestOutputHelper output)
{
    static readonly Dictionary<string, Value> Symbols = new()
    {
        ["K"] = new Value(5),
        ["label"] = new Value(0x40, ".text"),
    };

    static ParsedInstruction Parse(string text, int bitness = 64)
    {
        var parsed = IntelSyntax.Parse(new Cursor(text, new SourceLocation("t.S", 1, 1)), new IntelContext(bitness, Symbols), out string? error, out int position);
        Assert.True(parsed is not null, $"{text}: {error} at {position}");
        return parsed;
    }

    static (string Error, int Position) ParseError(string text)
    {
        var parsed = IntelSyntax.Parse(new Cursor(text, new SourceLocation("t.S", 1, 1)), new IntelContext(64, Symbols), out string? error, out int position);
        Assert.Null(parsed);
        Assert.NotNull(error);
        return (error, position);
    }

    static long Constant(Expr? e)
    {
        Assert.NotNull(e);
        Assert.True(Expressions.Evaluate(e, new IntelContext(64, Symbols)).IsAbsolute(out long value), $"{e} is not absolute");
        return value;
    }

    [Fact]
    public void Registers_and_a_number_are_a_register_and_an_immediate_operand_in_intel_order()
    {
        var p = Parse("mov eax, 5");

        Assert.Equal(Mnemonic.Mov, p.Mnemonic);
        Assert.Equal(OperandKind.Register, p.Operands[0].Kind);
        Assert.Equal(Register.EAX, p.Operands[0].Register);
        Assert.Equal(OperandKind.Immediate, p.Operands[1].Kind);
        Assert.Equal(5, Constant(p.Operands[1].Value));
    }

    [Fact]
    public void Brackets_hold_base_index_scale_and_displacement_in_any_order()
    {
        foreach (var text in new[] { "mov eax, [rax+rbx*4+8]", "mov eax, [8+4*rbx+rax]", "mov eax, 8[rax+rbx*4]", "mov eax, [rax][rbx*4+8]", "mov eax, [rax+8]+[rbx*4]" })
        {
            var m = Parse(text).Operands[1];
            Assert.Equal(OperandKind.Memory, m.Kind);
            Assert.Equal((Register.RAX, Register.RBX, 4, 8L), (m.Base, m.Index, m.Scale, Constant(m.Value)));
        }
    }

    [Fact]
    public void A_subtracted_displacement_keeps_its_sign()
    {
        var m = Parse("mov eax, [rbp - 8 - 4]").Operands[1];

        Assert.Equal(Register.RBP, m.Base);
        Assert.Equal(-12, Constant(m.Value));
    }

    [Fact]
    public void A_register_scaled_by_one_is_an_index_not_a_base()
    {
        var m = Parse("mov eax, [rax*1]").Operands[1];

        Assert.Equal((Register.None, Register.RAX, 1), (m.Base, m.Index, m.Scale));
        Assert.Null(m.Value);
    }

    [Fact]
    public void Rsp_written_second_stays_the_base_because_it_cannot_be_an_index()
    {
        var m = Parse("mov eax, [rax+rsp]").Operands[1];

        Assert.Equal((Register.RSP, Register.RAX), (m.Base, m.Index));
    }

    [Fact]
    public void Ptr_keywords_size_the_memory_operand_not_the_operation()
    {
        var p = Parse("add qword ptr [rdi], 1");

        Assert.Equal(0, p.OperandSize);
        Assert.Equal(8, p.Operands[0].Size);
        Assert.Equal(Register.RDI, p.Operands[0].Base);
        Assert.Equal(1, Parse("movzx eax, byte ptr [rsi]").Operands[1].Size);
    }

    [Fact]
    public void Segment_override_before_the_brackets_or_an_address_is_the_memory_segment()
    {
        var m = Parse("mov rax, qword ptr gs:[0x10]").Operands[1];
        var absolute = Parse("mov eax, fs:0x28").Operands[1];

        Assert.Equal((Register.GS, Register.None, 0x10L), (m.Segment, m.Base, Constant(m.Value)));
        Assert.Equal((OperandKind.Memory, Register.FS, 0x28L), (absolute.Kind, absolute.Segment, Constant(absolute.Value)));
    }

    [Fact]
    public void Gcc_style_symbol_before_rip_brackets_and_flat_segment_are_read()
    {
        var relative = Parse("lea rax, label[rip]").Operands[1];
        var offset = Parse("mov eax, OFFSET FLAT:label").Operands[1];
        var memory = Parse("mov eax, DWORD PTR FLAT:K").Operands[1];

        Assert.Equal((OperandKind.Memory, Register.RIP), (relative.Kind, relative.Base));
        Assert.Equal("label", Assert.IsType<SymbolExpr>(relative.Value).Name);
        Assert.Equal(OperandKind.Immediate, offset.Kind);
        Assert.Equal((OperandKind.Memory, Register.None, 5L), (memory.Kind, memory.Segment, Constant(memory.Value)));
    }

    [Fact]
    public void Rip_relative_memory_keeps_the_symbol_as_its_displacement()
    {
        var m = Parse("lea rax, [rip + label]").Operands[1];

        Assert.Equal(Register.RIP, m.Base);
        Assert.Equal("label", Assert.IsType<SymbolExpr>(m.Value).Name);
    }

    [Fact]
    public void A_bare_label_is_memory_but_offset_label_is_an_immediate()
    {
        var memory = Parse("mov eax, label").Operands[1];
        var plus = Parse("mov eax, label+4").Operands[1];
        var offset = Parse("mov eax, offset label").Operands[1];

        Assert.Equal((OperandKind.Memory, Register.None), (memory.Kind, memory.Base));
        Assert.Equal(OperandKind.Memory, plus.Kind);
        Assert.Equal(OperandKind.Immediate, offset.Kind);
    }

    [Fact]
    public void A_symbol_already_equated_to_a_constant_is_an_immediate_but_one_not_yet_defined_is_memory()
    {
        Assert.Equal(OperandKind.Immediate, Parse("mov eax, K").Operands[1].Kind);
        Assert.Equal(OperandKind.Memory, Parse("mov eax, later").Operands[1].Kind);
        Assert.Equal(OperandKind.Immediate, Parse("mov eax, later - label").Operands[1].Kind);
        Assert.Equal(OperandKind.Memory, Parse("mov eax, label + K*2").Operands[1].Kind);
        Assert.Equal(OperandKind.Immediate, Parse("mov eax, -label").Operands[1].Kind);
        Assert.Equal(OperandKind.Immediate, Parse("mov eax, label*2").Operands[1].Kind);
    }

    [Fact]
    public void Jump_and_call_to_a_label_are_branch_targets_and_through_registers_or_memory_are_indirect()
    {
        var direct = Parse("jmp label");
        var local = Parse("jne 1b");
        var register = Parse("call rax").Operands[0];
        var memory = Parse("jmp qword ptr [rax+8]").Operands[0];
        var pointer = Parse("call qword ptr label").Operands[0];

        Assert.Equal((OperandKind.Immediate, false), (direct.Operands[0].Kind, direct.Operands[0].Indirect));
        Assert.Equal(".L1b", Assert.IsType<SymbolExpr>(local.Operands[0].Value).Name);
        Assert.Equal(Mnemonic.Jne, local.Mnemonic);
        Assert.Equal((OperandKind.Register, true), (register.Kind, register.Indirect));
        Assert.Equal((OperandKind.Memory, true, Register.RAX), (memory.Kind, memory.Indirect, memory.Base));
        Assert.Equal((OperandKind.Memory, true), (pointer.Kind, pointer.Indirect));
    }

    [Fact]
    public void Selector_colon_offset_is_a_direct_far_branch_with_two_immediates()
    {
        var p = Parse("jmp 0x10:0x1000", 32);

        Assert.True(p.Far);
        Assert.Equal([0x10L, 0x1000L], p.Operands.Select(o => Constant(o.Value)));
    }

    [Fact]
    public void Fword_ptr_ljmp_and_far_ptr_make_an_indirect_jump_far()
    {
        Assert.True(Parse("jmp fword ptr [rax]").Far);
        Assert.True(Parse("ljmp [rax]").Far);
        Assert.True(Parse("call far ptr [rax]").Far);
        Assert.True(Parse("jmp dword ptr [rax]").Far);
        Assert.False(Parse("jmp dword ptr [eax]", 32).Far);
        Assert.False(Parse("jmp qword ptr [rax]").Far);
    }

    [Fact]
    public void Prefix_words_come_before_the_mnemonic()
    {
        var p = Parse("lock xadd dword ptr [rbx], eax");
        var rep = Parse("rep stosq");

        Assert.Equal(["lock"], p.Prefixes);
        Assert.Equal(Mnemonic.Xadd, p.Mnemonic);
        Assert.Equal(["rep"], rep.Prefixes);
        Assert.Equal(Mnemonic.Stosq, rep.Mnemonic);
    }

    [Fact]
    public void A_prefix_alone_is_a_statement_of_prefixes_only_as_in_gnu_as()
    {
        var p = Parse("rep");

        Assert.Equal(["rep"], p.Prefixes);
        Assert.Equal(Mnemonic.INVALID, p.Mnemonic);
    }

    [Fact]
    public void Segment_register_words_are_prefixes_too()
    {
        Assert.Equal(["fs"], Parse("fs movsb").Prefixes);
    }

    [Fact]
    public void Sal_is_shl_and_movabs_asks_for_the_64_bit_forms()
    {
        Assert.Equal(Mnemonic.Shl, Parse("sal eax, 1").Mnemonic);
        Assert.True(Parse("movabs rax, 1").Absolute64);
    }

    [Fact]
    public void String_instructions_written_with_operands_take_their_size_from_them()
    {
        var movs = Parse("movs byte ptr es:[rdi], byte ptr fs:[rsi]");

        Assert.Equal(Mnemonic.Movsb, movs.Mnemonic);
        Assert.Equal(Register.FS, movs.Operands[1].Segment);
        Assert.Equal(Mnemonic.Lodsd, Parse("lods eax, dword ptr [rsi]").Mnemonic);
        Assert.Equal(Mnemonic.Stosq, Parse("stos qword ptr [rdi], rax").Mnemonic);
    }

    [Fact]
    public void Condition_code_aliases_name_the_same_mnemonic()
    {
        Assert.Equal(Mnemonic.Je, Parse("jz label").Mnemonic);
        Assert.Equal(Mnemonic.Setb, Parse("setc al").Mnemonic);
        Assert.Equal(Mnemonic.Cmovae, Parse("cmovnb eax, ebx").Mnemonic);
        Assert.Equal(Mnemonic.Retf, Parse("lret").Mnemonic);
    }

    [Fact]
    public void Mnemonics_and_registers_are_case_insensitive_and_r8b_is_the_low_byte_of_r8()
    {
        var p = Parse("MOV R8B, Byte Ptr [RAX]");

        Assert.Equal(Register.R8L, p.Operands[0].Register);
        Assert.Equal(1, p.Operands[1].Size);
    }

    [Fact]
    public void Control_and_debug_registers_are_registers()
    {
        var p = Parse("mov cr3, rax");
        Assert.Equal(Register.CR3, p.Operands[0].Register);
        Assert.Equal(Register.DR7, Parse("mov rax, dr7").Operands[1].Register);
    }

    [Theory]
    [InlineData("frobnicate eax", "no such instruction: `frobnicate'", 0)]
    [InlineData("mov eax, [rax+rbx+rcx]", "too many registers in the address", 18)]
    [InlineData("mov eax, [rax*3]", "scale factor of 3 is not 1, 2, 4 or 8", 10)]
    [InlineData("mov eax, [-rax]", "invalid use of register", 10)]
    [InlineData("mov eax, [rax", "missing ']'", 13)]
    [InlineData("mov eax, [cr3]", "`cr3' cannot be used in an address", 10)]
    [InlineData("mov eax, ebx ebx", "junk `ebx' after expression", 13)]
    [InlineData("movs [rdi], [rsi]", "ambiguous operand size for `movs'", 0)]
    [InlineData("123", "expected an instruction", 0)]
    [InlineData("mov eax, rbx+8", "invalid use of register", 9)]
    [InlineData("mov eax, dword ptr eax", "invalid use of register", 19)]
    [InlineData("mov eax, 8+rbx", "invalid use of register", 9)]
    [InlineData("mov eax, offset [rax]", "invalid use of `offset': it takes an address, not a memory operand", 9)]
    public void Malformed_operands_are_errors_at_their_position(string text, string message, int position)
    {
        Assert.Equal((message, position), ParseError(text));
    }

    [Fact]
    public void Token_soup_gives_an_instruction_or_an_error_and_never_throws()
    {
        string[] tokens = ["mov", "jmp", "rep", "movs", "lock", "eax", "rax", "st", "fs", ":", "[", "]", "+", "-", "*", ",", "(", ")",
                           "0x10", "8", "3", "byte", "ptr", "qword", "offset", "far", "short", "label", "K", "1b", "'", "\"", "!", "st(", "9", ""];
        var random = new Random(7);
        for (int i = 0; i < 20000; i++)
        {
            string text = string.Join(random.Next(2) == 0 ? " " : "", Enumerable.Range(0, random.Next(1, 9)).Select(_ => tokens[random.Next(tokens.Length)]));
            var parsed = IntelSyntax.Parse(new Cursor(text, new SourceLocation("t.S", 1, 1)), new IntelContext(64, Symbols), out string? error, out int position);
            Assert.True((parsed is null) == (error is not null), text);
            Assert.InRange(position, 0, text.Length);
        }
    }

    /// <summary>Mnemonics of the instructions the machine executes, whose Intel text the oracle round-trips.</summary>
    internal static readonly HashSet<Mnemonic> Implemented =
    [
        Mnemonic.Aaa, Mnemonic.Aad, Mnemonic.Aam, Mnemonic.Aas, Mnemonic.Adc, Mnemonic.Add, Mnemonic.And, Mnemonic.Andn,
        Mnemonic.Bextr, Mnemonic.Blsi, Mnemonic.Blsmsk, Mnemonic.Blsr, Mnemonic.Bsf, Mnemonic.Bsr, Mnemonic.Bswap, Mnemonic.Bt,
        Mnemonic.Btc, Mnemonic.Btr, Mnemonic.Bts, Mnemonic.Bzhi, Mnemonic.Call, Mnemonic.Cbw, Mnemonic.Cdq, Mnemonic.Cdqe,
        Mnemonic.Clac, Mnemonic.Clc, Mnemonic.Cld, Mnemonic.Cli, Mnemonic.Clts, Mnemonic.Cmc, Mnemonic.Cmp, Mnemonic.Cmpsb,
        Mnemonic.Cmpsd, Mnemonic.Cmpsq, Mnemonic.Cmpsw, Mnemonic.Cmpxchg, Mnemonic.Cmpxchg16b, Mnemonic.Cmpxchg8b, Mnemonic.Cpuid,
        Mnemonic.Cqo, Mnemonic.Cwd, Mnemonic.Cwde, Mnemonic.Daa, Mnemonic.Das, Mnemonic.Dec, Mnemonic.Div, Mnemonic.Enter,
        Mnemonic.Hlt, Mnemonic.Idiv, Mnemonic.Imul, Mnemonic.In, Mnemonic.Inc, Mnemonic.Insb, Mnemonic.Insd, Mnemonic.Insw,
        Mnemonic.Int, Mnemonic.Int1, Mnemonic.Int3, Mnemonic.Into, Mnemonic.Invd, Mnemonic.Invlpg, Mnemonic.Invpcid, Mnemonic.Iret,
        Mnemonic.Iretd, Mnemonic.Iretq, Mnemonic.Jmp, Mnemonic.Ja, Mnemonic.Jae, Mnemonic.Jb, Mnemonic.Jbe, Mnemonic.Je,
        Mnemonic.Jne, Mnemonic.Jg, Mnemonic.Jge, Mnemonic.Jl, Mnemonic.Jle, Mnemonic.Jo, Mnemonic.Jno, Mnemonic.Jp, Mnemonic.Jnp,
        Mnemonic.Js, Mnemonic.Jns, Mnemonic.Jrcxz, Mnemonic.Jecxz, Mnemonic.Loop, Mnemonic.Loope, Mnemonic.Loopne,
        Mnemonic.Lahf, Mnemonic.Lar, Mnemonic.Lea, Mnemonic.Leave, Mnemonic.Lfence, Mnemonic.Lgdt, Mnemonic.Lidt, Mnemonic.Lldt,
        Mnemonic.Lmsw, Mnemonic.Lodsb, Mnemonic.Lodsd, Mnemonic.Lodsq, Mnemonic.Lodsw, Mnemonic.Lsl, Mnemonic.Ltr, Mnemonic.Lzcnt,
        Mnemonic.Mfence, Mnemonic.Mov, Mnemonic.Movbe, Mnemonic.Movsb, Mnemonic.Movsd, Mnemonic.Movsq, Mnemonic.Movsw,
        Mnemonic.Movsx, Mnemonic.Movsxd, Mnemonic.Movzx, Mnemonic.Mul, Mnemonic.Mulx, Mnemonic.Neg, Mnemonic.Nop, Mnemonic.Not,
        Mnemonic.Or, Mnemonic.Out, Mnemonic.Outsb, Mnemonic.Outsd, Mnemonic.Outsw, Mnemonic.Pause, Mnemonic.Pdep, Mnemonic.Pext,
        Mnemonic.Pop, Mnemonic.Popa, Mnemonic.Popad, Mnemonic.Popcnt, Mnemonic.Popf, Mnemonic.Popfd, Mnemonic.Popfq,
        Mnemonic.Push, Mnemonic.Pusha, Mnemonic.Pushad, Mnemonic.Pushf, Mnemonic.Pushfd, Mnemonic.Pushfq, Mnemonic.Rcl,
        Mnemonic.Rcr, Mnemonic.Rdfsbase, Mnemonic.Rdgsbase, Mnemonic.Rdmsr, Mnemonic.Rdpid, Mnemonic.Rdtsc, Mnemonic.Rdtscp,
        Mnemonic.Ret, Mnemonic.Retf, Mnemonic.Rol, Mnemonic.Ror, Mnemonic.Rorx, Mnemonic.Sahf, Mnemonic.Sal, Mnemonic.Sar,
        Mnemonic.Sarx, Mnemonic.Sbb, Mnemonic.Scasb, Mnemonic.Scasd, Mnemonic.Scasq, Mnemonic.Scasw, Mnemonic.Sfence,
        Mnemonic.Sgdt, Mnemonic.Shl, Mnemonic.Shld, Mnemonic.Shlx, Mnemonic.Shr, Mnemonic.Shrd, Mnemonic.Shrx, Mnemonic.Sidt,
        Mnemonic.Sldt, Mnemonic.Smsw, Mnemonic.Stac, Mnemonic.Stc, Mnemonic.Std, Mnemonic.Sti, Mnemonic.Stosb, Mnemonic.Stosd,
        Mnemonic.Stosq, Mnemonic.Stosw, Mnemonic.Str, Mnemonic.Sub, Mnemonic.Swapgs, Mnemonic.Syscall, Mnemonic.Sysenter,
        Mnemonic.Sysexit, Mnemonic.Sysexitq, Mnemonic.Sysret, Mnemonic.Sysretq, Mnemonic.Test, Mnemonic.Tzcnt, Mnemonic.Ud0,
        Mnemonic.Ud1, Mnemonic.Ud2, Mnemonic.Verr, Mnemonic.Verw, Mnemonic.Wbinvd, Mnemonic.Wrfsbase, Mnemonic.Wrgsbase,
        Mnemonic.Wrmsr, Mnemonic.Xadd, Mnemonic.Xchg, Mnemonic.Xlatb, Mnemonic.Xor,
        Mnemonic.Seta, Mnemonic.Setae, Mnemonic.Setb, Mnemonic.Setbe, Mnemonic.Sete, Mnemonic.Setne, Mnemonic.Setg,
        Mnemonic.Setge, Mnemonic.Setl, Mnemonic.Setle, Mnemonic.Seto, Mnemonic.Setno, Mnemonic.Setp, Mnemonic.Setnp,
        Mnemonic.Sets, Mnemonic.Setns, Mnemonic.Cmova, Mnemonic.Cmovae, Mnemonic.Cmovb, Mnemonic.Cmovbe, Mnemonic.Cmove,
        Mnemonic.Cmovne, Mnemonic.Cmovg, Mnemonic.Cmovge, Mnemonic.Cmovl, Mnemonic.Cmovle, Mnemonic.Cmovo, Mnemonic.Cmovno,
        Mnemonic.Cmovp, Mnemonic.Cmovnp, Mnemonic.Cmovs, Mnemonic.Cmovns,
    ];

    /// <summary>Iced's Intel formatter set to print what GNU as reads: 0x numbers, sizes on memory, [rip+disp].</summary>
    internal static IntelFormatter GasLikeFormatter() => new(new FormatterOptions
    {
        HexPrefix = "0x",
        HexSuffix = null,
        UppercaseHex = false,
        MemorySizeOptions = MemorySizeOptions.Always,
        RipRelativeAddresses = true,
        ShowBranchSize = false,
        BranchLeadingZeros = false,
        SpaceAfterOperandSeparator = true,
        ShowSymbolAddress = false,
    });

    /// <summary>Decodes random bytes, keeping the instructions of implemented classes, deterministically.</summary>
    internal static IEnumerable<Instruction> RandomInstructions(int bitness, int count, int seed)
    {
        var random = new Random(seed);
        var bytes = new byte[16];
        int found = 0;
        while (found < count)
        {
            random.NextBytes(bytes);
            var decoder = Iced.Intel.Decoder.Create(bitness, new ByteArrayCodeReader(bytes), 0x1000);
            decoder.Decode(out var instruction);
            if (instruction.IsInvalid || !Implemented.Contains(instruction.Mnemonic))
                continue;
            found++;
            yield return instruction;
        }
    }

    [Theory]
    [InlineData(64, 4000, 1)]
    [InlineData(32, 2000, 2)]
    public void Iced_intel_text_of_random_instructions_parses_back_to_the_same_operands(int bitness, int count, int seed)
    {
        var formatter = GasLikeFormatter();
        var failures = new List<string>();
        int compared = 0;
        foreach (var instruction in RandomInstructions(bitness, count, seed))
        {
            var text = new StringOutput();
            formatter.Format(instruction, text);
            string line = GasSpelling(text.ToStringAndReset());
            var parsed = IntelSyntax.Parse(new Cursor(line, new SourceLocation("t.S", 1, 1)), new IntelContext(bitness), out string? error, out _);
            string? problem = parsed is null ? error : Difference(instruction, parsed);
            compared++;
            if (problem is not null)
                failures.Add($"{line}: {problem}");
        }
        output.WriteLine($"{compared} instructions round-tripped, {failures.Count} differ");
        foreach (var f in failures.Take(60))
            output.WriteLine(f);
        Assert.Empty(failures);
    }

    /// <summary>
    /// Iced's Intel spellings that GNU as does not read, in gas's words: "jmp far off, sel" is "jmp sel:off",
    /// "ret far" is "retf" ("retfq" with REX.W), "call far fword ptr" is "call fword ptr", and branch hints have no name in gas. MPX's
    /// "bnd" goes too: the machine has no MPX, so the assembler knows no such prefix.
    /// </summary>
    internal static string GasSpelling(string line)
    {
        line = System.Text.RegularExpressions.Regex.Replace(line, @"^(jmp|call) far (\S+), (\S+)$", "$1 $3:$2");
        return line.Replace("data64 ret far", "retfq").Replace("ret far", "retf").Replace(" far ", " ").Replace("hint-taken ", "").Replace("hint-not-taken ", "").Replace("bnd ", "");
    }

    static long Evaluate(Expr? e) => e is null ? 0 : Expressions.Evaluate(e, new IntelContext()).Value.Offset;

    /// <summary>How the parsed operands differ from Iced's (null: they agree).</summary>
    static string? Difference(Instruction instruction, ParsedInstruction parsed)
    {
        // Iced decodes the /6 alias of SHL as SAL but prints it "shl".
        if (parsed.Mnemonic != instruction.Mnemonic && !(parsed.Mnemonic == Mnemonic.Shl && instruction.Mnemonic == Mnemonic.Sal))
            return $"mnemonic {parsed.Mnemonic}, Iced {instruction.Mnemonic}";
        // String instructions (and xlat) show some of their implicit operands; only an override segment is information.
        if (Enumerable.Range(0, instruction.OpCount).Any(i => IsImplicitString(instruction.GetOpKind(i))) || instruction.Mnemonic == Mnemonic.Xlatb)
            return parsed.Operands.All(o => o.Kind != OperandKind.Memory || o.Segment == instruction.SegmentPrefix
                                            || (o.Segment == Register.None && Implied(instruction, Register.DS))
                                            || (o.Segment == Register.ES && o.Base is Register.DI or Register.EDI or Register.RDI))
                ? null : "segment override differs";
        var explicitOperands = Enumerable.Range(0, instruction.OpCount).Where(i => !IsImplicitString(instruction.GetOpKind(i))).ToList();
        int expected = explicitOperands.Sum(i => instruction.GetOpKind(i) is OpKind.FarBranch16 or OpKind.FarBranch32 ? 2 : 1);
        // "imul ebx, 5" is gas's (and Iced's) short way of writing "imul ebx, ebx, 5".
        if (parsed.Mnemonic == Mnemonic.Imul && expected == 3 && parsed.Operands.Count == 2)
            parsed = parsed with { Operands = [parsed.Operands[0], .. parsed.Operands] };
        if (parsed.Operands.Count != expected)
            return $"{parsed.Operands.Count} operands, Iced {expected}";
        int n = 0;
        foreach (int i in explicitOperands)
        {
            var op = parsed.Operands[n++];
            switch (instruction.GetOpKind(i))
            {
                case OpKind.Register:
                    // "mov ss, bp" with an operand-size prefix: Iced names the full register the text does not.
                    bool segmentMove = instruction.Mnemonic == Mnemonic.Mov && (instruction.Op0Register.IsSegmentRegister() || instruction.Op1Register.IsSegmentRegister());
                    if (op.Kind != OperandKind.Register || (op.Register != instruction.GetOpRegister(i)
                        && !(segmentMove && op.Register.GetFullRegister() == instruction.GetOpRegister(i).GetFullRegister())))
                        return $"operand {i}: {op.Kind} {op.Register}, Iced register {instruction.GetOpRegister(i)}";
                    break;
                case OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64:
                    if (op.Kind != OperandKind.Immediate || (ulong)Evaluate(op.Value) != instruction.NearBranchTarget)
                        return $"operand {i}: {op.Kind} {Evaluate(op.Value):x}, Iced branch to {instruction.NearBranchTarget:x}";
                    break;
                case OpKind.FarBranch16 or OpKind.FarBranch32:
                    var offset = parsed.Operands[n++];
                    long target = instruction.GetOpKind(i) == OpKind.FarBranch32 ? instruction.FarBranch32 : instruction.FarBranch16;
                    if (!parsed.Far || Evaluate(op.Value) != instruction.FarBranchSelector || Evaluate(offset.Value) != target)
                        return $"far pointer {Evaluate(op.Value):x}:{Evaluate(offset.Value):x}";
                    break;
                case OpKind.Memory:
                    if (op.Kind != OperandKind.Memory)
                        return $"operand {i}: {op.Kind}, Iced memory";
                    ulong mask = instruction.MemoryDisplSize == 8 || instruction.MemoryBase == Register.RIP ? ulong.MaxValue : instruction.MemoryBase.IsGPR16() || instruction.MemoryIndex.IsGPR16() ? 0xFFFF : 0xFFFF_FFFF;
                    ulong displacement = instruction.IsIPRelativeMemoryOperand ? instruction.IPRelativeMemoryAddress - instruction.NextIP : instruction.MemoryDisplacement64;
                    // Iced leaves out a prefix naming the segment the address uses anyway.
                    var defaultSegment = instruction.MemoryBase is Register.RBP or Register.RSP or Register.EBP or Register.ESP or Register.BP or Register.SP ? Register.SS : Register.DS;
                    var segment = op.Segment == Register.None && Implied(instruction, defaultSegment) ? instruction.SegmentPrefix : op.Segment;
                    if (op.Base != instruction.MemoryBase || op.Index != instruction.MemoryIndex || segment != instruction.SegmentPrefix
                        || (op.Index != Register.None && op.Scale != instruction.MemoryIndexScale) || ((ulong)Evaluate(op.Value) & mask) != (displacement & mask))
                        return $"memory {op.Segment}:[{op.Base}+{op.Index}*{op.Scale}+{Evaluate(op.Value):x}], Iced {instruction.SegmentPrefix}:[{instruction.MemoryBase}+{instruction.MemoryIndex}*{instruction.MemoryIndexScale}+{displacement:x}]";
                    break;
                default:
                    if (op.Kind != OperandKind.Immediate)
                        return $"operand {i}: {op.Kind}, Iced immediate";
                    ulong immediateMask = instruction.GetOpKind(i) switch
                    {
                        OpKind.Immediate8 or OpKind.Immediate8_2nd => 0xFF,
                        OpKind.Immediate16 or OpKind.Immediate8to16 => 0xFFFF,
                        OpKind.Immediate32 or OpKind.Immediate8to32 => 0xFFFF_FFFF,
                        _ => ulong.MaxValue,
                    };
                    if (((ulong)Evaluate(op.Value) & immediateMask) != (instruction.GetImmediate(i) & immediateMask))
                        return $"operand {i}: immediate {Evaluate(op.Value):x}, Iced {instruction.GetImmediate(i):x}";
                    break;
            }
        }
        return null;
    }

    /// <summary>
    /// Whether Iced's text may leave out the instruction's segment prefix: none, the default one, or in 64-bit
    /// code one of ES, CS, SS, DS, which the processor ignores there.
    /// </summary>
    static bool Implied(Instruction instruction, Register defaultSegment) => instruction.SegmentPrefix == Register.None
        || instruction.SegmentPrefix == defaultSegment || (instruction.CodeSize == CodeSize.Code64 && instruction.SegmentPrefix is not (Register.FS or Register.GS));

    static bool IsImplicitString(OpKind kind) => kind is OpKind.MemorySegSI or OpKind.MemorySegESI or OpKind.MemorySegRSI
        or OpKind.MemorySegDI or OpKind.MemorySegEDI or OpKind.MemorySegRDI or OpKind.MemoryESDI or OpKind.MemoryESEDI or OpKind.MemoryESRDI;
}
