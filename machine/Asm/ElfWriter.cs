using System.Text;

namespace Repl.Machine.Asm;

/// <summary>
/// Writes an assembly result as an ELF64 x86-64 executable (System V gABI, "Object Files" and "Program Loading";
/// the x86-64 psABI) that our loader, gdb and binutils read: one PT_LOAD per section at its laid-out address,
/// a section header per section, <c>.symtab</c>/<c>.strtab</c>, and DWARF (<c>.debug_line</c> version 3 and a
/// version 3 <c>.debug_info</c> compile unit, the pair GNU as 2.40 writes with -g, which gdb 13 reads) so that a
/// debugger shows the .S source.
/// </summary>
public static class ElfWriter
{
    const ushort EtExec = 2, EmX86_64 = 62;
    const int ElfHeaderSize = 64, ProgramHeaderSize = 56, SectionHeaderSize = 64, SymbolSize = 24;
    const uint PtLoad = 1;
    const uint PfX = 1, PfW = 2, PfR = 4;
    const uint ShtProgbits = 1, ShtSymtab = 2, ShtStrtab = 3, ShtNobits = 8;
    const ulong ShfWrite = 1, ShfAlloc = 2, ShfExecinstr = 4;
    const ushort ShnAbs = 0xFFF1;
    const byte SttNoType = 0, SttSection = 3, SttFile = 4;
    const byte StbLocal = 0;

    /// <summary>
    /// Segments start in the file at the same offset modulo a page as their address, as the gABI asks of
    /// p_offset and p_vaddr; sections that follow each other in memory then follow each other in the file.
    /// </summary>
    const ulong PageSize = 0x1000;

    /// <summary>One section of the output file; NoBits sections have Size but no Bytes.</summary>
    sealed record OutputSection(string Name, uint Type, ulong Flags, ulong Address, ulong Alignment, byte[] Bytes, ulong Size,
                                uint Link = 0, uint Info = 0, ulong EntrySize = 0)
    {
        public ulong Offset { get; set; }
    }

    /// <summary>
    /// The ELF image of <paramref name="result"/>, entered at <see cref="Entry"/>. <paramref name="compilationDirectory"/> (default: the current
    /// directory) is DW_AT_comp_dir, against which gdb resolves relative source file names.
    /// </summary>
    public static byte[] Write(AssemblyResult result, ulong? entry = null, string? compilationDirectory = null)
    {
        var sections = new List<OutputSection>();
        foreach (var s in result.Sections)
            sections.Add(new OutputSection(s.Name, s.NoBits ? ShtNobits : ShtProgbits, SectionHeaderFlags(s.Flags), s.Address,
                                           Math.Max(1, s.Alignment), s.NoBits ? [] : s.Bytes, s.NoBits ? s.Size : (ulong)s.Bytes.Length));
        int laidOut = sections.Count;

        var dwarf = new Dwarf(result, compilationDirectory ?? Directory.GetCurrentDirectory());
        sections.Add(Debug(".debug_info", dwarf.Info));
        sections.Add(Debug(".debug_abbrev", dwarf.Abbrev));
        sections.Add(Debug(".debug_line", dwarf.Line));
        sections.Add(Debug(".debug_aranges", dwarf.Aranges));
        sections.Add(Debug(".debug_ranges", dwarf.Ranges));

        // Section indices in the header table are one more than list positions: index 0 is the null section.
        var (symtab, strtab, firstGlobal) = SymbolTable(result, sections.Take(laidOut).ToList());
        sections.Add(new OutputSection(".symtab", ShtSymtab, 0, 0, 8, symtab, (ulong)symtab.Length,
                                       Link: (uint)sections.Count + 2, Info: firstGlobal, EntrySize: SymbolSize));
        sections.Add(new OutputSection(".strtab", ShtStrtab, 0, 0, 1, strtab, (ulong)strtab.Length));
        var names = new StringTable();
        foreach (var s in sections)
            names.Add(s.Name);
        names.Add(".shstrtab");
        byte[] shstrtab = names.Bytes();
        sections.Add(new OutputSection(".shstrtab", ShtStrtab, 0, 0, 1, shstrtab, (ulong)shstrtab.Length));

        var loads = sections.Take(laidOut).Where(s => s.Size != 0).ToList();
        ulong offset = ElfHeaderSize + (ulong)(loads.Count * ProgramHeaderSize);
        for (int i = 0; i < sections.Count; i++)
        {
            var s = sections[i];
            s.Offset = i < laidOut ? offset + ((s.Address - offset) & (PageSize - 1)) : AlignUp(offset, s.Alignment);
            offset = s.Offset + (ulong)s.Bytes.Length;
        }
        ulong sectionHeaders = AlignUp(offset, 8);

        var file = new MemoryStream();
        var w = new BinaryWriter(file);
        WriteElfHeader(w, Entry(result, entry), loads.Count, sectionHeaders, sections.Count + 1);
        foreach (var s in loads)
            WriteProgramHeader(w, s);
        foreach (var s in sections)
        {
            file.Position = (long)s.Offset;
            w.Write(s.Bytes);
        }
        file.SetLength((long)sectionHeaders);
        file.Position = (long)sectionHeaders;
        w.Write(new byte[SectionHeaderSize]);
        foreach (var s in sections)
            WriteSectionHeader(w, s, names.IndexOf(s.Name));
        return file.ToArray();
    }

