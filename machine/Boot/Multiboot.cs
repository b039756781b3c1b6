using System.Buffers.Binary;
using System.Text;

namespace Repl.Machine;

/// <summary>
/// The Multiboot 0.6.96 boot protocol, as QEMU's <c>-kernel</c> implements it: find the header in the first
/// 8 KiB, load the kernel by the header's address fields (the "a.out kludge", flags bit 16, honoured on any
/// file, ELF64 included) or else by an ELF32 file's program headers, build the multiboot information block
/// with QEMU's memory map, and hand over in 32-bit protected mode with EAX = 0x2BADB002 and EBX pointing at
/// the block (spec section 3.2, "Machine state").
/// </summary>
public static class Multiboot
{
    public const uint HeaderMagic = 0x1BADB002;
    public const uint BootloaderMagic = 0x2BADB002;
    /// <summary>The header must lie, 4-byte aligned, within this many bytes of the file's start (spec 3.1.1).</summary>
    public const int SearchLength = 8192;

    // Header flags (spec 3.1.2). Bits 0-15 are requirements a loader must understand or refuse. Page alignment
    // concerns modules (there are none); a video mode request is ignored, as QEMU ignores it, for lack of a display.
    const uint FlagPageAlign = 1 << 0, FlagMemoryInfo = 1 << 1, FlagVideoMode = 1 << 2, FlagAoutKludge = 1 << 16;
    const uint RequirementBits = 0xFFFF, Understood = FlagPageAlign | FlagMemoryInfo | FlagVideoMode;

    // Where QEMU's multiboot option ROM leaves the memory map and the information block, and where we put the
    // strings that follow it (QEMU puts them after the kernel; low memory keeps them clear of its .bss).
    public const ulong MemoryMapAddress = 0x9000, InfoAddress = 0x9500;
    const ulong StringsAddress = 0x9600, HandOverEnd = 0xA000;

    // Information-block flags (spec 3.3) and field offsets.
    const uint InfoMemory = 1 << 0, InfoBootDevice = 1 << 1, InfoCmdline = 1 << 2, InfoMods = 1 << 3,
               InfoMmap = 1 << 6, InfoBootLoaderName = 1 << 9;
    const int InfoFlags = 0, InfoMemLower = 4, InfoMemUpper = 8, InfoBootDeviceField = 12, InfoCmdlineField = 16,
              InfoMmapLength = 44, InfoMmapAddr = 48, InfoBootLoaderNameField = 64, InfoSize = 88;
    /// <summary>"No partition" on BIOS drive 0x80, what QEMU reports.</summary>
    const uint BootDevice = 0x8000FFFF;
    const string BootLoaderName = "repl";

    public const uint MemoryAvailable = 1, MemoryReserved = 2;

    /// <summary>One memory-map entry as the information block lists it.</summary>
    public readonly record struct MemoryRegion(ulong Base, ulong Length, uint Type);

    /// <summary>
    /// Loads a multiboot kernel and sets the machine's state to the hand-over. <paramref name="commandLine"/>
    /// is what the kernel finds at the information block's cmdline (QEMU passes the kernel's file name).
    /// </summary>
    public static LoadedImage Load(Machine machine, ReadOnlySpan<byte> file, string commandLine = "")
    {
        int header = FindHeader(file);
        uint flags = Field(file, header, 4);
        if ((flags & RequirementBits & ~Understood) != 0)
            throw new LoaderException($"multiboot header at offset 0x{header:x} requires features this loader lacks (flags 0x{flags:x8}, unknown bits 0x{flags & RequirementBits & ~Understood:x})");

        List<Loader.Segment> segments;
        ulong entry;
        IReadOnlyList<ElfSymbol> symbols = [];
        if ((flags & FlagAoutKludge) != 0)
        {
            (segments, entry) = KludgeSegments(file, header);
            if (ElfImage.HasElfMagic(file))
                symbols = SymbolsIfReadable(file);
        }
        else
        {
            if (!ElfImage.HasElfMagic(file))
                throw new LoaderException($"multiboot header at offset 0x{header:x} has no address fields (flags bit 16) and the file is not ELF; set MULTIBOOT_AOUT_KLUDGE or link an ELF32 kernel");
            var elf = new ElfImage(file);
            if (elf.Is64)
                throw new LoaderException("a 64-bit ELF multiboot kernel needs the header's address fields (flags bit 16), as QEMU requires; or link it as ELF32");
            segments = Loader.Segments(elf);
            entry = Loader.PhysicalEntry(elf);
            symbols = elf.Symbols;
        }
        if (entry > uint.MaxValue)
            throw new LoaderException($"multiboot entry point 0x{entry:x} is beyond 4 GiB, where 32-bit code cannot reach");
        foreach (var s in segments)
            if (s.Address < HandOverEnd && s.Address + s.MemorySize > MemoryMapAddress)
                throw new LoaderException($"segment 0x{s.Address:x}-0x{s.Address + s.MemorySize:x} overlaps the multiboot information at 0x{MemoryMapAddress:x}-0x{HandOverEnd:x}; link the kernel at 1 MiB");

        var map = QemuMemoryMap(machine.Bus.Ram.Size, machine.Cpu.Vendor);
        Loader.Place(machine, file, segments);
        WriteInformation(machine, map, commandLine);

        var state = CpuState.Flat32();
        state.Gpr[(int)Gpr.Rax] = BootloaderMagic;
        state.Gpr[(int)Gpr.Rbx] = InfoAddress;
        state.Rip = entry;
        machine.Cpu.State = state;
        return new LoadedImage(entry, symbols);
    }

