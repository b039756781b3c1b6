using System.Text;
using Repl.Machine.Asm;
using Repl.Qemu;
using static Repl.Machine.Tests.Asm.SampleProgram;

namespace Repl.Machine.Tests.Asm;

public class ElfWriterTests
{
    static ElfImage Written(AssemblyResult result, ulong? entry = null) => new(ElfWriter.Write(result, entry));

    [Fact]
    public void Our_loader_finds_one_segment_per_section_with_bss_as_memory_beyond_the_file_bytes()
    {
        var elf = Written(Result());

        Assert.True(elf.Is64);
        Assert.Equal(
            [
                (Text, Text, 11UL, 11UL),
                (Data, Data, 8UL, 8UL),
                (TextExtra, TextExtra, 6UL, 6UL),
                (Bss, Bss, 0UL, 64UL),
            ],
            elf.Segments.Select(s => (s.PhysicalAddress, s.VirtualAddress, s.FileSize, s.MemorySize)));
    }

    [Fact]
    public void Every_segment_lies_in_the_file_at_its_address_modulo_the_page_size()
    {
        var elf = Written(Result());

        Assert.All(elf.Segments, s => Assert.Equal(s.VirtualAddress % 0x1000, s.FileOffset % 0x1000));
    }

    [Fact]
    public void Our_loader_reads_back_every_named_symbol_with_its_address_size_type_binding_absoluteness_and_section()
    {
        var result = Result();
        var elf = Written(result);
        (ulong, ulong)? SectionOf(string name) => result.SectionRange(result.Symbols.Single(s => s.Name == name).Section);

        Assert.Equal(
            [
                new("KERNEL_CS", 0x10, 0, ElfSymbolType.NoType, Absolute: true),
                new("_start", Text, 10, ElfSymbolType.Function, ElfSymbolBinding.Global, Section: SectionOf("_start")),
                new("buffer", Bss, 0, ElfSymbolType.NoType, Section: SectionOf("buffer")),
                new("done", Text + 9, 0, ElfSymbolType.NoType, Section: SectionOf("done")),
                new("entry_SYSCALL_64", TextExtra, 0, ElfSymbolType.NoType, ElfSymbolBinding.Global, Section: SectionOf("entry_SYSCALL_64")),
                new("hook", Text + 10, 0, ElfSymbolType.NoType, ElfSymbolBinding.Weak, Section: SectionOf("hook")),
                new ElfSymbol("value", Data, 8, ElfSymbolType.Object, Section: SectionOf("value")),
            ],
            elf.Symbols.OrderBy(s => s.Name, StringComparer.Ordinal));
        Assert.NotEqual(SectionOf("_start"), SectionOf("entry_SYSCALL_64")); // the ranges are the sections', not one for all
    }

    [Fact]
    public void The_entry_is_the_one_given_else_start_else_the_first_section()
    {
        var startAtHlt = Result(withStart: false);
        startAtHlt = new AssemblyResult
        {
            Diagnostics = [], Sections = startAtHlt.Sections, Lines = startAtHlt.Lines, Files = startAtHlt.Files,
            Symbols = [.. startAtHlt.Symbols, new("_start", Text + 9, 0, AsmSymbolType.NoType, AsmSymbolBinding.Global, ".text")],
        };

        Assert.Equal(Text + 7, Written(startAtHlt, entry: Text + 7).Entry);
        Assert.Equal(Text + 9, Written(startAtHlt).Entry);
        Assert.Equal(Text, Written(Result(withStart: false)).Entry);
    }

    [Fact]
    public void Loading_the_elf_and_loading_the_result_directly_fill_memory_alike_and_give_the_same_entry_and_symbols()
    {
        var viaElf = new Machine();
        var direct = new Machine();
        foreach (var m in new[] { viaElf, direct })
            m.WritePhysical(Origin, Enumerable.Repeat((byte)0xFF, 0x100).ToArray());

        var fromElf = Loader.LoadElf(viaElf, ElfWriter.Write(Result()));
        var fromResult = Loader.LoadAssembly(direct, Result());

        Assert.Equal(fromElf.Entry, fromResult.Entry);
        Assert.Equal(fromElf.Symbols.OrderBy(s => s.Name), fromResult.Symbols.OrderBy(s => s.Name));
        Assert.Equal(Memory(viaElf), Memory(direct));
        Assert.Equal([.. TextBytes, .. DataBytes, .. TextExtraBytes, .. new byte[64], 0xFF], Memory(direct)[..(int)(Bss + 65 - Origin)]);
    }

    static byte[] Memory(Machine m)
    {
        var bytes = new byte[0x100];
        m.ReadPhysical(Origin, bytes);
        return bytes;
    }

