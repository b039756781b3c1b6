namespace Repl.Shell.Scripting;

/// <summary><c>Sym["entry_SYSCALL_64"]</c> in scripts: the address of a symbol of the loaded image, or of a program
/// the script assembled with <c>Assemble</c>.</summary>
public sealed class SymbolView
{
    readonly Dictionary<string, ulong> _symbols = new(StringComparer.Ordinal);

    public ulong this[string name] => _symbols.TryGetValue(name, out ulong address)
        ? address
        : throw new KeyNotFoundException($"no symbol '{name}'{Suggestion(name)}");

    public bool Contains(string name) => _symbols.ContainsKey(name);

    public IEnumerable<string> Names => _symbols.Keys.Order(StringComparer.Ordinal);

    internal void Add(string name, ulong address) => _symbols[name] = address;

    string Suggestion(string name)
    {
        var near = _symbols.Keys.Where(k => k.Contains(name, StringComparison.OrdinalIgnoreCase)).Order().Take(3).ToList();
        return near.Count != 0 ? $" (did you mean {string.Join(", ", near)}?)"
            : _symbols.Count == 0 ? " (no image with symbols is loaded)" : " (Sym.Names lists them)";
    }
}