    /// <summary>Offset of the first 4-byte-aligned header in the first 8 KiB whose magic, flags and checksum sum to 0.</summary>
    static int FindHeader(ReadOnlySpan<byte> file)
    {
        int? badChecksum = null;
        for (int offset = 0; offset + 12 <= Math.Min(file.Length, SearchLength); offset += 4)
        {
            if (Field(file, offset, 0) != HeaderMagic)
                continue;
            if (unchecked(HeaderMagic + Field(file, offset, 4) + Field(file, offset, 8)) == 0)
                return offset;
            badChecksum ??= offset;
        }
        throw new LoaderException(badChecksum is { } at
            ? $"multiboot header at offset 0x{at:x} has a bad checksum (magic + flags + checksum must be 0 mod 2^32)"
            : $"no multiboot header (magic 0x{HeaderMagic:x8}) in the first {SearchLength} bytes; is this a multiboot kernel?");
    }

    static uint Field(ReadOnlySpan<byte> file, int header, int offset) =>
        BinaryPrimitives.ReadUInt32LittleEndian(file[(header + offset)..]);

    /// <summary>
    /// The load described by the header's address fields (spec 3.1.3): the file from header_offset −
    /// (header_addr − load_addr) is loaded at load_addr, up to load_end_addr (0: the end of the file), then
    /// zeroed up to bss_end_addr (0: no .bss); execution starts at entry_addr.
    /// </summary>
    static (List<Loader.Segment>, ulong Entry) KludgeSegments(ReadOnlySpan<byte> file, int header)
    {
        if (header + 32 > file.Length)
            throw new LoaderException($"multiboot header at offset 0x{header:x} is truncated: its address fields end past the file");
        uint headerAddr = Field(file, header, 12), loadAddr = Field(file, header, 16), loadEndAddr = Field(file, header, 20),
             bssEndAddr = Field(file, header, 24), entryAddr = Field(file, header, 28);
        if (loadAddr > headerAddr || headerAddr - loadAddr > (uint)header)
            throw new LoaderException($"multiboot load_addr 0x{loadAddr:x} does not fit header_addr 0x{headerAddr:x} at file offset 0x{header:x}");
        ulong fileOffset = (ulong)header - (headerAddr - loadAddr);
        ulong fileSize = loadEndAddr == 0 ? (ulong)file.Length - fileOffset : (ulong)loadEndAddr - loadAddr;
        if (loadEndAddr != 0 && loadEndAddr < loadAddr)
            throw new LoaderException($"multiboot load_end_addr 0x{loadEndAddr:x} is below load_addr 0x{loadAddr:x}");
        if (fileOffset + fileSize > (ulong)file.Length)
            throw new LoaderException($"file is truncated: the multiboot header loads 0x{fileSize:x} bytes from offset 0x{fileOffset:x}, but the file has 0x{file.Length:x}");
        ulong memorySize = fileSize;
        if (bssEndAddr != 0)
        {
            if (bssEndAddr < loadAddr + fileSize)
                throw new LoaderException($"multiboot bss_end_addr 0x{bssEndAddr:x} is below the end of the loaded image 0x{loadAddr + fileSize:x}");
            memorySize = bssEndAddr - (ulong)loadAddr;
        }
        return ([new Loader.Segment(loadAddr, fileOffset, fileSize, memorySize)], entryAddr);
    }

    /// <summary>With the address fields, the ELF structure plays no part in loading; its symbols are a bonus.</summary>
    static IReadOnlyList<ElfSymbol> SymbolsIfReadable(ReadOnlySpan<byte> file)
    {
        try
        {
            return new ElfImage(file).Symbols;
        }
        catch (LoaderException)
        {
            return [];
        }
    }