    [Fact]
    public void Loading_a_result_that_does_not_fit_in_ram_is_refused_with_a_loader_exception()
    {
        var tiny = new Machine(new MachineOptions { RamSize = 0x10_0000 });

        var e = Assert.Throws<LoaderException>(() => Loader.LoadAssembly(tiny, Result()));
        Assert.Contains("outside RAM", e.Message);
    }

    // readelf, from binutils, checks what our loader does not: section headers, symbol order and DWARF.

    static string Readelf(string elf, params string[] options)
    {
        var (stdout, stderr, status) = QemuImage.Execute("readelf", ["-W", .. options, elf], TimeSpan.FromSeconds(30));
        Assert.Equal(0, status);
        Assert.Equal("", Encoding.UTF8.GetString(stderr));
        return Encoding.UTF8.GetString(stdout);
    }

    [ReadelfFact]
    public void Readelf_reads_every_part_without_a_warning()
    {
        using var sample = WriteToTemporaryDirectory();

        string all = Readelf(sample.Elf, "-a", "--debug-dump=info,abbrev,line,aranges,Ranges");

        Assert.DoesNotContain("Warning", all);
        Assert.Contains("EXEC (Executable file)", all);
        Assert.Contains("Advanced Micro Devices X86-64", all);
    }

    [ReadelfFact]
    public void Readelf_lists_each_section_with_its_type_flags_address_and_the_tables_after_them()
    {
        using var sample = WriteToTemporaryDirectory();

        var sections = Readelf(sample.Elf, "-S").Split('\n').Where(l => l.TrimStart().StartsWith('[') && !l.Contains("Nr]"))
            .Select(l => l[(l.IndexOf(']') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();

        Assert.Equal([".text", ".data", ".text.extra", ".bss", ".debug_info", ".debug_abbrev", ".debug_line", ".debug_aranges", ".debug_ranges", ".symtab", ".strtab", ".shstrtab"],
                     sections.Skip(1).Select(s => s[0]));
        Assert.Equal(["PROGBITS", "0000000000100000", "AX"], [sections[1][1], sections[1][2], sections[1][6]]);
        Assert.Equal(["PROGBITS", "000000000010000b", "WA"], [sections[2][1], sections[2][2], sections[2][6]]);
        Assert.Equal(["NOBITS", "0000000000100019", "000040", "WA"], [sections[4][1], sections[4][2], sections[4][4], sections[4][6]]);
    }

    [ReadelfFact]
    public void Readelf_sees_read_execute_code_and_read_write_data_segments()
    {
        using var sample = WriteToTemporaryDirectory();

        var loads = Readelf(sample.Elf, "-l").Split('\n').Where(l => l.TrimStart().StartsWith("LOAD")).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();

        Assert.Equal(["R E", "RW", "R E", "RW"], loads.Select(l => string.Join(' ', l[6..^1])));
        Assert.Equal(["0x0000000000100019", "0x000000", "0x000040"], [loads[3][3], loads[3][4], loads[3][5]]);
    }

    [ReadelfFact]
    public void Readelf_shows_locals_first_absolute_symbols_in_abs_and_the_others_in_their_sections()
    {
        using var sample = WriteToTemporaryDirectory();

        var symbols = Readelf(sample.Elf, "-s").Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length == 8 && f[0].EndsWith(':') && f[0] != "Num:").ToList();

        var binds = symbols.Select(f => f[4]).ToList();
        Assert.True(binds.LastIndexOf("LOCAL") < binds.FindIndex(b => b != "LOCAL"), string.Join(",", binds));
        Assert.Equal(["FILE", "LOCAL", "ABS", "file.S"], Fields(symbols, "file.S"));
        Assert.Equal(["NOTYPE", "LOCAL", "ABS", "KERNEL_CS"], Fields(symbols, "KERNEL_CS"));
        Assert.Equal(["FUNC", "GLOBAL", "1", "_start"], Fields(symbols, "_start"));
        Assert.Equal(["NOTYPE", "WEAK", "1", "hook"], Fields(symbols, "hook"));
        Assert.Equal(["OBJECT", "LOCAL", "2", "value"], Fields(symbols, "value"));
        Assert.Equal(["NOTYPE", "GLOBAL", "3", "entry_SYSCALL_64"], Fields(symbols, "entry_SYSCALL_64"));
        Assert.Equal(["NOTYPE", "LOCAL", "4", "buffer"], Fields(symbols, "buffer"));
    }

    static string[] Fields(List<string[]> symbols, string name)
    {
        var f = symbols.Single(f => f[7] == name);
        return [f[3], f[4], f[6], f[7]];
    }

    [ReadelfFact]
    public void Readelf_decodes_the_line_table_to_each_instruction_s_file_and_line()
    {
        using var sample = WriteToTemporaryDirectory();

        Assert.Equal(["file.S:4@0x100000", "file.S:5@0x100005", "file.S:6@0x100007", "file.S:8@0x100009", "file.S:11@0x10000a", "file.S:-@0x10000b",
                      "file.S:13@0x10000b", "file.S:-@0x100013", "entry.inc:3@0x100013", "entry.inc:4@0x100016", "entry.inc:-@0x100019"], DecodedLines(sample.Elf));
    }

    [ReadelfFact]
    public void Rows_that_step_back_or_jump_far_in_lines_or_addresses_decode_exactly()
    {
        var code = new byte[0x300];
        var result = new AssemblyResult
        {
            Diagnostics = [],
            Sections = [new(".text", Origin, (ulong)code.Length, 1, SectionFlags.Alloc | SectionFlags.Execute, false, code)],
            Symbols = [],
            Lines = [new(Origin, "far.S", 10), new(Origin + 0x200, "far.S", 2), new(Origin + 0x201, "far.S", 300), new(Origin + 0x201, "far.S", 299)],
            Files = ["far.S"],
        };
        using var written = ElfOnDisk.Write(result, "far.elf");

        Assert.Equal(["far.S:10@0x100000", "far.S:2@0x100200", "far.S:300@0x100201", "far.S:299@0x100201", "far.S:-@0x100300"], DecodedLines(written.Elf));
    }

    [ReadelfFact]
    public void A_result_without_line_rows_still_gives_a_well_formed_file()
    {
        var noLines = new AssemblyResult { Diagnostics = [], Sections = Result().Sections, Symbols = Result().Symbols, Lines = [], Files = [MainFile] };
        using var written = ElfOnDisk.Write(noLines, "data.elf");

        Assert.DoesNotContain("Warning", Readelf(written.Elf, "-a", "--debug-dump=info,abbrev,line,aranges,Ranges"));
        Assert.Empty(DecodedLines(written.Elf));
        Assert.Equal(4, new ElfImage(File.ReadAllBytes(written.Elf)).Segments.Count);
    }

    [Fact]
    public void The_sample_assembled_by_our_assembler_is_the_hand_made_result()
    {
        var assembled = Assembled();
        var made = Result();

        Assert.Equal(made.Sections.Select(s => (s.Name, s.Address, s.Size, s.Flags, s.NoBits, Convert.ToHexString(s.Bytes))),
                     assembled.Sections.Select(s => (s.Name, s.Address, s.Size, s.Flags, s.NoBits, Convert.ToHexString(s.Bytes))));
        Assert.Equal(made.Symbols.OrderBy(s => s.Name, StringComparer.Ordinal), assembled.Symbols.OrderBy(s => s.Name, StringComparer.Ordinal));
        Assert.Equal(made.Lines, assembled.Lines);
        Assert.Equal(made.Files, assembled.Files);
    }

    /// <summary>readelf's decoded line table as file:line@address, with "-" for the line of an end of sequence.</summary>
    static List<string> DecodedLines(string elf) =>
        Readelf(elf, "--debug-dump=decodedline").Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 3 && f[2].StartsWith("0x")).Select(f => $"{f[0]}:{f[1]}@{f[2]}").ToList();
}

/// <summary>A fact that is skipped, with the reason printed, when binutils' readelf is not installed.</summary>
public sealed class ReadelfFactAttribute : FactAttribute
{
    static readonly string? MissingTools = QemuImage.Missing("readelf");

