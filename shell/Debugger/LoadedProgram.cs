using Repl.Machine.Asm;

namespace Repl.Shell.Debugging;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>
/// What the debugger knows of the code in the machine: its symbols by name and by address, its line table and the
/// text of its source files (for <c>list</c>). An ELF or multiboot image brings symbols only; our assembler's result
/// brings lines and sources too.
/// </summary>
public sealed class LoadedProgram
{
    LoadedProgram(string name, ISymbolLookup lookup, IReadOnlyDictionary<string, ulong> addresses, IReadOnlyList<LineEntry> lines,
                  IReadOnlyDictionary<string, string[]> sources)
    {
        Name = name;
        Lookup = lookup;
        Addresses = addresses;
        Lines = lines;
        Sources = sources;
    }

    /// <summary>The image's file name, or a description of the built-in program.</summary>
    public string Name { get; }

    /// <summary>Symbols by address, and source lines by address where a line table exists.</summary>
    public ISymbolLookup Lookup { get; }

    /// <summary>Every symbol's address by name, for locations such as <c>entry_SYSCALL_64+12</c>.</summary>
    public IReadOnlyDictionary<string, ulong> Addresses { get; }

    public IReadOnlyList<LineEntry> Lines { get; }

    /// <summary>Source files' lines by the file name the line table uses.</summary>
    public IReadOnlyDictionary<string, string[]> Sources { get; }

    public static LoadedProgram FromAssembly(string name, AssemblyResult result, IReadOnlyDictionary<string, string[]> sources) =>
        new(name, SymbolLookup.From(result), AddressesOf(result.Symbols.Select(s => (s.Name, s.Value))), result.Lines, sources);

    /// <summary>An ELF or multiboot image's symbols, with the lines of its <c>.debug_line</c> when it has one; source
    /// files are read where the table's names lead (as given, or beside the image).</summary>
    public static LoadedProgram FromImage(string name, LoadedImage image, ReadOnlySpan<byte> file)
    {
        var sequences = DwarfLines.Read(file);
        var sources = new Dictionary<string, string[]>();
        foreach (string source in sequences.SelectMany(q => q.Rows).Select(l => l.File).Distinct())
            if (new[] { source, Path.Combine(Path.GetDirectoryName(name) ?? "", source) }.FirstOrDefault(File.Exists) is { } path)
                sources[source] = File.ReadAllLines(path);
        return FromImage(name, image, sequences, sources);
    }

    /// <summary>As <see cref="FromImage(string, LoadedImage, ReadOnlySpan{byte})"/>, with the sources given (the entry
    /// kernel's are embedded in Repl.Machine, not on disk).</summary>
    public static LoadedProgram FromImage(string name, LoadedImage image, ReadOnlySpan<byte> file, IReadOnlyDictionary<string, string[]> sources) =>
        FromImage(name, image, DwarfLines.Read(file), sources);

    static LoadedProgram FromImage(string name, LoadedImage image, IReadOnlyList<DwarfLines.Sequence> sequences, IReadOnlyDictionary<string, string[]> sources) =>
        new(name, new ImageLookup(SymbolLookup.From(image.Symbols), sequences), AddressesOf(image.Symbols.Select(s => (s.Name, s.Address))),
            sequences.SelectMany(q => q.Rows).ToList(), sources);

    /// <summary>An image's symbols with the line table of its DWARF sequences: a row covers addresses up to the next
    /// row of its sequence, and the last row up to the sequence's end.</summary>
    sealed class ImageLookup(SymbolLookup symbols, IReadOnlyList<DwarfLines.Sequence> sequences) : ISymbolLookup
    {
        public SymbolicAddress? Find(ulong address) => symbols.Find(address);

        public LineEntry? LineAt(ulong address)
        {
            foreach (var sequence in sequences)
            {
                if (sequence.Rows.Count == 0 || address < sequence.Rows[0].Address || address >= sequence.End)
                    continue;
                return sequence.Rows.Last(r => r.Address <= address);
            }
            return null;
        }
    }

    /// <summary>This program with the symbols of code assembled into the machine since it loaded (<c>asm</c>, the
    /// scripts' <c>Assemble</c>): their names win over the program's, and an address goes to whichever symbol is
    /// nearest below it, the assembled one on a tie, since its bytes were written last. Lines stay the program's.</summary>
    public LoadedProgram WithAssembled(AssemblyResult assembled)
    {
        var addresses = new Dictionary<string, ulong>(Addresses, StringComparer.Ordinal);
        foreach (var symbol in assembled.Symbols)
            addresses[symbol.Name] = symbol.Value;
        return new(Name, new AssembledLookup(SymbolLookup.From(assembled), Lookup), addresses, Lines, Sources);
    }

    sealed class AssembledLookup(SymbolLookup assembled, ISymbolLookup program) : ISymbolLookup
    {
        public SymbolicAddress? Find(ulong address) =>
            (assembled.Find(address), program.Find(address)) switch
            {
                ({ } mine, { } theirs) => theirs.SymbolAddress > mine.SymbolAddress ? theirs : mine,
                var (mine, theirs) => mine ?? theirs,
            };

        public LineEntry? LineAt(ulong address) => program.LineAt(address);
    }

    static Dictionary<string, ulong> AddressesOf(IEnumerable<(string Name, ulong Address)> symbols)
    {
        var byName = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (var (symbolName, address) in symbols)
            byName.TryAdd(symbolName, address);
        return byName;
    }

    /// <summary>"0x100004 &lt;main+4&gt;", or just the address when no symbol precedes it.</summary>
    public string Describe(ulong address) =>
        Lookup.Find(address) is { } s ? $"0x{address:x} <{s}>" : $"0x{address:x}";

    /// <summary>The lowest address whose bytes came from <paramref name="line"/> of a file whose name ends with <paramref name="file"/>.</summary>
    public ulong? AddressOfLine(string file, int line)
    {
        var rows = Lines.Where(l => l.Line == line && SameFile(l.File, file)).ToList();
        return rows.Count == 0 ? null : rows.Min(l => l.Address);
    }

    static bool SameFile(string tableName, string typed) =>
        tableName == typed || tableName.EndsWith("/" + typed, StringComparison.Ordinal) || Path.GetFileName(tableName) == typed;

    /// <summary>The text of a source line, when the file is known.</summary>
    public string? SourceLine(LineEntry entry) =>
        Sources.TryGetValue(entry.File, out var text) && entry.Line >= 1 && entry.Line <= text.Length ? text[entry.Line - 1] : null;
}
