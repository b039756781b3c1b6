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
/// symbols. An address belongs to the nearest symbol at or below it, passing over sized symbols that end before it
/// (a sized function does not own the padding or the unsized labels after it). Among symbols at the same address a
/// sized one wins over a bare label, then a function over an object over a label, then global over weak over local,
/// then the first name in ordinal order, so the answer never depends on input order.
/// </summary>
public sealed class SymbolLookup : ISymbolLookup
{
    readonly record struct Entry(string Name, ulong Address, ulong Size, int TypeRank, int BindingRank)
    {
        public bool Contains(ulong address) => Size == 0 || address - Address < Size;
    }

    readonly Entry[] _entries;
    readonly IReadOnlyList<LineEntry> _lines;
    readonly IReadOnlyList<(ulong Start, ulong End)> _sections;

    SymbolLookup(IEnumerable<Entry> entries, IReadOnlyList<LineEntry> lines, IReadOnlyList<(ulong Start, ulong End)> sections)
    {
        _entries = entries.OrderBy(e => e.Address).ToArray();
        _lines = lines;
        _sections = sections;
    }

    /// <summary>
    /// The symbols of an assembly, with its line table. Absolute symbols (.equ, .set) are constants, not
    /// places, so they never name an address.
    /// </summary>
    public static SymbolLookup From(AssemblyResult result) =>
        new(result.Symbols.Where(s => s.Section is not null)
                          .Select(s => new Entry(s.Name, s.Value, s.Size, Rank(s.Type), Rank(s.Binding))),
            result.Lines,
            result.Sections.OrderBy(s => s.Address).Select(s => (s.Address, s.Address + s.Size)).ToList());

    /// <summary>An ELF image's function, object and untyped symbols, ranked as an assembly's (absolute ones, constants,
    /// never name an address); an ELF carries no line table we read.</summary>
    public static SymbolLookup From(IEnumerable<ElfSymbol> symbols) =>
        new(symbols.Where(s => !s.Absolute && s.Type is ElfSymbolType.Function or ElfSymbolType.Object or ElfSymbolType.NoType)
                   .Select(s => new Entry(s.Name, s.Address, s.Size, Rank(s.Type), Rank(s.Binding))),
            [], []);

    public SymbolicAddress? Find(ulong address)
    {
        Entry? fallback = null;
        // Walk down from the last symbol at or below the address, one group of equal addresses at a time.
        for (int end = UpperBound(address); end > 0;)
        {
            int start = end - 1;
            while (start > 0 && _entries[start - 1].Address == _entries[end - 1].Address)
                start--;
            var group = new ArraySegment<Entry>(_entries, start, end - start);
            var owners = group.Where(e => e.Contains(address)).ToList();
            if (owners.Count != 0)
                return At(Best(owners), address);
            fallback ??= Best(group);
            end = start;
        }
        // Only sized symbols that all end below: objdump still names the address after the nearest of them.
        return fallback is { } f ? At(f, address) : null;
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

    static Entry Best(IEnumerable<Entry> candidates) =>
        candidates.OrderByDescending(e => e.Size != 0)
                  .ThenByDescending(e => e.TypeRank)
                  .ThenByDescending(e => e.BindingRank)
                  .ThenBy(e => e.Name, StringComparer.Ordinal)
                  .First();

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

    static int Rank(AsmSymbolType type) => type switch { AsmSymbolType.Function => 2, AsmSymbolType.Object => 1, _ => 0 };

    static int Rank(ElfSymbolType type) => type switch { ElfSymbolType.Function => 2, ElfSymbolType.Object => 1, _ => 0 };

    static int Rank(AsmSymbolBinding binding) => binding switch { AsmSymbolBinding.Global => 2, AsmSymbolBinding.Weak => 1, _ => 0 };

    static int Rank(ElfSymbolBinding binding) => binding switch { ElfSymbolBinding.Global => 2, ElfSymbolBinding.Weak => 1, _ => 0 };
}
