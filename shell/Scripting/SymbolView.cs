namespace Repl.Shell.Scripting;

/// <summary><c>Sym["entry_SYSCALL_64"]</c> in scripts: the address of a symbol of the loaded program, or of code the
/// script assembled with <c>Assemble</c> (whose names win).</summary>
public sealed class SymbolView(Func<IReadOnlyDictionary<string, ulong>> program)
{
    public ulong this[string name] => TryGet(name) ?? throw new KeyNotFoundException($"no symbol '{name}'{Suggestion(name)}");

    public bool Contains(string name) => TryGet(name) is not null;

    public IEnumerable<string> Names => program().Keys.Order(StringComparer.Ordinal);

    ulong? TryGet(string name) => program().TryGetValue(name, out ulong address) ? address : null;

    string Suggestion(string name)
    {
        var near = Names.Where(k => k.Contains(name, StringComparison.OrdinalIgnoreCase)).Take(3).ToList();
        return near.Count != 0 ? $" (did you mean {string.Join(", ", near)}?)" : " (Sym.Names lists them)";
    }
}
