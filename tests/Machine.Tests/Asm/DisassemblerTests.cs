using System.Text;
using System.Text.RegularExpressions;
using Repl.Machine.Asm;
using Repl.Qemu;

namespace Repl.Machine.Tests.Asm;

public class DisassemblerTests
{
    const ulong Origin = 0x100000;

    /// <summary>An assembly result as the assembler would give it for a small .text with a line table.</summary>
    static AssemblyResult Assembled(params AsmSymbol[] symbols) => new()
    {
        Diagnostics = [],
        Sections = [new AsmSection(".text", Origin, 0x40, 16, SectionFlags.Alloc | SectionFlags.Execute, false, new byte[0x40])],
        Symbols = symbols,
        Lines = [new LineEntry(Origin, "entry.S", 10), new LineEntry(Origin + 3, "entry.S", 11), new LineEntry(Origin + 0x20, "entry.S", 20)],
        Files = ["entry.S"],
    };

    static AsmSymbol Function(string name, ulong value, ulong size) => new(name, value, size, AsmSymbolType.Function, AsmSymbolBinding.Global, ".text");

    static AsmSymbol Label(string name, ulong value) => new(name, value, 0, AsmSymbolType.NoType, AsmSymbolBinding.Local, ".text");

    static string Text(byte[] code, DisassemblySyntax syntax, ulong address = Origin, ISymbolLookup? symbols = null) =>
        Assert.Single(Disassembler.Disassemble(code, address, 64, syntax, symbols)).Text;

    [Theory]
    [InlineData("4889e0", "mov %rsp,%rax", "mov rax,rsp")]
    [InlineData("c70001000000", "movl $0x1,(%rax)", "mov DWORD PTR [rax],0x1")]
    [InlineData("4883c4f8", "add $0xfffffffffffffff8,%rsp", "add rsp,0xfffffffffffffff8")]
    [InlineData("488b44ddf8", "mov -0x8(%rbp,%rbx,8),%rax", "mov rax,QWORD PTR [rbp+rbx*8-0x8]")]
    [InlineData("0f01f8", "swapgs", "swapgs")]
    [InlineData("480f07", "sysretq", "sysretq")]
    [InlineData("0f20d8", "mov %cr3,%rax", "mov rax,cr3")]
    [InlineData("650f011c2510000000", "lidt %gs:0x10", "lidt FWORD PTR gs:[0x10]")]
    public void Known_bytes_read_as_objdump_writes_them_in_both_syntaxes(string hex, string gas, string intel)
    {
        var code = Convert.FromHexString(hex);
        Assert.Equal(gas, Text(code, DisassemblySyntax.Gas));
        Assert.Equal(intel, Text(code, DisassemblySyntax.Intel));
    }

    [Fact]
    public void A_rip_relative_operand_is_followed_by_its_target_and_the_symbol_there()
    {
        var symbols = SymbolLookup.From(Assembled(Function("entry", Origin, 0x20), new AsmSymbol("saved_rsp", Origin + 0x20, 8, AsmSymbolType.Object, AsmSymbolBinding.Global, ".text")));
        var load = Convert.FromHexString("488b051c000000"); // at 0x100003: mov 0x1c(%rip),%rax reads 0x100026

        Assert.Equal("mov 0x1c(%rip),%rax  # 0x100026", Text(load, DisassemblySyntax.Gas, Origin + 3));
        Assert.Equal("mov 0x1c(%rip),%rax  # 0x100026 <saved_rsp+6>", Text(load, DisassemblySyntax.Gas, Origin + 3, symbols));
        Assert.Equal("mov rax,QWORD PTR [rip+0x1c]  # 0x100026 <saved_rsp+6>", Text(load, DisassemblySyntax.Intel, Origin + 3, symbols));
    }

    [Fact]
    public void An_absolute_table_operand_names_its_symbol_but_a_register_based_one_does_not()
    {
        var symbols = SymbolLookup.From(Assembled(new AsmSymbol("sys_call_table", Origin + 0x20, 0x20, AsmSymbolType.Object, AsmSymbolBinding.Global, ".text")));

        Assert.Equal("callq *0x100020(,%rax,8)  # 0x100020 <sys_call_table>", Text(Convert.FromHexString("ff14c520001000"), DisassemblySyntax.Gas, Origin, symbols));
        Assert.Equal("mov 0x100020(%rbx),%rax", Text(Convert.FromHexString("488b8320001000"), DisassemblySyntax.Gas, Origin, symbols));
    }