    /// <summary>Where execution starts: <paramref name="entry"/>, else the symbol _start, else the first section's address.</summary>
    public static ulong Entry(AssemblyResult result, ulong? entry = null) =>
        entry ?? result.AddressOf("_start") ?? (result.Sections.Count == 0 ? 0 : result.Sections[0].Address);

    /// <summary>The ELF binding of a symbol; <see cref="ElfSymbolBinding"/>'s values are st_info's binding bits.</summary>
    internal static ElfSymbolBinding SymbolBinding(AsmSymbolBinding binding) => binding switch
    {
        AsmSymbolBinding.Global => ElfSymbolBinding.Global,
        AsmSymbolBinding.Weak => ElfSymbolBinding.Weak,
        _ => ElfSymbolBinding.Local,
    };

    /// <summary>The ELF type of a symbol; <see cref="ElfSymbolType"/>'s values are st_info's type bits.</summary>
    internal static ElfSymbolType SymbolType(AsmSymbolType type) => type switch
    {
        AsmSymbolType.Function => ElfSymbolType.Function,
        AsmSymbolType.Object => ElfSymbolType.Object,
        _ => ElfSymbolType.NoType,
    };

    static OutputSection Debug(string name, byte[] bytes) => new(name, ShtProgbits, 0, 0, 1, bytes, (ulong)bytes.Length);

    static ulong AlignUp(ulong value, ulong alignment) => (value + alignment - 1) / alignment * alignment;

    static ulong SectionHeaderFlags(SectionFlags flags) =>
        (flags.HasFlag(SectionFlags.Alloc) ? ShfAlloc : 0) | (flags.HasFlag(SectionFlags.Write) ? ShfWrite : 0)
        | (flags.HasFlag(SectionFlags.Execute) ? ShfExecinstr : 0);

