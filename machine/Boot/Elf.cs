using System.Buffers.Binary;
using System.Text;

namespace Repl.Machine;

public enum ElfSymbolType
{
    // st_info's low nibble (System V ABI, "Symbol Table").
    NoType = 0,
    Object = 1,
    Function = 2,
    Section = 3,
    File = 4,
    Common = 5,
    Tls = 6,
}

/// <summary>st_info's high nibble (System V ABI, "Symbol Table").</summary>
public enum ElfSymbolBinding
{
    Local = 0,
    Global = 1,
    Weak = 2,
}

/// <summary>A named symbol of an ELF image: what the shell and debugger show for an address. An absolute symbol
/// (st_shndx SHN_ABS: .set, .equ) is a constant, not a place. <see cref="Section"/> is the address range of the
/// section st_shndx names, [Start, End), which bounds the addresses the symbol can name (gdb names no address outside
/// its section); null when not known.</summary>
public readonly record struct ElfSymbol(string Name, ulong Address, ulong Size, ElfSymbolType Type,
                                        ElfSymbolBinding Binding = ElfSymbolBinding.Local, bool Absolute = false,
                                        (ulong Start, ulong End)? Section = null);

/// <summary>A PT_LOAD program header: file bytes to place at a physical address, then zeroes up to MemorySize.</summary>
public readonly record struct ElfSegment(ulong PhysicalAddress, ulong VirtualAddress, ulong FileOffset, ulong FileSize, ulong MemorySize);

/// <summary>A section header (System V ABI, "Sections"): its name from the section-name string table (empty when that
/// table is unusable), its type, its address, where its bytes lie in the file, and the link and entry size that symbol
/// tables use.</summary>
public readonly record struct ElfSection(string Name, uint Type, ulong Address, ulong Offset, ulong Size, uint Link, ulong EntrySize);

/// <summary>
/// An ELF32 or ELF64 little-endian x86 executable, parsed from its bytes (System V ABI, "Object Files" and
/// "Program Loading"): the loadable segments, the entry point, the symbol table and the named sections. Every offset
/// and size that loading needs is checked against the file, so a truncated or corrupt image gives a
/// <see cref="LoaderException"/>; sections that loading does not need (debug information, say) are read leniently:
/// a bad name or bytes outside the file leave that section nameless or empty instead of refusing the image.
/// </summary>
public sealed class ElfImage
{
    const uint Magic = 0x464C457F; // "\x7fELF"
    const byte ElfClass32 = 1, ElfClass64 = 2, ElfData2Lsb = 1;
    const ushort EtExec = 2, EmI386 = 3, EmX86_64 = 62;
    const uint PtLoad = 1;
    const uint ShtSymtab = 2, ShtNobits = 8;
    const ushort ShnAbs = 0xFFF1; // st_shndx of a symbol whose value is a number rather than a place in a section
    const ushort ShnLoReserve = 0xFF00; // st_shndx from here up is a special meaning, not a section header's index

    public bool Is64 { get; }
    public ulong Entry { get; }
    public IReadOnlyList<ElfSegment> Segments { get; }
    public IReadOnlyList<ElfSymbol> Symbols { get; }
    /// <summary>Every section header, in the file's order (so that a header's index is its position here).</summary>
    public IReadOnlyList<ElfSection> Sections { get; }

    /// <summary>The first section called <paramref name="name"/> (".debug_line"), or null.</summary>
    public ElfSection? Section(string name)
    {
        foreach (var section in Sections)
            if (section.Name == name)
                return section;
        return null;
    }

    /// <summary>The bytes of <paramref name="section"/> in <paramref name="file"/>, the bytes this image was read from:
    /// empty for a section without any there (SHT_NOBITS) or whose bytes lie outside the file.</summary>
    public static ReadOnlySpan<byte> Contents(ReadOnlySpan<byte> file, ElfSection section) =>
        section.Type == ShtNobits || section.Offset > (ulong)file.Length || section.Size > (ulong)file.Length - section.Offset
            ? default
            : file.Slice((int)section.Offset, (int)section.Size);

    public static bool HasElfMagic(ReadOnlySpan<byte> file) =>
        file.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(file) == Magic;