    [Fact]
    public void Branch_targets_show_the_address_and_symbol_plus_offset()
    {
        var symbols = SymbolLookup.From(Assembled(Function("entry_SYSCALL_64", Origin, 0x20), Label("swapgs_restore", Origin + 0x30)));
        var jmp = Convert.FromHexString("e91b000000"); // at 0x10001e: jmp 0x10003e

        Assert.Equal("jmp 0x10003e <swapgs_restore+14>", Text(jmp, DisassemblySyntax.Gas, Origin + 0x1e, symbols));
        Assert.Equal("jmp 0x10003e <swapgs_restore+14>", Text(jmp, DisassemblySyntax.Intel, Origin + 0x1e, symbols));
        Assert.Equal("jmp 0x10003e", Text(jmp, DisassemblySyntax.Gas, Origin + 0x1e));
        Assert.Equal("call 0x100000 <entry_SYSCALL_64>", Text(Convert.FromHexString("e8dbffffff"), DisassemblySyntax.Gas, Origin + 0x20, symbols));
    }

    [Fact]
    public void An_immediate_that_happens_to_be_an_address_stays_a_number()
    {
        var symbols = SymbolLookup.From(Assembled(Function("entry", Origin, 0x40)));

        Assert.Equal("mov $0x100000,%eax", Text(Convert.FromHexString("b800001000"), DisassemblySyntax.Gas, Origin, symbols));
    }

    [Fact]
    public void A_line_reads_like_gdb_with_symbol_offset_bytes_and_text()
    {
        var symbols = SymbolLookup.From(Assembled(Function("entry_SYSCALL_64", Origin, 0x20)));
        var line = Assert.Single(Disassembler.Disassemble(Convert.FromHexString("4889e0"), Origin + 4, 64, DisassemblySyntax.Gas, symbols));

        Assert.Equal("0x100004 <entry_SYSCALL_64+4>:  48 89 e0              mov %rsp,%rax", line.ToString());
        Assert.Equal(new SymbolicAddress("entry_SYSCALL_64", Origin, 4), line.Symbol);
        Assert.Equal(new LineEntry(Origin + 3, "entry.S", 11), line.Line);
        Assert.Equal(Iced.Intel.Mnemonic.Mov, line.Instruction.Mnemonic);
    }

    [Fact]
    public void A_listing_aligns_addresses_and_heads_each_new_source_line()
    {
        var symbols = SymbolLookup.From(Assembled(Function("entry", Origin, 0x20)));
        var lines = Disassembler.Disassemble(Convert.FromHexString("0f01f84889e0c3"), Origin, 64, DisassemblySyntax.Gas, symbols);

        Assert.Equal(
            [
                "entry.S:10",
                "0x100000 <entry>:    0f 01 f8              swapgs",
                "entry.S:11",
                "0x100003 <entry+3>:  48 89 e0              mov %rsp,%rax",
                "0x100006 <entry+6>:  c3                    ret",
            ],
            Disassembler.Listing(lines));
    }

    [Fact]
    public void An_assembled_source_lists_with_its_symbols_branch_targets_and_source_lines()
    {
        var result = Assembler.Assemble("""
            .globl entry
            .type entry, @function
            entry:
                swapgs
                jmp done
                nop
            done:
                sysretq
            .size entry, .-entry
            """, new AsmOptions { FileName = "entry.S" });
        Assert.True(result.Success, string.Concat(result.Diagnostics));
        var text = result.Sections[0];

        var listing = Disassembler.Listing(Disassembler.Disassemble(text.Bytes, text.Address, symbols: SymbolLookup.From(result)));

        Assert.Equal(
            [
                "entry.S:4",
                "0x100000 <entry>:    0f 01 f8              swapgs",
                "entry.S:5",
                "0x100003 <entry+3>:  eb 01                 jmp 0x100006 <entry+6>", // gdb's names: done is inside sized entry
                "entry.S:6",
                "0x100005 <entry+5>:  90                    nop",
                "entry.S:8",
                "0x100006 <entry+6>:  48 0f 07              sysretq",
            ],
            listing);
    }

    [Fact]
    public void Count_limits_how_many_instructions_are_decoded()
    {
        var lines = Disassembler.Disassemble(Convert.FromHexString("909090c3"), Origin, count: 2);

        Assert.Equal([Origin, Origin + 1], lines.Select(l => l.Address));
    }

    [Fact]
    public void An_invalid_opcode_is_one_bad_byte_and_decoding_resumes_after_it()
    {
        var lines = Disassembler.Disassemble(Convert.FromHexString("0606c3"), Origin);

        Assert.Equal(["(bad)", "(bad)", "ret"], lines.Select(l => l.Text));
        Assert.Equal([DisassemblyKind.Bad, DisassemblyKind.Bad, DisassemblyKind.Instruction], lines.Select(l => l.Kind));
        Assert.Equal("0x100001:  06                    (bad)", lines[1].ToString());
    }

