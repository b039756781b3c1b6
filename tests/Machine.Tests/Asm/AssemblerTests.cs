using Repl.Machine.Asm;

namespace Repl.Machine.Tests.Asm;

/// <summary>What the assembler returns besides the image: sections, symbols, the line table, the file list.</summary>
public class AssemblerTests
{
    static AssemblyResult Assemble(string source, AsmOptions? options = null)
    {
        var result = Assembler.Assemble(source, options ?? new AsmOptions { FileName = "t.S" });
        Assert.True(result.Success, string.Join("", result.Diagnostics));
        return result;
    }

    [Fact]
    public void Sections_come_in_order_of_first_mention_from_the_origin_with_bss_last()
    {
        var result = Assemble(".bss\n.skip 8\n.data\n.byte 1\n.section .rodata\n.byte 2, 3\n.text\n.byte 4\n");

        Assert.Equal([".text", ".data", ".rodata", ".bss"], result.Sections.Select(s => s.Name));
        Assert.Equal([0x100000UL, 0x100001, 0x100002, 0x100004], result.Sections.Select(s => s.Address));
        Assert.True(result.Sections[^1].NoBits);
        Assert.Empty(result.Sections[^1].Bytes);
        Assert.Equal(8UL, result.Sections[^1].Size);
    }

    [Fact]
    public void A_section_starts_at_its_largest_alignment_after_the_previous_one()
    {
        var result = Assemble(".text\n.byte 1\n.data\n.p2align 3\n.byte 2\n.balign 64\n.byte 3\n");

        var data = result.Sections.Single(s => s.Name == ".data");
        Assert.Equal(64UL, data.Alignment);
        Assert.Equal(0x100040UL, data.Address);
    }

    [Fact]
    public void Empty_and_unallocated_sections_are_left_out()
    {
        var result = Assemble(".data\n.byte 1\n.section .note.GNU-stack,\"\",@progbits\n.section .comment\n.byte 5\n.section .empty,\"a\"\n");

        Assert.Equal([".data"], result.Sections.Select(s => s.Name));
        Assert.Equal(0x100000UL, result.Origin);
    }

    [Fact]
    public void A_label_in_an_empty_section_has_the_address_that_section_would_have()
    {
        var result = Assemble(".text\n.byte 1, 2\n.data\nedata:\n.bss\n.p2align 4\nbss: .skip 4\n");

        Assert.Equal(0x100002UL, result.AddressOf("edata"));
        Assert.Equal(0x100010UL, result.AddressOf("bss"));
    }

    [Fact]
    public void The_origin_option_moves_the_whole_image()
    {
        var result = Assemble("start: .byte 1\n", new AsmOptions { Origin = 0x7c00 });

        Assert.Equal(0x7c00UL, result.Sections[0].Address);
        Assert.Equal(0x7c00UL, result.AddressOf("start"));
    }

    [Fact]
    public void Section_flags_come_from_the_name_or_the_flags_string()
    {
        var result = Assemble(".text\n.byte 1\n.data\n.byte 1\n.section .rodata\n.byte 1\n.section .x,\"awx\"\n.byte 1\n.section .nb,\"aw\",@nobits\n.skip 2\n");

        SectionFlags FlagsOf(string name) => result.Sections.Single(s => s.Name == name).Flags;
        Assert.Equal(SectionFlags.Alloc | SectionFlags.Execute, FlagsOf(".text"));
        Assert.Equal(SectionFlags.Alloc | SectionFlags.Write, FlagsOf(".data"));
        Assert.Equal(SectionFlags.Alloc, FlagsOf(".rodata"));
        Assert.Equal(SectionFlags.Alloc | SectionFlags.Write | SectionFlags.Execute, FlagsOf(".x"));
        Assert.True(result.Sections.Single(s => s.Name == ".nb").NoBits);
    }