    /// <summary>
    /// The memory map QEMU's pc machine reports for <paramref name="ramSize"/> bytes of RAM, through its BIOS's
    /// E820 table: conventional memory up to the EBDA (639 KiB), the EBDA and the BIOS area reserved, RAM
    /// from 1 MiB less the 128 KiB the BIOS keeps at its top, and the BIOS ROM below 4 GiB. With the AMD
    /// vendor QEMU also reserves the HyperTransport range at 0xFD_0000_0000-0xFF_FFFF_FFFF (1012-1024 GiB),
    /// which AMD processors claim for their own use.
    /// </summary>
    public static IReadOnlyList<MemoryRegion> QemuMemoryMap(ulong ramSize, CpuVendor vendor)
    {
        const ulong Ebda = 0x9FC00, EbdaEnd = 0xA0000, BiosArea = 0xF0000, HighMemory = 0x10_0000;
        const ulong BiosReservedTop = 0x20000, BiosRom = 0xFFFC_0000, PciHole = 0xE000_0000;
        if (ramSize >= PciHole)
            throw new LoaderException($"{ramSize >> 20} MiB of RAM would cross QEMU's PCI hole at 3.5 GiB, which this machine does not model; use less than 3584 MiB");
        if (ramSize < 2 * HighMemory)
            throw new LoaderException($"{ramSize >> 10} KiB of RAM is too little for a multiboot kernel; use at least 2 MiB");
        List<MemoryRegion> map =
        [
            new(0, Ebda, MemoryAvailable),
            new(Ebda, EbdaEnd - Ebda, MemoryReserved),
            new(BiosArea, HighMemory - BiosArea, MemoryReserved),
            new(HighMemory, ramSize - BiosReservedTop - HighMemory, MemoryAvailable),
            new(ramSize - BiosReservedTop, BiosReservedTop, MemoryReserved),
            new(BiosRom, (1UL << 32) - BiosRom, MemoryReserved),
        ];
        if (vendor == CpuVendor.Amd)
            map.Add(new(0xFD_0000_0000, 0x3_0000_0000, MemoryReserved));
        return map;
    }

    /// <summary>Writes the memory map at 0x9000 and the information block at 0x9500, as QEMU does.</summary>
    static void WriteInformation(Machine machine, IReadOnlyList<MemoryRegion> map, string commandLine)
    {
        // Each entry: size (20, not counting itself), base_addr, length, type (spec 3.3, "mmap_*").
        const int EntrySize = 24;
        var mmap = new byte[map.Count * EntrySize];
        for (int i = 0; i < map.Count; i++)
        {
            var e = mmap.AsSpan(i * EntrySize);
            BinaryPrimitives.WriteUInt32LittleEndian(e, EntrySize - 4);
            BinaryPrimitives.WriteUInt64LittleEndian(e[4..], map[i].Base);
            BinaryPrimitives.WriteUInt64LittleEndian(e[12..], map[i].Length);
            BinaryPrimitives.WriteUInt32LittleEndian(e[20..], map[i].Type);
        }
        machine.WritePhysical(MemoryMapAddress, mmap);

        byte[] cmdline = [.. Encoding.UTF8.GetBytes(commandLine), 0];
        byte[] name = [.. Encoding.ASCII.GetBytes(BootLoaderName), 0];
        ulong nameAddress = StringsAddress + (ulong)cmdline.Length;
        if (nameAddress + (ulong)name.Length > HandOverEnd)
            throw new LoaderException($"kernel command line of {commandLine.Length} characters is too long (at most {HandOverEnd - StringsAddress - (ulong)name.Length - 1})");
        machine.WritePhysical(StringsAddress, cmdline);
        machine.WritePhysical(nameAddress, name);

        // mem_lower and mem_upper: KiB of RAM from 0 and from 1 MiB, which QEMU's option ROM takes from the map.
        var info = new byte[InfoSize];
        var span = info.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span[InfoFlags..], InfoMemory | InfoBootDevice | InfoCmdline | InfoMods | InfoMmap | InfoBootLoaderName);
        BinaryPrimitives.WriteUInt32LittleEndian(span[InfoMemLower..], (uint)(map[0].Length >> 10));
        BinaryPrimitives.WriteUInt32LittleEndian(span[InfoMemUpper..], (uint)(map[3].Length >> 10));
        BinaryPrimitives.WriteUInt32LittleEndian(span[InfoBootDeviceField..], BootDevice);
        BinaryPrimitives.WriteUInt32LittleEndian(span[InfoCmdlineField..], (uint)StringsAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(span[InfoMmapLength..], (uint)mmap.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(span[InfoMmapAddr..], (uint)MemoryMapAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(span[InfoBootLoaderNameField..], (uint)nameAddress);
        machine.WritePhysical(InfoAddress, info);
    }
}