    public ReadelfFactAttribute()
    {
        if (MissingTools is not null)
            Skip = $"{MissingTools} not installed (.ci/run installs binutils)";
    }
}

/// <summary>
/// A small program in two files and the assembly result GNU as's layout gives it, made by hand so that the ELF
/// writer's tests need no assembler: four sections (code, data, a second code section from the included file,
/// .bss last), symbols of every binding and type, an absolute symbol, and a line table over both files.
/// </summary>
static class SampleProgram
{
    public const ulong Origin = 0x10_0000;
    public const ulong Text = Origin, Data = 0x10_000B, TextExtra = 0x10_0013, Bss = 0x10_0019;

    public const string MainFile = "file.S", IncludedFile = "entry.inc";

    public const string MainSource = """
        # A sample for the ELF writer's tests
        	.globl _start; .type _start, @function
        _start:
        	mov $1, %eax
        	add %ebx, %eax
        	jmp done
        done:
        	hlt
        	.size _start, . - _start
        	.weak hook
        hook:	ret
        	.data
        value:	.quad 42
        	.type value, @object; .size value, 8
        	.bss
        buffer:	.skip 64
        	.include "entry.inc"
        KERNEL_CS = 0x10

        """;

    public const string IncludedSource = """
        	.section .text.extra,"ax"
        	.globl entry_SYSCALL_64
        entry_SYSCALL_64:	swapgs
        	sysretq

        """;