    [Fact]
    public void Rodata_directive_is_shorthand_for_section_rodata()
    {
        var result = Assemble(".rodata\n.byte 7\n");

        Assert.Equal(".rodata", Assert.Single(result.Sections).Name);
    }

    [Fact]
    public void Symbols_carry_address_size_type_binding_and_section()
    {
        var result = Assemble(".text\n.byte 0\n.globl f\n.type f, @function\nf: .byte 1, 2, 3\n.size f, . - f\n" +
                              ".data\n.weak w\n.type w, @object\nw: .long 0\n.size w, 4\nlocal: .byte 0\n");

        var f = result.Symbols.Single(s => s.Name == "f");
        Assert.Equal(new AsmSymbol("f", 0x100001, 3, AsmSymbolType.Function, AsmSymbolBinding.Global, ".text"), f);
        var w = result.Symbols.Single(s => s.Name == "w");
        Assert.Equal(new AsmSymbol("w", 0x100004, 4, AsmSymbolType.Object, AsmSymbolBinding.Weak, ".data"), w);
        Assert.Equal(AsmSymbolBinding.Local, result.Symbols.Single(s => s.Name == "local").Binding);
    }

    [Fact]
    public void Absolute_symbols_have_no_section()
    {
        var result = Assemble("SIZE = 0x40\n.equ ALSO, SIZE * 2\n.byte 0\n");

        Assert.Equal(new AsmSymbol("SIZE", 0x40, 0, AsmSymbolType.NoType, AsmSymbolBinding.Local, null), result.Symbols.Single(s => s.Name == "SIZE"));
        Assert.Equal(0x80UL, result.AddressOf("ALSO"));
    }

    [Fact]
    public void Dot_L_and_numeric_local_labels_stay_out_of_the_symbols()
    {
        var result = Assemble(".Lhidden: .byte 1\n1: .byte 2\nshown: .long 1b, .Lhidden\n");

        Assert.Equal(["shown"], result.Symbols.Select(s => s.Name));
    }

    [Fact]
    public void An_equate_to_a_label_is_the_labels_address()
    {
        var result = Assemble(".byte 0, 0\nhere: .byte 1\nalias = here + 1\n");

        Assert.Equal(0x100003UL, result.AddressOf("alias"));
        Assert.Equal(".text", result.Symbols.Single(s => s.Name == "alias").Section);
    }

    [Fact]
    public void Defines_are_absolute_symbols_from_the_first_line()
    {
        var result = Assemble(".byte LIMIT, LIMIT + 1\n", new AsmOptions { Defines = new Dictionary<string, long> { ["LIMIT"] = 9 } });

        Assert.Equal([9, 10], result.Image());
    }

    [Fact]
    public void Set_may_redefine_and_each_use_sees_the_value_at_its_point()
    {
        var result = Assemble(".set n, 1\n.byte n\n.set n, n + 1\n.byte n\nn = 7\n.byte n\n");

        Assert.Equal([1, 2, 7], result.Image());
    }

    [Fact]
    public void The_line_table_maps_each_statement_that_emits_bytes_to_its_file_and_line()
    {
        var result = Assemble(".data\n\n.byte 1\nlabel:\n.long 2\n.text\n.byte 3\n");

        Assert.Equal([new LineEntry(0x100000, "t.S", 7), new LineEntry(0x100001, "t.S", 3), new LineEntry(0x100002, "t.S", 5)], result.Lines);
        Assert.Equal(["t.S"], result.Files);
    }

    [Fact]
    public void Lines_of_an_included_file_name_that_file_and_the_file_list_has_both()
    {
        var files = new Dictionary<string, byte[]> { ["defs.inc"] = ".byte 1\n.byte 2\n"u8.ToArray() };

        var result = Assemble("nop\n.include \"defs.inc\"\n.byte 3\n", new AsmOptions { FileName = "t.S", ReadFile = files.GetValueOrDefault });

        Assert.Equal([new LineEntry(0x100000, "t.S", 1), new LineEntry(0x100001, "defs.inc", 1), new LineEntry(0x100002, "defs.inc", 2),
                      new LineEntry(0x100003, "t.S", 3)], result.Lines);
        Assert.Equal(["t.S", "defs.inc"], result.Files);
    }

