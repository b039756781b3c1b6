namespace Repl.Machine.Asm;

/// <summary>
/// After the pass: branch relaxation, section addresses (the layout rule on <see cref="Assembler"/>), the final
/// bytes of instructions and data, and the result.
/// </summary>
internal sealed partial class AssemblyPass
{
    AssemblyResult Layout()
    {
        Relax();
        var placed = PlaceSections();
        // Every section is encoded, placed or not, so that the errors of an empty or unallocated one are reported too.
        var encoded = sections.ToDictionary(s => s, Encode);
        var output = new List<AsmSection>();
        var lines = new List<LineEntry>();
        foreach (var section in placed)
        {
            var bytes = encoded[section];
            output.Add(new AsmSection(section.Name, section.Address, (ulong)section.Size, section.Alignment, section.Flags,
                                      section.NoBits, section.NoBits ? [] : bytes));
            if (!section.NoBits)
                lines.AddRange(section.Fragments.SelectMany(f => f.Lines.Select(l =>
                    new LineEntry(section.Address + (ulong)(f.Offset + l.Offset), l.File, l.Line))));
        }
        var symbolTable = Symbols();
        return new AssemblyResult
        {
            Diagnostics = Diagnostics.All,
            Sections = output,
            Symbols = symbolTable,
            Lines = MergeLines(lines),
            Files = preprocessor!.Files,
            Printed = printed,
        };
    }

    /// <summary>
    /// GNU as's relaxation: every jmp/jcc to a label starts short; lay out, grow to near each one whose target is
    /// out of rel8 reach, in another section, not a label (an absolute address), undefined or weak (another
    /// definition may replace it at link time), and repeat until none grows. Growing only, it ends.
    /// </summary>
    void Relax()
    {
        bool grew;
        do
        {
            LayOutFragments();
            grew = false;
            foreach (var section in sections)
                foreach (var fragment in section.Fragments)
                    if (fragment.Tail is BranchPart { Instruction: { BranchTarget: { } target } instruction } && MustBeNear(fragment, instruction, target))
                    {
                        instruction.MakeNear();
                        grew = true;
                    }
        } while (grew);
    }

    bool MustBeNear(Fragment fragment, EncodedInstruction instruction, Expr target)
    {
        if (target is SymbolExpr { Name: var name } && symbols.Find(name)?.Binding == AsmSymbolBinding.Weak)
            return true;
        var value = Expressions.Evaluate(target, new Scope(this, new Value(fragment.Offset + fragment.FixedSize, fragment.Section), final: true));
        if (!value.Known || value.Value.Base != fragment.Section)
            return true;
        long displacement = value.Value.Offset - (fragment.Offset + fragment.FixedSize + instruction.Length);
        return displacement is < sbyte.MinValue or > sbyte.MaxValue;
    }

    /// <summary>Fragment offsets within each section and the sizes of their variable parts, in one sweep.</summary>
    void LayOutFragments()
    {
        foreach (var section in sections)
        {
            long offset = 0;
            foreach (var fragment in section.Fragments)
            {
                fragment.Offset = offset;
                fragment.TailSize = TailSize(fragment, offset + fragment.FixedSize, report: false);
                offset += fragment.Size;
            }
        }
    }

    /// <summary>The variable part's size when it starts at <paramref name="at"/> (section offset).</summary>
    long TailSize(Fragment fragment, long at, bool report)
    {
        switch (fragment.Tail)
        {
            case BranchPart branch:
                return branch.Instruction.Length;
            case AlignPart align:
            {
                long padding = (align.Alignment - at % align.Alignment) % align.Alignment;
                return align.MaxSkip > 0 && padding > align.MaxSkip ? 0 : padding;
            }
            case OrgPart org:
            {
                var target = Expressions.Evaluate(org.Target, new Scope(this, new Value(at, fragment.Section), final: true));
                long offset;
                if (!target.Known || (target.Value.Base is not null && target.Value.Base != fragment.Section))
                {
                    if (report)
                        Diagnostics.Error(org.Statement, org.TargetPosition, target.Error ?? (target.Undefined is { } u
                            ? SymbolTable.Undefined(u) : "can't .org into another section"));
                    return 0;
                }
                offset = target.Value.Offset;
                if (offset < at || offset - at > MaxSpace)
                {
                    if (report)
                        Diagnostics.Error(org.Statement, org.TargetPosition, offset < at ? "attempt to move .org backwards" : $".org too far: at most {MaxSpace} bytes of padding");
                    return 0;
                }
                return offset - at;
            }
            case SpacePart space:
            {
                var count = Expressions.Evaluate(space.Count, new Scope(this, new Value(at, fragment.Section), final: true));
                if (count.IsAbsolute(out long size) && size is >= 0 and <= MaxSpace)
                    return size;
                if (report)
                    Diagnostics.Error(space.Statement, space.CountPosition, count.Error ?? (count.Undefined is { } u
                        ? SymbolTable.Undefined(u) : "expected a non-negative absolute size"));
                return 0;
            }
            default:
                return 0;
        }
    }

    /// <summary>
    /// The layout rule: allocated, non-empty sections, bytes first then NoBits, each aligned after the last. An
    /// empty section is not placed, but its labels (an "end:" with nothing after it) get the address it would
    /// have had.
    /// </summary>
    List<Section> PlaceSections()
    {
        var placed = new List<Section>();
        ulong address = options.Origin;
        foreach (var section in sections.Where(s => (s.Flags & SectionFlags.Alloc) != 0).OrderBy(s => s.NoBits)) // stable: first mention otherwise
        {
            if (section.Size == 0)
            {
                section.Address = address;
                continue;
            }
            section.Address = (address + section.Alignment - 1) / section.Alignment * section.Alignment;
            address = section.Address + (ulong)section.Size;
            placed.Add(section);
        }
        return placed;
    }

