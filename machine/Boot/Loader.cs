using Repl.Machine.Asm;

namespace Repl.Machine;

/// <summary>What a loader placed: where execution starts, and the image's symbols (empty for a flat binary).</summary>
public sealed record LoadedImage(ulong Entry, IReadOnlyList<ElfSymbol> Symbols);

/// <summary>
/// Loads images into a machine's RAM: ELF executables by their program headers, flat binaries at an address,
/// and multiboot kernels (<see cref="Multiboot"/>) with the processor state their loader hands over. Each
/// refuses, with a one-line <see cref="LoaderException"/>, an image that would land outside RAM or on itself.
/// </summary>
public static class Loader
{
    /// <summary>File bytes [FileOffset, FileOffset+FileSize) go to Address; zeroes follow up to MemorySize.</summary>
    internal readonly record struct Segment(ulong Address, ulong FileOffset, ulong FileSize, ulong MemorySize);

    /// <summary>
    /// Places an ELF32 or ELF64 executable's PT_LOAD segments at their physical addresses (p_paddr) and
    /// returns its entry point, translated to a physical address when the segments link elsewhere (a higher-half
    /// kernel), and its symbols. The processor state is the caller's to set.
    /// </summary>
    public static LoadedImage LoadElf(Machine machine, ReadOnlySpan<byte> file)
    {
        var elf = new ElfImage(file);
        Place(machine, file, Segments(elf));
        return new LoadedImage(PhysicalEntry(elf), elf.Symbols);
    }

    internal static List<Segment> Segments(ElfImage elf) =>
        elf.Segments.Select(s => new Segment(s.PhysicalAddress, s.FileOffset, s.FileSize, s.MemorySize)).ToList();

    /// <summary>Places a flat binary at <paramref name="address"/>, which is also its entry point.</summary>
    public static LoadedImage LoadFlat(Machine machine, ReadOnlySpan<byte> file, ulong address)
    {
        Place(machine, file, [new Segment(address, 0, (ulong)file.Length, (ulong)file.Length)]);
        return new LoadedImage(address, []);
    }

    /// <summary>
    /// Places an assembler's sections at their addresses, as <see cref="LoadElf"/> would place the ELF that
    /// <see cref="ElfWriter"/> makes of them (NoBits sections cleared), without the round trip through a file.
    /// The entry point is <see cref="ElfWriter.Entry"/>'s.
    /// </summary>
    public static LoadedImage LoadAssembly(Machine machine, AssemblyResult result, ulong? entry = null)
    {
        var file = new List<byte>();
        var segments = new List<Segment>();
        foreach (var s in result.Sections.Where(s => s.Size != 0))
        {
            segments.Add(new Segment(s.Address, (ulong)file.Count, (ulong)s.Bytes.Length, s.NoBits ? s.Size : (ulong)s.Bytes.Length));
            file.AddRange(s.Bytes);
        }
        Place(machine, file.ToArray(), segments);
        var symbols = result.Symbols.Select(s => new ElfSymbol(s.Name, s.Value, s.Size, ElfWriter.SymbolType(s.Type), ElfWriter.SymbolBinding(s.Binding),
                                                                 Absolute: s.Section is null, result.SectionRange(s.Section))).ToList();
        return new LoadedImage(ElfWriter.Entry(result, entry), symbols);
    }

    internal static ulong PhysicalEntry(ElfImage elf)
    {
        foreach (var s in elf.Segments)
            if (elf.Entry - s.VirtualAddress < s.MemorySize)
                return elf.Entry - s.VirtualAddress + s.PhysicalAddress;
        return elf.Entry;
    }

    /// <summary>Checks that every segment lies in RAM and that none overlaps another, then copies them in.</summary>
    internal static void Place(Machine machine, ReadOnlySpan<byte> file, List<Segment> segments)
    {
        ulong ram = machine.Bus.Ram.Size;
        foreach (var s in segments)
            if (s.Address > ram || s.MemorySize > ram - s.Address)
                throw new LoaderException($"segment 0x{s.Address:x}-0x{s.Address + s.MemorySize:x} lies outside RAM (0-0x{ram:x}); give the machine more RAM or link the image lower");
        var sorted = segments.OrderBy(s => s.Address).ToList();
        for (int i = 1; i < sorted.Count; i++)
            if (sorted[i].Address < sorted[i - 1].Address + sorted[i - 1].MemorySize)
                throw new LoaderException($"segments at 0x{sorted[i - 1].Address:x} and 0x{sorted[i].Address:x} overlap; check the linker script");
        foreach (var s in segments)
        {
            if (s.FileSize != 0)
                machine.WritePhysical(s.Address, file.Slice((int)s.FileOffset, (int)s.FileSize));
            ZeroPhysical(machine, s.Address + s.FileSize, s.MemorySize - s.FileSize);
        }
    }

    /// <summary>Clears RAM (a segment's .bss) a page at a time.</summary>
    internal static void ZeroPhysical(Machine machine, ulong address, ulong length)
    {
        ReadOnlySpan<byte> zeroes = stackalloc byte[PhysicalMemory.PageSize];
        for (ulong done = 0; done < length;)
        {
            int chunk = (int)Math.Min(length - done, (ulong)PhysicalMemory.PageSize);
            machine.WritePhysical(address + done, zeroes[..chunk]);
            done += (ulong)chunk;
        }
    }
}
