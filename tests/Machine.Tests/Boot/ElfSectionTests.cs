using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Repl.Machine.Tests.Asm;
using Repl.Qemu;

namespace Repl.Machine.Tests.Boot;

/// <summary>An ELF image's named sections, against readelf -S on what GNU as -g and ld make; and the leniency that
/// keeps every image that loads loading: a section loading does not need may be nameless or empty, never an error.</summary>
public class ElfSectionTests : IDisposable
{
    readonly string _directory = Directory.CreateTempSubdirectory("repl-elfsec-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>A small program with code, data, bss and DWARF lines, assembled by GNU as -g and linked by ld.</summary>
    string GnuElf()
    {
        string source = Path.Combine(_directory, "p.S"), obj = Path.Combine(_directory, "p.o"), elf = Path.Combine(_directory, "p.elf");
        File.WriteAllText(source, ".text\n.globl _start\n_start: mov $1, %eax\nhlt\n.data\nvalue: .quad 7\n.bss\nspace: .zero 64\n");
        QemuImage.Tool("as", ["--64", "-g", "-o", obj, source]);
        File.WriteAllText(Path.Combine(_directory, "p.ld"), GnuAs.LinkerScript([".text", ".data", ".bss"], 0x200000));
        QemuImage.Tool("ld", ["-m", "elf_x86_64", "-T", Path.Combine(_directory, "p.ld"), "--build-id=none", "--no-warn-rwx-segments", "-o", elf, obj]);
        return elf;
    }

    /// <summary>readelf -S -W's rows as (name, type number omitted, address, offset, size).</summary>
    static List<(string Name, ulong Address, ulong Offset, ulong Size)> Readelf(string elf)
    {
        var (stdout, _, status) = QemuImage.Execute("readelf", ["-S", "-W", elf], TimeSpan.FromSeconds(30));
        Assert.Equal(0, status);
        var rows = new List<(string, ulong, ulong, ulong)>();
        foreach (string line in Encoding.UTF8.GetString(stdout).Split('\n'))
        {
            // "  [ 1] .text             PROGBITS        0000000000200000 001000 000006 00  AX  0   0  1"
            int close = line.IndexOf(']');
            if (!line.TrimStart().StartsWith('[') || close < 0 || line.Contains("Nr]"))
                continue;
            string[] f = line[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            bool nameless = f[0] == "NULL";
            int at = nameless ? 1 : 2;
            rows.Add((nameless ? "" : f[0], Hex(f[at]), Hex(f[at + 1]), Hex(f[at + 2])));
        }
        return rows;
    }

    static ulong Hex(string text) => ulong.Parse(text, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    [ReadelfGasFact]
    public void The_sections_are_the_ones_readelf_lists_with_names_addresses_offsets_and_sizes()
    {
        string elf = GnuElf();

        var image = new ElfImage(File.ReadAllBytes(elf));

        Assert.Equal(Readelf(elf), image.Sections.Select(s => (s.Name, s.Address, s.Offset, s.Size)));
        Assert.Contains(image.Sections, s => s.Name == ".debug_line");
    }

    [ReadelfGasFact]
    public void A_sections_contents_are_its_bytes_in_the_file_and_bss_has_none()
    {
        string elf = GnuElf();
        byte[] file = File.ReadAllBytes(elf);
        var image = new ElfImage(file);

        Assert.Equal(7UL, BinaryPrimitives.ReadUInt64LittleEndian(ElfImage.Contents(file, image.Section(".data")!.Value)));
        Assert.Equal(0, ElfImage.Contents(file, image.Section(".bss")!.Value).Length);
        Assert.Null(image.Section(".no_such"));
    }

    [ReadelfGasFact]
    public void A_broken_name_table_or_section_outside_the_file_leaves_the_image_loadable()
    {
        string elf = GnuElf();
        byte[] file = File.ReadAllBytes(elf);
        var sections = new ElfImage(file).Sections;
        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(40));
        int lines = sections.ToList().FindIndex(s => s.Name == ".debug_line");

        // .debug_line's bytes said to lie far past the end of the file, and e_shstrndx naming no section.
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan((int)shoff + lines * 64 + 24), 0xFFFF_FFFF_0000);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(62), 0x7FFF);
        var image = new ElfImage(file);

        Assert.All(image.Sections, s => Assert.Equal("", s.Name));
        Assert.Equal(0, ElfImage.Contents(file, image.Sections[lines]).Length);
        Assert.Contains(image.Symbols, s => s.Name == "_start");
        Assert.Equal(0x200000UL, Loader.LoadElf(new Machine(), file).Entry);
    }
}

/// <summary>Skips a test when GNU as, ld or readelf is missing.</summary>
public sealed class ReadelfGasFactAttribute : FactAttribute
{
    static readonly string? MissingTools = QemuImage.Missing("as", "ld", "readelf");

    public ReadelfGasFactAttribute()
    {
        if (MissingTools is not null)
            Skip = $"{MissingTools} not installed (.ci/run installs binutils)";
    }
}
