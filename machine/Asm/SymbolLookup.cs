namespace Repl.Machine.Asm;

/// <summary>An address as a symbol and an offset from it: "entry_SYSCALL_64+4", or just the name at offset 0.</summary>
public readonly record struct SymbolicAddress(string Name, ulong SymbolAddress, ulong Offset)
{
    /// <summary>The offset is decimal, as gdb writes it inside &lt;...&gt;.</summary>
    public override string ToString() => Offset == 0 ? Name : $"{Name}+{Offset}";
}

/// <summary>What a disassembly listing asks of a symbol table: the name of an address and, when known, its source line.</summary>
public interface ISymbolLookup
{
    /// <summary>The symbol an address belongs to, or null when no symbol precedes it.</summary>
    SymbolicAddress? Find(ulong address);

    /// <summary>The source line the bytes at an address came from, or null when there is no line table for it.</summary>
    LineEntry? LineAt(ulong address);
}

/// <summary>
/// A symbol table sorted by address, built from an assembly result (with its line table) or from an ELF image's
/// symbols, that names an address as gdb does (its minimal-symbol lookup, behind `info symbol`, `x/a` and `<sym+off>`):
/// only symbols of the section the address lies in count, so nothing past the last section is "__bss_end+N"; and
/// walking down from the address, the first sized symbol decides: it names the address if the address lies inside it
/// (so a label inside a sized function gives way to the function: entry_SYSCALL_64+48), and otherwise the nearest
/// label (a symbol without size) passed on the way does, or nothing (the padding after a function is nobody's; gdb
/// assumes sized symbols do not nest). Symbols at one address are walked in gdb's order, by name, the last name in
/// ordinal order first. The entry kernel's every symbol and section edge is checked against gdb in the tests.
/// </summary>
public sealed class SymbolLookup : ISymbolLookup
{
    /// <summary>A symbol; <see cref="SectionStart"/> and <see cref="SectionEnd"/> bound the addresses it can name (0 and
    /// <see cref="ulong.MaxValue"/> when its section is not known).</summary>
    readonly record struct Entry(string Name, ulong Address, ulong Size, ulong SectionStart, ulong SectionEnd)
    {
        public bool Contains(ulong address) => address - Address < Size;

        public bool InSection(ulong address) => address >= SectionStart && address < SectionEnd;
    }

    readonly Entry[] _entries;
    readonly IReadOnlyList<LineEntry> _lines;
    readonly IReadOnlyList<(ulong Start, ulong End)> _sections;

    SymbolLookup(IEnumerable<Entry> entries, IReadOnlyList<LineEntry> lines, IReadOnlyList<(ulong Start, ulong End)> sections)
    {
        _entries = entries.OrderBy(e => e.Address).ThenBy(e => e.Name, StringComparer.Ordinal).ToArray();
        _lines = lines;
        _sections = sections;
    }

    /// <summary>
    /// The symbols of an assembly, with its line table. Absolute symbols (.equ, .set) are constants, not
    /// places, so they never name an address.
    /// </summary>
    public static SymbolLookup From(AssemblyResult result) =>
        new(result.Symbols.Where(s => s.Section is not null).Select(s => Create(s.Name, s.Value, s.Size, result.SectionRange(s.Section))),
            result.Lines,
            result.Sections.OrderBy(s => s.Address).Select(s => (s.Address, s.Address + s.Size)).ToList());

    /// <summary>An ELF image's function, object and untyped symbols (absolute ones, constants, never name an address);
    /// an ELF carries no line table we read.</summary>
    public static SymbolLookup From(IEnumerable<ElfSymbol> symbols) =>
        new(symbols.Where(s => !s.Absolute && s.Type is ElfSymbolType.Function or ElfSymbolType.Object or ElfSymbolType.NoType)
                   .Select(s => Create(s.Name, s.Address, s.Size, s.Section)),
            [], []);

    static Entry Create(string name, ulong address, ulong size, (ulong Start, ulong End)? section) =>
        new(name, address, size, section?.Start ?? 0, section?.End ?? ulong.MaxValue);

    public SymbolicAddress? Find(ulong address)
    {
        Entry? label = null; // the nearest symbol without a size passed so far
        for (int i = UpperBound(address) - 1; i >= 0; i--)
        {
            var e = _entries[i];
            if (!e.InSection(address))
                continue; // another section's symbol: gdb passes over it
            if (e.Size == 0)
                label ??= e;
            else
                return e.Contains(address) ? At(e, address) : label is { } l ? At(l, address) : null;
        }
        return label is { } nearest ? At(nearest, address) : null;
    }

    public LineEntry? LineAt(ulong address)
    {
        int section = IndexOfLast(_sections.Count, i => _sections[i].Start <= address);
        if (section < 0 || address >= _sections[section].End)
            return null;
        int line = IndexOfLast(_lines.Count, i => _lines[i].Address <= address);
        // A row from an earlier section does not reach across into this one.
        return line >= 0 && _lines[line].Address >= _sections[section].Start ? _lines[line] : null;
    }

    static SymbolicAddress At(Entry e, ulong address) => new(e.Name, e.Address, address - e.Address);

    /// <summary>How many entries have an address at or below <paramref name="address"/>.</summary>
    int UpperBound(ulong address) => IndexOfLast(_entries.Length, i => _entries[i].Address <= address) + 1;

    /// <summary>The last index below <paramref name="count"/> for which a predicate that holds on a prefix holds; -1 if none.</summary>
    static int IndexOfLast(int count, Func<int, bool> holds)
    {
        int low = 0, high = count; // holds on [0, low), fails on [high, count)
        while (low < high)
        {
            int middle = low + (high - low) / 2;
            if (holds(middle))
                low = middle + 1;
            else
                high = middle;
        }
        return low - 1;
    }
}