    [Fact]
    public void An_instruction_cut_short_by_the_end_of_the_code_shows_as_data_bytes()
    {
        var lines = Disassembler.Disassemble(Convert.FromHexString("c3488b"), Origin);

        Assert.Equal(["ret", ".byte 0x48,0x8b"], lines.Select(l => l.Text));
        Assert.Equal(DisassemblyKind.Bad, lines[1].Kind);
        Assert.Equal([0x48, 0x8b], lines[1].Bytes);
    }

    [Fact]
    public void The_same_bytes_decode_by_the_bitness_asked_for()
    {
        Assert.Equal("dec %eax", Assert.Single(Disassembler.Disassemble([0x48], Origin, 32)).Text);
        Assert.Equal("push %ds", Assert.Single(Disassembler.Disassemble([0x1e], Origin, 16)).Text);
    }

    /// <summary>
    /// A long-mode machine of 2 GiB whose PDPT entry for 1..2 GiB is cleared, so that linear 0x40000000 onwards
    /// does not translate and the code just below it runs into unmapped memory.
    /// </summary>
    static Machine MachineWithHoleAtOneGiB(ulong codeAddress, byte[] code)
    {
        var machine = Machine.CreateLongMode(new MachineOptions { RamSize = 2UL << 30 });
        ulong pdpt = machine.Bus.Ram.Size - PhysicalMemory.PageSize;
        machine.WritePhysical(pdpt + 8, new byte[8]);
        machine.WritePhysical(codeAddress, code);
        return machine;
    }

    [Fact]
    public void Disassembling_memory_stops_with_a_marker_where_an_instruction_runs_into_an_unmapped_page()
    {
        var machine = MachineWithHoleAtOneGiB(0x3FFF_FFFA, Convert.FromHexString("4889e0488b05"));

        var lines = Disassembler.Disassemble(machine, 0x3FFF_FFFA, count: 5);

        Assert.Equal(["mov %rsp,%rax", "Cannot access memory at address 0x40000000"], lines.Select(l => l.Text));
        Assert.Equal(DisassemblyKind.Unreadable, lines[1].Kind);
        Assert.Equal(0x3FFF_FFFDUL, lines[1].Address);
        Assert.Equal("0x3ffffffd:  Cannot access memory at address 0x40000000", lines[1].ToString());
    }

    [Fact]
    public void Disassembling_an_unmapped_address_gives_only_the_marker()
    {
        var machine = MachineWithHoleAtOneGiB(0x1000, [0x90]);

        var line = Assert.Single(Disassembler.Disassemble(machine, 0x4000_0000, count: 3));

        Assert.Equal(DisassemblyKind.Unreadable, line.Kind);
        Assert.Equal("Cannot access memory at address 0x40000000", line.Text);
    }

    [Fact]
    public void Disassembling_mapped_memory_gives_the_count_asked_for_in_the_machines_bitness()
    {
        var machine = MachineWithHoleAtOneGiB(0x1000, Convert.FromHexString("0f01f84889e0c3"));

        var lines = Disassembler.Disassemble(machine, 0x1000, count: 2);

        Assert.Equal(["swapgs", "mov %rsp,%rax"], lines.Select(l => l.Text));
    }

    [Fact]
    public void An_address_inside_a_sized_function_belongs_to_the_function_not_to_a_label_inside_it_as_in_gdb()
    {
        var symbols = SymbolLookup.From(Assembled(Function("entry_SYSCALL_64", Origin, 0x40), Label("entry_SYSCALL_64_after_hwframe", Origin + 0x10)));

        Assert.Equal(new SymbolicAddress("entry_SYSCALL_64", Origin, 0x14), symbols.Find(Origin + 0x14));
        Assert.Equal(new SymbolicAddress("entry_SYSCALL_64", Origin, 8), symbols.Find(Origin + 8));
    }

    [Fact]
    public void Past_a_sized_function_a_label_after_it_names_the_address_and_without_one_nothing_does()
    {
        var symbols = SymbolLookup.From(Assembled(Function("first", Origin, 4), Label("after_first", Origin + 6), Function("second", Origin + 0x10, 4)));

        Assert.Equal(new SymbolicAddress("after_first", Origin + 6, 2), symbols.Find(Origin + 8));
        Assert.Equal(new SymbolicAddress("first", Origin, 3), symbols.Find(Origin + 3));
        Assert.Null(symbols.Find(Origin + 4));   // the padding after first, before any label
        Assert.Null(symbols.Find(Origin + 0x18)); // after second: gdb does not reach back past a sized symbol
        Assert.Null(symbols.Find(Origin - 1));
    }

    [Fact]
    public void A_symbol_names_no_address_outside_its_section()
    {
        var symbols = SymbolLookup.From(Assembled(Label("__text_end", Origin + 0x40), Label("start", Origin)));

        Assert.Equal(new SymbolicAddress("start", Origin, 0x3f), symbols.Find(Origin + 0x3f));
        Assert.Null(symbols.Find(Origin + 0x40));          // the section's end: a label there is past it
        Assert.Null(symbols.Find(0x7fff_ffff_eff8));        // far past the last section
    }