    [Fact]
    public void Lines_from_a_macro_are_the_invocation_line_and_lines_of_a_rept_are_the_body_line()
    {
        // As GNU as with -g: objdump --dwarf=decodedline shows the invocation for a macro, the body for .rept.
        var result = Assemble(".macro two a\n  .byte \\a\n  .byte \\a\n.endm\nstart:\n  two 1\n  .rept 2\n  .byte 9\n  .endr\n  .byte 5\n");

        Assert.Equal([new LineEntry(0x100000, "t.S", 6), new LineEntry(0x100002, "t.S", 8), new LineEntry(0x100004, "t.S", 10)], result.Lines);
    }

    [Fact]
    public void Bss_reserves_memory_that_the_image_does_not_carry()
    {
        var result = Assemble(".data\n.byte 1\n.bss\nbuf: .skip 100\nend:\n");

        Assert.Equal([1], result.Image());
        Assert.Equal(0x100001UL + 100, result.AddressOf("end"));
    }

    [Fact]
    public void Incbin_looks_beside_the_including_file_then_in_the_include_paths()
    {
        var files = new Dictionary<string, byte[]> { [Path.Combine("src", "near.bin")] = [1, 2], [Path.Combine("inc", "far.bin")] = [3, 4, 5] };
        var options = new AsmOptions { FileName = Path.Combine("src", "main.S"), IncludePaths = ["inc"], ReadFile = files.GetValueOrDefault };

        var result = Assemble(".incbin \"near.bin\"\n.incbin \"far.bin\", 1\n.incbin \"far.bin\", 0, 1\n", options);

        Assert.Equal([1, 2, 4, 5, 3], result.Image());
    }

    [Fact]
    public void Print_is_read_and_produces_nothing()
    {
        var result = Assemble(".print \"hello\"\n.byte 1\n");

        Assert.Equal([1], result.Image());
        Assert.Empty(result.Diagnostics);
    }

    [Fact]
    public void Skip_with_a_label_difference_known_only_after_layout_reserves_that_many_bytes()
    {
        var result = Assemble("a: .p2align 2\n.byte 1, 2, 3\nb:\n.skip b - a, 0xee\n.byte 0xff\n");

        Assert.Equal([1, 2, 3, 0xee, 0xee, 0xee, 0xff], result.Image());
    }

    [Fact]
    public void Jmp_to_a_label_127_bytes_ahead_stays_short()
    {
        var image = Assemble("jmp 1f\n.fill 127, 1, 0x90\n1: ret\n").Image();

        Assert.Equal([0xeb, 0x7f], image[..2]);
        Assert.Equal(2 + 127 + 1, image.Length);
    }

    [Fact]
    public void Jmp_to_a_label_beyond_127_bytes_grows_to_rel32()
    {
        var image = Assemble("jmp 1f\n.fill 128, 1, 0x90\n1: ret\n").Image();

        Assert.Equal([0xe9, 0x80, 0, 0, 0], image[..5]);
    }

    [Fact]
    public void A_jump_that_grows_moves_the_labels_after_it()
    {
        var result = Assemble("jmp far\nafter: ret\n.fill 200, 1, 0x90\nfar: ret\n");

        Assert.Equal(0x100005UL, result.AddressOf("after"));
        Assert.Equal(0x100005UL + 1 + 200, result.AddressOf("far"));
    }

    [Fact]
    public void Print_lines_reach_the_result_in_order_and_only_from_assembled_branches()
    {
        var result = Assembler.Assemble(".print \"hello\"\n.if 0\n.print \"skipped\"\n.endif\n.rept 2\n.print \"twice\"\n.endr\n");

        Assert.True(result.Success);
        Assert.Equal(["hello", "twice", "twice"], result.Printed);
    }
}