    static void WriteElfHeader(BinaryWriter w, ulong entry, int programHeaders, ulong sectionHeaders, int sectionCount)
    {
        // e_ident: magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT, ELFOSABI_NONE, then padding to 16 bytes.
        w.Write([0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        w.Write(EtExec);
        w.Write(EmX86_64);
        w.Write(1u); // e_version: EV_CURRENT
        w.Write(entry);
        w.Write(programHeaders == 0 ? 0UL : ElfHeaderSize); // e_phoff
        w.Write(sectionHeaders); // e_shoff
        w.Write(0u); // e_flags: x86-64 defines none
        w.Write((ushort)ElfHeaderSize);
        w.Write((ushort)ProgramHeaderSize);
        w.Write((ushort)programHeaders);
        w.Write((ushort)SectionHeaderSize);
        w.Write((ushort)sectionCount);
        w.Write((ushort)(sectionCount - 1)); // e_shstrndx: .shstrtab comes last
    }

    static void WriteProgramHeader(BinaryWriter w, OutputSection s)
    {
        w.Write(PtLoad);
        w.Write(PfR | ((s.Flags & ShfWrite) != 0 ? PfW : 0) | ((s.Flags & ShfExecinstr) != 0 ? PfX : 0));
        w.Write(s.Offset);
        w.Write(s.Address); // p_vaddr
        w.Write(s.Address); // p_paddr: the layout is physical, as a multiboot kernel's is
        w.Write((ulong)s.Bytes.Length); // p_filesz: none for .bss, which the loader clears
        w.Write(s.Size); // p_memsz
        w.Write(PageSize);
    }

    static void WriteSectionHeader(BinaryWriter w, OutputSection s, uint name)
    {
        w.Write(name);
        w.Write(s.Type);
        w.Write(s.Flags);
        w.Write(s.Address);
        w.Write(s.Offset);
        w.Write(s.Size);
        w.Write(s.Link);
        w.Write(s.Info);
        w.Write(s.Alignment);
        w.Write(s.EntrySize);
    }

    /// <summary>
    /// .symtab and .strtab: the null symbol, a FILE symbol for the main source and a SECTION symbol per section
    /// (as ld writes them), the local symbols, then the global and weak ones, since the gABI wants every local
    /// before the first global, whose index is sh_info.
    /// </summary>
    static (byte[] Symtab, byte[] Strtab, uint FirstGlobal) SymbolTable(AssemblyResult result, List<OutputSection> sections)
    {
        var strings = new StringTable();
        var table = new BinaryWriter(new MemoryStream());
        void Symbol(string name, ulong value, ulong size, byte binding, byte type, ushort section)
        {
            table.Write(strings.Add(name));
            table.Write((byte)(binding << 4 | type));
            table.Write((byte)0); // st_other: STV_DEFAULT
            table.Write(section);
            table.Write(value);
            table.Write(size);
        }

        Symbol("", 0, 0, StbLocal, SttNoType, 0);
        if (result.Files.Count != 0)
            Symbol(Path.GetFileName(result.Files[0]), 0, 0, StbLocal, SttFile, ShnAbs);
        for (int i = 0; i < sections.Count; i++)
            Symbol("", sections[i].Address, 0, StbLocal, SttSection, (ushort)(i + 1));
        var ordered = result.Symbols.Where(s => s.Binding == AsmSymbolBinding.Local).Concat(result.Symbols.Where(s => s.Binding != AsmSymbolBinding.Local));
        uint firstGlobal = (uint)(table.BaseStream.Length / SymbolSize) + (uint)result.Symbols.Count(s => s.Binding == AsmSymbolBinding.Local);
        foreach (var s in ordered)
        {
            int index = s.Section is null ? -1 : sections.FindIndex(o => o.Name == s.Section);
            Symbol(s.Name, s.Value, s.Size, (byte)SymbolBinding(s.Binding),
                   (byte)SymbolType(s.Type),
                   index < 0 ? ShnAbs : (ushort)(index + 1));
        }
        return (((MemoryStream)table.BaseStream).ToArray(), strings.Bytes(), firstGlobal);
    }

    /// <summary>An ELF string table: NUL-terminated names after a leading NUL, each stored once.</summary>
    sealed class StringTable
    {
        readonly MemoryStream bytes = new();
        readonly Dictionary<string, uint> offsets = new() { [""] = 0 };

        public StringTable() => bytes.WriteByte(0);

        public uint Add(string name)
        {
            if (!offsets.TryGetValue(name, out uint offset))
            {
                offsets[name] = offset = (uint)bytes.Length;
                bytes.Write(Encoding.UTF8.GetBytes(name));
                bytes.WriteByte(0);
            }
            return offset;
        }

        public uint IndexOf(string name) => offsets[name];

        public byte[] Bytes() => bytes.ToArray();
    }

    /// <summary>
    /// The DWARF sections (DWARF 3, "6.2 Line Number Information" and "7.5 Format of Debugging Information"):
    /// a line program with one sequence per section that has line rows, ending at the section's end, and one
    /// compile unit naming the main file, whose DW_AT_ranges (listed in .debug_ranges and .debug_aranges) cover
    /// those sections, so gdb finds the unit, and with it the lines, for any address in them.
    /// </summary>
    sealed class Dwarf
    {
        const ushort Version = 3;
        const byte AddressSize = 8;
        const byte DwTagCompileUnit = 0x11, DwChildrenNo = 0;
        const byte DwAtName = 0x03, DwAtStmtList = 0x10, DwAtLowPc = 0x11, DwAtLanguage = 0x13, DwAtCompDir = 0x1B, DwAtProducer = 0x25, DwAtRanges = 0x55;
        const byte DwFormAddr = 0x01, DwFormData2 = 0x05, DwFormData4 = 0x06, DwFormString = 0x08;
        const ushort DwLangMipsAssembler = 0x8001;
        const byte DwLnsCopy = 1, DwLnsAdvancePc = 2, DwLnsAdvanceLine = 3, DwLnsSetFile = 4;
        const byte DwLneEndSequence = 1, DwLneSetAddress = 2;

        // GNU as's line program parameters: special opcodes cover line steps -5..8 with small address steps.
        const int LineBase = -5, LineRange = 14;
        const byte OpcodeBase = 13;
        static readonly byte[] StandardOpcodeLengths = [0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1];

        public byte[] Info { get; }
        public byte[] Abbrev { get; }
        public byte[] Line { get; }
        public byte[] Aranges { get; }
        public byte[] Ranges { get; }

        public Dwarf(AssemblyResult result, string compilationDirectory)
        {
            var files = result.Files.ToList();
            var sequences = result.Sections
                .Select(s => (Section: s, Rows: result.Lines.Where(l => l.Address >= s.Address && l.Address - s.Address < s.Size).ToList()))
                .Where(q => q.Rows.Count != 0).ToList();
            foreach (var row in sequences.SelectMany(q => q.Rows))
                if (!files.Contains(row.File))
                    files.Add(row.File);

            Line = LineProgram(files, sequences);
            Abbrev = Bytes(w =>
            {
                Uleb(w, 1);
                Uleb(w, DwTagCompileUnit);
                w.Write(DwChildrenNo);
                foreach (var (attribute, form) in new[] { (DwAtStmtList, DwFormData4), (DwAtLowPc, DwFormAddr), (DwAtRanges, DwFormData4), (DwAtName, DwFormString),
                                                          (DwAtCompDir, DwFormString), (DwAtProducer, DwFormString), (DwAtLanguage, DwFormData2) })
                {
                    Uleb(w, attribute);
                    Uleb(w, form);
                }
                w.Write((ushort)0);
                Uleb(w, 0);
            });
            Info = Unit(w =>
            {
                w.Write(Version);
                w.Write(0u); // debug_abbrev_offset
                w.Write(AddressSize);
                Uleb(w, 1);
                w.Write(0u); // DW_AT_stmt_list: the only line program
                w.Write(0UL); // DW_AT_low_pc: the base the range list's addresses are relative to
                w.Write(0u); // DW_AT_ranges
                CString(w, files.Count == 0 ? "<input>" : files[0]);
                CString(w, compilationDirectory);
                CString(w, "Repl assembler");
                w.Write(DwLangMipsAssembler);
            });
            Ranges = Bytes(w =>
            {
                foreach (var (s, _) in sequences)
                {
                    w.Write(s.Address);
                    w.Write(s.Address + s.Size);
                }
                w.Write(0UL);
                w.Write(0UL);
            });
            Aranges = Unit(w =>
            {
                w.Write((ushort)2); // the .debug_aranges version, 2 in DWARF 2 to 4
                w.Write(0u); // debug_info_offset
                w.Write(AddressSize);
                w.Write((byte)0); // segment_selector_size
                w.Write(0u); // pads the 12-byte header so the tuples align on twice the address size
                foreach (var (s, _) in sequences)
                {
                    w.Write(s.Address);
                    w.Write(s.Size);
                }
                w.Write(0UL);
                w.Write(0UL);
            });
        }

        static byte[] LineProgram(List<string> files, List<(AsmSection Section, List<LineEntry> Rows)> sequences) => Unit(w =>
        {
            w.Write(Version);
            var header = Bytes(h =>
            {
                h.Write((byte)1); // minimum_instruction_length
                h.Write((byte)1); // default_is_stmt
                h.Write(unchecked((byte)(sbyte)LineBase));
                h.Write((byte)LineRange);
                h.Write(OpcodeBase);
                h.Write(StandardOpcodeLengths);
                h.Write((byte)0); // no include_directories: names are as given, relative to DW_AT_comp_dir
                foreach (var f in files)
                {
                    CString(h, f);
                    Uleb(h, 0); // directory index 0: the compilation directory
                    Uleb(h, 0); // modification time: unknown
                    Uleb(h, 0); // length: unknown
                }
                h.Write((byte)0);
            });
            w.Write((uint)header.Length);
            w.Write(header);
            foreach (var (section, rows) in sequences)
            {
                ulong address = rows[0].Address;
                long line = 1;
                int file = 1;
                Extended(w, DwLneSetAddress, BitConverter.GetBytes(address));
                foreach (var row in rows)
                {
                    int f = files.IndexOf(row.File) + 1;
                    if (f != file)
                    {
                        w.Write(DwLnsSetFile);
                        Uleb(w, (ulong)f);
                        file = f;
                    }
                    AddRow(w, row.Address - address, row.Line - line);
                    (address, line) = (row.Address, row.Line);
                }
                w.Write(DwLnsAdvancePc);
                Uleb(w, section.Address + section.Size - address);
                Extended(w, DwLneEndSequence, []);
            }
        });

        /// <summary>Appends a row addressDelta bytes and lineDelta lines on: one special opcode when they fit in one.</summary>
        static void AddRow(BinaryWriter w, ulong addressDelta, long lineDelta)
        {
            if (lineDelta >= LineBase && lineDelta < LineBase + LineRange && addressDelta <= 255)
            {
                ulong opcode = (ulong)(lineDelta - LineBase) + LineRange * addressDelta + OpcodeBase;
                if (opcode <= 255)
                {
                    w.Write((byte)opcode);
                    return;
                }
            }
            if (lineDelta != 0)
            {
                w.Write(DwLnsAdvanceLine);
                Sleb(w, lineDelta);
            }
            if (addressDelta != 0)
            {
                w.Write(DwLnsAdvancePc);
                Uleb(w, addressDelta);
            }
            w.Write(DwLnsCopy);
        }

        static void Extended(BinaryWriter w, byte opcode, byte[] operands)
        {
            w.Write((byte)0);
            Uleb(w, (ulong)operands.Length + 1);
            w.Write(opcode);
            w.Write(operands);
        }

        static byte[] Bytes(Action<BinaryWriter> write)
        {
            var stream = new MemoryStream();
            write(new BinaryWriter(stream));
            return stream.ToArray();
        }

        /// <summary>A unit preceded by its 32-bit unit_length, which counts the bytes after it.</summary>
        static byte[] Unit(Action<BinaryWriter> write) => Bytes(w =>
        {
            byte[] body = Bytes(write);
            w.Write((uint)body.Length);
            w.Write(body);
        });

        static void CString(BinaryWriter w, string s)
        {
            w.Write(Encoding.UTF8.GetBytes(s));
            w.Write((byte)0);
        }

        static void Uleb(BinaryWriter w, ulong value)
        {
            do
            {
                byte b = (byte)(value & 0x7F);
                value >>= 7;
                w.Write(value == 0 ? b : (byte)(b | 0x80));
            } while (value != 0);
        }

        static void Sleb(BinaryWriter w, long value)
        {
            while (true)
            {
                byte b = (byte)(value & 0x7F);
                value >>= 7;
                // Done when the rest is all sign: zeroes under a clear sign bit, ones under a set one.
                if ((value == 0 && (b & 0x40) == 0) || (value == -1 && (b & 0x40) != 0))
                {
                    w.Write(b);
                    return;
                }
                w.Write((byte)(b | 0x80));
            }
        }
    }
}