    [Fact]
    public void At_one_address_a_sized_function_wins_over_a_label_and_an_object()
    {
        var symbols = SymbolLookup.From(Assembled(
            Label("a_label", Origin),
            new AsmSymbol("an_object", Origin, 0x40, AsmSymbolType.Object, AsmSymbolBinding.Global, ".text"),
            Function("the_function", Origin, 0x40)));

        Assert.Equal("the_function", symbols.Find(Origin + 1)?.Name);
    }

    [Fact]
    public void Absolute_symbols_are_constants_and_name_no_address()
    {
        var symbols = SymbolLookup.From(Assembled(new AsmSymbol("__USER_CS", 0x100008, 0, AsmSymbolType.NoType, AsmSymbolBinding.Local, null), Function("entry", Origin, 0x10)));

        Assert.Equal(new SymbolicAddress("entry", Origin, 8), symbols.Find(Origin + 8));
    }

    [Fact]
    public void The_line_table_answers_only_inside_a_section()
    {
        var symbols = SymbolLookup.From(Assembled());

        Assert.Equal(new LineEntry(Origin + 0x20, "entry.S", 20), symbols.LineAt(Origin + 0x3f));
        Assert.Null(symbols.LineAt(Origin + 0x40));
        Assert.Null(symbols.LineAt(Origin - 1));
    }

    [Fact]
    public void Elf_symbols_at_one_address_go_by_name_as_gdb_sorts_them_and_files_name_nothing()
    {
        var symbols = SymbolLookup.From([
            new ElfSymbol("start", Origin, 0, ElfSymbolType.NoType),
            new ElfSymbol("zz.S", Origin, 0, ElfSymbolType.File),
            new ElfSymbol("_start", Origin, 0, ElfSymbolType.Function),
        ]);

        Assert.Equal(new SymbolicAddress("start", Origin, 2), symbols.Find(Origin + 2));
        Assert.Null(symbols.LineAt(Origin));
    }

    /// <summary>
    /// Encodings on which our GAS text and GNU objdump 2.40's agree (after collapsing objdump's column padding).
    /// Where Iced's GAS formatter differs by design it is left out: it keeps the q of jmpq/callq/pushq on memory
    /// operands (objdump 2.40 dropped it), writes iretl for cf, omits the %es: of string destinations and a scale of 1.
    /// </summary>
    static readonly string[] ObjdumpAgreed =
    [
        "4889e0", "488b051c000000", "c70001000000", "c60001", "48c7c0ffffffff", "4883c4f8", "e91b000000", "eb00",
        "0f01f8", "48890424", "a12000100000000000", "8d0500001000", "c9", "c3", "06", "488b44ddf8", "0f05", "480f07",
        "650f011c2510000000", "6690", "ffd0", "6a01", "ff0c24", "48a10000100000000000", "48cf", "0f01f9", "0f20d8",
        "0f22d8", "0f30", "0f32", "0f0138", "0faee8", "0f01cb", "0f01ca", "0f0028", "0f01142500000000",
    ];

    [ObjdumpFact]
    public void Gas_text_matches_objdump_on_the_same_bytes()
    {
        var code = Convert.FromHexString(string.Concat(ObjdumpAgreed));
        var ours = Disassembler.Disassemble(code, Origin).Select(l => Regex.Replace(l.Text, @"\s+", " ")).ToList();

        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(file, code);
            var (stdout, stderr, status) = QemuImage.Execute("objdump", ["-D", "-b", "binary", "-m", "i386:x86-64", $"--adjust-vma=0x{Origin:x}", file], TimeSpan.FromSeconds(30));
            Assert.True(status == 0, Encoding.UTF8.GetString(stderr));
            // "  100000:\t48 89 e0             \tmov    %rsp,%rax"; continuation lines of long instructions have no text column.
            var theirs = Encoding.UTF8.GetString(stdout).Split('\n')
                .Select(l => l.Split('\t'))
                .Where(f => f.Length >= 3 && f[0].TrimEnd().EndsWith(':'))
                .Select(f => Regex.Replace(string.Join(' ', f[2..]).Trim(), @"\s+", " "))
                .ToList();
            Assert.Equal(theirs, ours);
        }
        finally
        {
            File.Delete(file);
        }
    }
}

/// <summary>A fact that is skipped, with the reason printed, when GNU objdump is not installed.</summary>
public sealed class ObjdumpFactAttribute : FactAttribute
{
    static readonly string? MissingTools = QemuImage.Missing("objdump");

    public ObjdumpFactAttribute()
    {
        if (MissingTools is not null)
            Skip = $"{MissingTools} not installed (.ci/run installs binutils)";
    }
}