    public static readonly byte[] TextBytes =
    [
        0xB8, 0x01, 0x00, 0x00, 0x00, // mov $1, %eax
        0x01, 0xD8, // add %ebx, %eax
        0xEB, 0x00, // jmp done
        0xF4, // hlt
        0xC3, // ret
    ];

    public static readonly byte[] DataBytes = [42, 0, 0, 0, 0, 0, 0, 0];

    public static readonly byte[] TextExtraBytes = [0x0F, 0x01, 0xF8, 0x48, 0x0F, 0x07]; // swapgs; sysretq

    public static AssemblyResult Result(bool withStart = true) => new()
    {
        Diagnostics = [],
        Sections =
        [
            new(".text", Text, (ulong)TextBytes.Length, 1, SectionFlags.Alloc | SectionFlags.Execute, false, TextBytes),
            new(".data", Data, (ulong)DataBytes.Length, 1, SectionFlags.Alloc | SectionFlags.Write, false, DataBytes),
            new(".text.extra", TextExtra, (ulong)TextExtraBytes.Length, 1, SectionFlags.Alloc | SectionFlags.Execute, false, TextExtraBytes),
            new(".bss", Bss, 64, 1, SectionFlags.Alloc | SectionFlags.Write, true, []),
        ],
        Symbols =
        [
            .. withStart ? [new AsmSymbol("_start", Text, 10, AsmSymbolType.Function, AsmSymbolBinding.Global, ".text")] : Array.Empty<AsmSymbol>(),
            new("done", Text + 9, 0, AsmSymbolType.NoType, AsmSymbolBinding.Local, ".text"),
            new("hook", Text + 10, 0, AsmSymbolType.NoType, AsmSymbolBinding.Weak, ".text"),
            new("value", Data, 8, AsmSymbolType.Object, AsmSymbolBinding.Local, ".data"),
            new("buffer", Bss, 0, AsmSymbolType.NoType, AsmSymbolBinding.Local, ".bss"),
            new("entry_SYSCALL_64", TextExtra, 0, AsmSymbolType.NoType, AsmSymbolBinding.Global, ".text.extra"),
            new("KERNEL_CS", 0x10, 0, AsmSymbolType.NoType, AsmSymbolBinding.Local, null),
        ],
        Lines =
        [
            new(Text, MainFile, 4),
            new(Text + 5, MainFile, 5),
            new(Text + 7, MainFile, 6),
            new(Text + 9, MainFile, 8),
            new(Text + 10, MainFile, 11),
            new(Data, MainFile, 13),
            new(TextExtra, IncludedFile, 3),
            new(TextExtra + 3, IncludedFile, 4),
        ],
        Files = [MainFile, IncludedFile],
    };

    /// <summary>The sample as our assembler assembles it, the included file read from memory.</summary>
    public static AssemblyResult Assembled()
    {
        var result = Assembler.Assemble(MainSource, new AsmOptions
        {
            FileName = MainFile,
            ReadFile = name => name == IncludedFile ? System.Text.Encoding.UTF8.GetBytes(IncludedSource) : null,
        });
        Assert.True(result.Success, string.Concat(result.Diagnostics));
        return result;
    }

    /// <summary>
    /// Writes both sources and the ELF of <paramref name="result"/> (by default the hand-made one) into a new
    /// temporary directory, the ELF's compilation directory.
    /// </summary>
    public static ElfOnDisk WriteToTemporaryDirectory(AssemblyResult? result = null) => ElfOnDisk.Write(result ?? Result(), "file.elf", (MainFile, MainSource), (IncludedFile, IncludedSource));
}

/// <summary>
/// An ELF the writer made, with its sources, in a temporary directory that is also its compilation directory;
/// disposing removes them.
/// </summary>
sealed record ElfOnDisk(string Directory, string Elf) : IDisposable
{
    public static ElfOnDisk Write(AssemblyResult result, string elfName, params (string Name, string Text)[] sources)
    {
        string dir = System.IO.Directory.CreateTempSubdirectory("repl-elf-").FullName;
        foreach (var (name, text) in sources)
            File.WriteAllText(Path.Combine(dir, name), text);
        string elf = Path.Combine(dir, elfName);
        File.WriteAllBytes(elf, ElfWriter.Write(result, compilationDirectory: dir));
        return new ElfOnDisk(dir, elf);
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