    /// <summary>The section's final bytes: fixed parts with instructions and data holes filled in, then padding.</summary>
    byte[] Encode(Section section)
    {
        var bytes = new byte[section.Size];
        foreach (var fragment in section.Fragments)
        {
            fragment.Bytes.CopyTo(bytes, (int)fragment.Offset);
            foreach (var placed in fragment.Instructions)
                Place(bytes, fragment, placed.Offset, placed.Instruction, placed.Statement);
            foreach (var hole in fragment.Holes)
                FillHole(bytes, fragment, hole);
            long tailAt = fragment.Offset + fragment.FixedSize;
            // Recomputed with reporting on: the layout is final, so its complaints are now the real ones.
            long tailSize = TailSize(fragment, tailAt, report: true);
            switch (fragment.Tail)
            {
                case BranchPart branch:
                    Place(bytes, fragment, fragment.FixedSize, branch.Instruction, branch.Statement);
                    break;
                case AlignPart { PadsWithNops: true } align when section.IsCode:
                    Nops.Write(bytes.AsSpan((int)tailAt, (int)tailSize), align.Bitness);
                    break;
                case AlignPart { Fill: { } pattern } align:
                    FillPattern(bytes.AsSpan((int)tailAt, (int)tailSize), pattern, align);
                    break;
                case OrgPart org:
                    bytes.AsSpan((int)tailAt, (int)tailSize).Fill(org.Fill);
                    break;
                case SpacePart space:
                    bytes.AsSpan((int)tailAt, (int)tailSize).Fill(space.Fill);
                    break;
            }
        }
        return bytes;
    }

    void FillPattern(Span<byte> padding, byte[] pattern, AlignPart align)
    {
        if (padding.Length % pattern.Length != 0)
        {
            Diagnostics.Error(align.Statement, 0, $"alignment padding ({padding.Length} bytes) not a multiple of {pattern.Length}");
            return;
        }
        for (int i = 0; i < padding.Length; i += pattern.Length)
            pattern.CopyTo(padding[i..]);
    }

    void Place(byte[] bytes, Fragment fragment, int offset, EncodedInstruction instruction, Statement statement)
    {
        ulong ip = fragment.Section.Address + (ulong)(fragment.Offset + offset);
        var code = instruction.Encode(ip, expr => Absolute(expr, fragment.Section, fragment.Offset + offset), out string? error, out int errorPosition);
        if (code is null)
        {
            Diagnostics.Error(statement, errorPosition, error ?? "cannot encode instruction");
            return;
        }
        if (code.Length != instruction.Length)
            throw new InvalidOperationException($"instruction encoded in {code.Length} bytes, laid out in {instruction.Length}");
        code.CopyTo(bytes, fragment.Offset + offset);
    }

    void FillHole(byte[] bytes, Fragment fragment, DataHole hole)
    {
        var value = Absolute(hole.Value, fragment.Section, fragment.Offset + hole.Offset);
        if (!value.IsAbsolute(out long v))
        {
            Diagnostics.Error(hole.Statement, value.Error is null ? hole.Position : value.ErrorPosition,
                value.Error ?? SymbolTable.Undefined(value.Undefined!));
            return;
        }
        if (hole.Size < 8 && (v >> (8 * hole.Size)) is not (0 or -1))
        {
            Diagnostics.Error(hole.Statement, hole.Position, $"value of 0x{(ulong)v:x} too large for field of {hole.Size} byte{(hole.Size == 1 ? "" : "s")}");
            return;
        }
        for (int i = 0; i < hole.Size; i++)
            bytes[fragment.Offset + hole.Offset + i] = (byte)(v >> (8 * i));
    }

    /// <summary>
    /// An expression's final value as an address: section offsets plus the section's address. A difference of
    /// labels in two sections stays an error, as GNU as cannot express it in a relocation either.
    /// </summary>
    Evaluation Absolute(Expr expr, Section section, long dot)
    {
        var value = Expressions.Evaluate(expr, new Scope(this, new Value(dot, section), final: true));
        if (value.Known && value.Value.Base is Section s)
            return new Evaluation(new Value((long)s.Address + value.Value.Offset));
        return value;
    }

    List<AsmSymbol> Symbols()
    {
        var result = new List<AsmSymbol>();
        foreach (var symbol in symbols.All.Where(s => s.Listed && s.Defined))
        {
            if (!TryGetValue(symbol.Name, final: true, out var value))
                continue;
            var section = value.Base as Section;
            ulong address = (ulong)value.Offset + (section?.Address ?? 0);
            result.Add(new AsmSymbol(symbol.Name, address, SizeOf(symbol), symbol.Type, symbol.Binding, section?.Name));
        }
        return result;
    }

    ulong SizeOf(Symbol symbol)
    {
        if (symbol.Size is not { } size)
            return 0;
        var dot = new Value(size.Fragment.Offset + size.Offset, size.Fragment.Section);
        var value = Expressions.Evaluate(size.Expr, new Scope(this, dot, final: true));
        if (value.IsAbsolute(out long v))
            return (ulong)v;
        Diagnostics.Error(size.Statement, value.Error is null ? size.Expr.Position : value.ErrorPosition,
            value.Error ?? $".size expression for {symbol.Name} does not evaluate to a constant");
        return 0;
    }

    /// <summary>Sorted by address; consecutive rows for the same line are one row, as in a DWARF line program.</summary>
    static List<LineEntry> MergeLines(List<LineEntry> lines)
    {
        var merged = new List<LineEntry>();
        foreach (var line in lines.OrderBy(l => l.Address))
            if (merged.Count == 0 || merged[^1].File != line.File || merged[^1].Line != line.Line)
                merged.Add(line);
        return merged;
    }
}