    public ElfImage(ReadOnlySpan<byte> file)
    {
        if (!HasElfMagic(file))
            throw new LoaderException("not an ELF file (no \\x7fELF magic)");
        var r = new Reader(file);
        byte elfClass = r.U8(4);
        if (elfClass is not (ElfClass32 or ElfClass64))
            throw new LoaderException($"ELF class {elfClass} is neither 32-bit nor 64-bit");
        if (r.U8(5) != ElfData2Lsb)
            throw new LoaderException("ELF file is big-endian; x86 images are little-endian");
        Is64 = elfClass == ElfClass64;
        ushort type = r.U16(16);
        if (type != EtExec)
            throw new LoaderException($"ELF type {type} is not an executable (ET_EXEC, 2); link the object file first");
        ushort machine = r.U16(18);
        if (machine != (Is64 ? EmX86_64 : EmI386))
            throw new LoaderException($"ELF machine {machine} is not {(Is64 ? "x86-64 (62)" : "i386 (3)")}");

        // The ELF header fields after e_version: entry, phoff, shoff (word-sized), then flags and 16-bit counts.
        Entry = Is64 ? r.U64(24) : r.U32(24);
        ulong phoff = Is64 ? r.U64(32) : r.U32(28), shoff = Is64 ? r.U64(40) : r.U32(32);
        ulong counts = Is64 ? 54UL : 42UL;
        ushort phentsize = r.U16(counts), phnum = r.U16(counts + 2), shentsize = r.U16(counts + 4), shnum = r.U16(counts + 6);
        // e_shstrndx, the section holding section names; SHN_UNDEF (0) when the file has none, or is too short to say.
        ushort names = r.Holds(counts + 8, 2) ? r.U16(counts + 8) : (ushort)0;

        var segments = new List<ElfSegment>();
        for (ulong i = 0; i < phnum; i++)
        {
            ulong ph = phoff + i * phentsize;
            if (r.U32(ph) != PtLoad)
                continue;
            var s = Is64
                ? new ElfSegment(r.U64(ph + 24), r.U64(ph + 16), r.U64(ph + 8), r.U64(ph + 32), r.U64(ph + 40))
                : new ElfSegment(r.U32(ph + 12), r.U32(ph + 8), r.U32(ph + 4), r.U32(ph + 16), r.U32(ph + 20));
            if (s.FileSize > s.MemorySize)
                throw new LoaderException($"ELF segment at 0x{s.PhysicalAddress:x} has more file bytes (0x{s.FileSize:x}) than memory (0x{s.MemorySize:x})");
            if (s.FileSize != 0)
                r.Check(s.FileOffset, s.FileSize, $"segment at 0x{s.PhysicalAddress:x}");
            segments.Add(s);
        }
        if (segments.Count == 0)
            throw new LoaderException("ELF file has no loadable (PT_LOAD) segments");
        Segments = segments;
        Sections = ReadSections(r, shoff, shentsize, shnum, names);
        Symbols = ReadSymbols(r);
    }

    List<ElfSection> ReadSections(Reader r, ulong shoff, ushort shentsize, ushort shnum, ushort names)
    {
        int headerSize = Is64 ? 64 : 40;
        var sections = new List<ElfSection>();
        var nameIndexes = new List<uint>();
        for (ulong i = 0; i < shnum; i++)
        {
            ulong sh = shoff + i * shentsize;
            uint type = r.U32(sh + 4);
            if (!r.Holds(sh, (ulong)headerSize) && type != ShtSymtab)
            {
                // A header cut short by the end of the file: loading never needed it, so it stays a blank entry. A
                // symbol table's header is read on, and refused as truncated.
                sections.Add(new ElfSection("", type, 0, 0, 0, 0, 0));
                nameIndexes.Add(0);
                continue;
            }
            // Elf64_Shdr: name, type, flags(8), addr, offset, size, link, info, addralign, entsize; Elf32_Shdr with 4-byte words.
            nameIndexes.Add(r.U32(sh));
            sections.Add(Is64
                ? new ElfSection("", type, r.U64(sh + 16), r.U64(sh + 24), r.U64(sh + 32), r.U32(sh + 40), r.U64(sh + 56))
                : new ElfSection("", type, r.U32(sh + 12), r.U32(sh + 16), r.U32(sh + 20), r.U32(sh + 24), r.U32(sh + 36)));
        }
        if (names != 0 && names < sections.Count && sections[names] is { Type: not ShtNobits } table && r.Holds(table.Offset, table.Size))
            for (int i = 0; i < sections.Count; i++)
                sections[i] = sections[i] with { Name = r.NameOrEmpty(table.Offset, table.Size, nameIndexes[i]) };
        return sections;
    }

