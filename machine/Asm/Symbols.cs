namespace Repl.Machine.Asm;

/// <summary>
/// A symbol of the source. A label's value is an offset into the fragment it was defined in (absolute for
/// .equ/.set/= of an absolute expression); an equate whose expression is not known where it is written keeps
/// the expression and is worked out each time it is asked for, as GNU as resolves equated symbols late.
/// </summary>
internal sealed class Symbol(string name)
{
    public string Name { get; } = name;

    /// <summary>Base is a <see cref="Fragment"/> or null (absolute); null while undefined or a pending equate.</summary>
    public Value? Value { get; set; }

    /// <summary>An equate's expression not yet known where it was written, with '.' as it was there.</summary>
    public (Expr Expr, Fragment Fragment, int Offset)? Formula { get; set; }

    /// <summary>Defined by a label or .equiv: defining it again is an error (.set and = may redefine).</summary>
    public bool Fixed { get; set; }

    public AsmSymbolBinding Binding { get; set; }
    public AsmSymbolType Type { get; set; }

    /// <summary>.size's expression, with '.' as it was there.</summary>
    public (Expr Expr, Fragment Fragment, int Offset, Statement Statement)? Size { get; set; }

    public bool Defined => Value is not null || Formula is not null;

    /// <summary>.L names and numeric local labels stay out of the symbol table, as GNU as leaves them out of .symtab.</summary>
    public bool Listed => !Name.StartsWith(".L", StringComparison.Ordinal) && !SymbolTable.IsNumericLocal(Name);
}

/// <summary>
/// Every symbol by name, in order of first mention, and the instances of numeric local labels: "1:" defines a
/// new instance of label 1 each time; "1b" names the latest instance, "1f" the next one.
/// </summary>
internal sealed class SymbolTable
{
    readonly Dictionary<string, Symbol> byName = new(StringComparer.Ordinal);
    readonly List<Symbol> inOrder = [];
    readonly Dictionary<int, int> instances = [];

    /// <summary>
    /// The separator of a numeric local label's generated name ("1\u0002" + instance): a character no source can
    /// write, so the names never meet a user's.
    /// </summary>
    const char InstanceSeparator = '\u0002';

    public IReadOnlyList<Symbol> All => inOrder;

    public Symbol? Find(string name) => byName.GetValueOrDefault(name);

    public Symbol Get(string name)
    {
        if (!byName.TryGetValue(name, out var symbol))
        {
            symbol = new Symbol(name);
            byName.Add(name, symbol);
            inOrder.Add(symbol);
        }
        return symbol;
    }

    public string LocalLabel(int number, bool forward) =>
        $"{number}{InstanceSeparator}{instances.GetValueOrDefault(number) + (forward ? 1 : 0)}";

    /// <summary>The name of a new instance of numeric label <paramref name="number"/>.</summary>
    public string DefineLocal(int number)
    {
        instances[number] = instances.GetValueOrDefault(number) + 1;
        return LocalLabel(number, forward: false);
    }

    public static bool IsNumericLocal(string name) => name.Contains(InstanceSeparator);

    /// <summary>How GNU as names a symbol in messages; a numeric local label by its number and instance.</summary>
    public static string Describe(string name)
    {
        if (!IsNumericLocal(name))
            return $"`{name}'";
        var parts = name.Split(InstanceSeparator);
        return $"local label `\"{parts[0]}\" (instance number {parts[1]} of a fb label)'";
    }

    /// <summary>The complaint about a symbol never defined: GNU as's wording for numeric local labels.</summary>
    public static string Undefined(string name) =>
        IsNumericLocal(name) ? $"{Describe(name)} is not defined" : $"undefined symbol {Describe(name)}";
}
