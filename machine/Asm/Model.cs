namespace Repl.Machine.Asm;

/// <summary>The two source syntaxes GNU as reads; a file switches with .intel_syntax and .att_syntax.</summary>
public enum AsmSyntax { Att, Intel }

/// <summary>What to assemble and how to lay it out.</summary>
public sealed record AsmOptions
{
    /// <summary>The name diagnostics, the line table and DWARF give the main source.</summary>
    public string FileName { get; init; } = "<input>";

    /// <summary>Where the first section starts (see <see cref="Assembler"/> for the layout rule).</summary>
    public ulong Origin { get; init; } = 0x100000;

    /// <summary>Absolute symbols defined before the first line, as GNU as's --defsym.</summary>
    public IReadOnlyDictionary<string, long> Defines { get; init; } = new Dictionary<string, long>();

    /// <summary>Operand size at the first line: 64 (as --64), 32 (.code32) or 16 (.code16).</summary>
    public int Bitness { get; init; } = 64;

    /// <summary>
    /// Reads the file an .include or .incbin names (relative to the including file's directory, then to each of
    /// <see cref="IncludePaths"/>). Null means the file system.
    /// </summary>
    public Func<string, byte[]?>? ReadFile { get; init; }

    /// <summary>Directories .include and .incbin search after the including file's own, as GNU as's -I.</summary>
    public IReadOnlyList<string> IncludePaths { get; init; } = [];
}

/// <summary>A position in a source file; Column is 1-based and counts characters.</summary>
public readonly record struct SourceLocation(string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}

public enum DiagnosticSeverity { Warning, Error }

/// <summary>
/// One message about the source: where, what, the line it is about, and — for a line produced by a macro or
/// .rept/.irp expansion — the chain of expansions that produced it, innermost first.
/// </summary>
public sealed record Diagnostic(DiagnosticSeverity Severity, SourceLocation Location, string Message, string SourceLine,
                                IReadOnlyList<Expansion> Chain)
{
    /// <summary>GNU style: "file:line:col: error: message", the source line, a caret under the column, then the chain.</summary>
    public override string ToString()
    {
        var text = new System.Text.StringBuilder();
        text.Append(Location).Append(": ").Append(Severity == DiagnosticSeverity.Error ? "error" : "warning").Append(": ").AppendLine(Message);
        text.Append("  ").AppendLine(SourceLine);
        text.Append("  ").Append(CaretIndent()).AppendLine("^");
        foreach (var e in Chain)
            text.Append(e.Location).Append(": note: in expansion of ").AppendLine(e.What);
        return text.ToString();
    }

    /// <summary>
    /// Blanks up to the column, keeping the source line's tabs as tabs so that the caret lands under the
    /// character however wide the terminal draws a tab.
    /// </summary>
    string CaretIndent()
    {
        int width = Math.Max(0, Location.Column - 1);
        var indent = new char[width];
        for (int i = 0; i < width; i++)
            indent[i] = i < SourceLine.Length && SourceLine[i] == '\t' ? '\t' : ' ';
        return new string(indent);
    }
}

/// <summary>One step of a macro chain: what was expanded (".rept", "macro SAVE_REGS") and where it was invoked.</summary>
public readonly record struct Expansion(string What, SourceLocation Location);

[Flags]
public enum SectionFlags { None = 0, Alloc = 1, Write = 2, Execute = 4 }

/// <summary>
/// A laid-out section. NoBits sections (.bss) occupy Size bytes of memory but carry no bytes
/// (<see cref="Bytes"/> is empty).
/// </summary>
public sealed record AsmSection(string Name, ulong Address, ulong Size, ulong Alignment, SectionFlags Flags, bool NoBits, byte[] Bytes);

public enum AsmSymbolType { NoType, Function, Object }

public enum AsmSymbolBinding { Local, Global, Weak }

/// <summary>
/// A symbol after layout. Section is null for an absolute symbol (.equ, .set, =). Labels starting with .L and
/// the generated names of numeric local labels are not in <see cref="AssemblyResult.Symbols"/>, as GNU as
/// leaves them out of .symtab.
/// </summary>
public sealed record AsmSymbol(string Name, ulong Value, ulong Size, AsmSymbolType Type, AsmSymbolBinding Binding, string? Section);

/// <summary>One row of the line table: the instruction or data at Address came from File:Line.</summary>
public readonly record struct LineEntry(ulong Address, string File, int Line);

/// <summary>
/// The assembler's output. Never null fields; when <see cref="Success"/> is false the diagnostics say why and
/// the sections hold whatever could be laid out.
/// </summary>
public sealed class AssemblyResult
{
    public required IReadOnlyList<Diagnostic> Diagnostics { get; init; }
    public required IReadOnlyList<AsmSection> Sections { get; init; }
    public required IReadOnlyList<AsmSymbol> Symbols { get; init; }

    /// <summary>Sorted by address; each row holds until the next row's address.</summary>
    public required IReadOnlyList<LineEntry> Lines { get; init; }

    /// <summary>Every source file the line table names (the main file first, then .include files in order).</summary>
    public required IReadOnlyList<string> Files { get; init; }

    /// <summary>The lines .print wrote, in order (GNU as writes them to its standard output).</summary>
    public IReadOnlyList<string> Printed { get; init; } = [];

    public bool Success => Diagnostics.All(d => d.Severity != DiagnosticSeverity.Error);

    /// <summary>The first section's address: the origin.</summary>
    public ulong Origin => Sections.Count == 0 ? 0 : Sections.Min(s => s.Address);

    /// <summary>
    /// The loadable image: every section's bytes at its offset from <see cref="Origin"/>, gaps zero-filled,
    /// ending with the last section that carries bytes (trailing NoBits sections are left to the loader to clear),
    /// exactly what objcopy -O binary writes for the same layout.
    /// </summary>
    public byte[] Image()
    {
        var loaded = Sections.Where(s => !s.NoBits && s.Size != 0).ToList();
        if (loaded.Count == 0)
            return [];
        ulong origin = loaded.Min(s => s.Address);
        var image = new byte[loaded.Max(s => s.Address + s.Size) - origin];
        foreach (var s in loaded)
            s.Bytes.CopyTo(image, (long)(s.Address - origin));
        return image;
    }

    /// <summary>The address range [Start, End) of the section called <paramref name="name"/>, or null for none (an absolute
    /// symbol's section).</summary>
    public (ulong Start, ulong End)? SectionRange(string? name) =>
        Sections.FirstOrDefault(s => s.Name == name) is { } section ? (section.Address, section.Address + section.Size) : null;

    /// <summary>The address of a symbol, or null when the result has none of that name.</summary>
    public ulong? AddressOf(string name) => Symbols.FirstOrDefault(s => s.Name == name)?.Value;
}