    IReadOnlyList<ElfSymbol> ReadSymbols(Reader r)
    {
        var symbols = new List<ElfSymbol>();
        for (int i = 0; i < Sections.Count; i++)
        {
            var table = Sections[i];
            if (table.Type != ShtSymtab)
                continue;
            // sh_link names the string table of the symbol names.
            if (table.Link >= Sections.Count || table.EntrySize == 0)
                throw new LoaderException($"ELF symbol table (section {i}) has a bad string-table link or entry size");
            var strings = Sections[(int)table.Link];
            ulong offset = table.Offset, size = table.Size, entsize = table.EntrySize;
            r.Check(offset, size, "symbol table");
            r.Check(strings.Offset, strings.Size, "symbol string table");
            for (ulong s = offset; s + entsize <= offset + size; s += entsize)
            {
                // Elf64_Sym: name, info, other, shndx, value, size; Elf32_Sym: name, value, size, info, other, shndx.
                uint name = r.U32(s);
                byte info = Is64 ? r.U8(s + 4) : r.U8(s + 12);
                ushort shndx = Is64 ? r.U16(s + 6) : r.U16(s + 14);
                ulong value = Is64 ? r.U64(s + 8) : r.U32(s + 4), symbolSize = Is64 ? r.U64(s + 16) : r.U32(s + 8);
                var type = (ElfSymbolType)(info & 0xF);
                if (name == 0 || type is ElfSymbolType.Section or ElfSymbolType.File)
                    continue;
                // SHN_UNDEF (0) and the reserved indexes (SHN_ABS, SHN_COMMON ...) name no section of this file, and a
                // section at address 0 of an executable is not loaded (a hand-made image may point its symbols there):
                // neither says where the symbol's addresses end.
                (ulong, ulong)? section = shndx != 0 && shndx < Sections.Count && shndx < ShnLoReserve && Sections[shndx].Address != 0
                    ? (Sections[shndx].Address, Sections[shndx].Address + Sections[shndx].Size) : null;
                symbols.Add(new ElfSymbol(r.String(strings.Offset, strings.Size, name), value, symbolSize, type,
                                          (ElfSymbolBinding)(info >> 4), Absolute: shndx == ShnAbs, section));
            }
        }
        return symbols;
    }

    /// <summary>Bounds-checked little-endian reads from the file.</summary>
    readonly ref struct Reader(ReadOnlySpan<byte> file)
    {
        readonly ReadOnlySpan<byte> _file = file;

        public bool Holds(ulong offset, ulong length) => offset <= (ulong)_file.Length && length <= (ulong)_file.Length - offset;

        public void Check(ulong offset, ulong length, string what)
        {
            if (!Holds(offset, length))
                throw new LoaderException($"ELF file is truncated: its {what} (0x{length:x} bytes at offset 0x{offset:x}) ends past the file's 0x{_file.Length:x} bytes");
        }

        ReadOnlySpan<byte> At(ulong offset, int length)
        {
            Check(offset, (ulong)length, "headers");
            return _file.Slice((int)offset, length);
        }

        public byte U8(ulong offset) => At(offset, 1)[0];
        public ushort U16(ulong offset) => BinaryPrimitives.ReadUInt16LittleEndian(At(offset, 2));
        public uint U32(ulong offset) => BinaryPrimitives.ReadUInt32LittleEndian(At(offset, 4));
        public ulong U64(ulong offset) => BinaryPrimitives.ReadUInt64LittleEndian(At(offset, 8));

        public string String(ulong table, ulong tableSize, uint index)
        {
            if (index >= tableSize)
                throw new LoaderException($"ELF symbol name offset 0x{index:x} lies outside its string table");
            var rest = _file.Slice((int)(table + index), (int)(tableSize - index));
            int end = rest.IndexOf((byte)0);
            return Encoding.UTF8.GetString(end < 0 ? rest : rest[..end]);
        }

        /// <summary>A section's name: empty when the index lies outside the name table (which the caller checked is in the file).</summary>
        public string NameOrEmpty(ulong table, ulong tableSize, uint index) =>
            index < tableSize ? String(table, tableSize, index) : "";
    }
}
