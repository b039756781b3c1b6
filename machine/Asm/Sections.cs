namespace Repl.Machine.Asm;

/// <summary>
/// A section being assembled: a chain of fragments, as in GNU as. A fragment is a run of bytes whose length is
/// known while the pass reads it (data, instructions of fixed length) followed by at most one variable part
/// (a relaxable branch, an alignment, an .org, a .skip of a size not known yet) whose length only layout knows.
/// Labels are an offset into a fragment, so the difference of two labels in one fragment is known at once.
/// </summary>
internal sealed class Section(string name, SectionFlags flags, bool noBits)
{
    public string Name { get; } = name;
    public SectionFlags Flags { get; set; } = flags;
    public bool NoBits { get; set; } = noBits;

    /// <summary>The largest alignment any .align in the section asked for; the section starts at a multiple of it.</summary>
    public ulong Alignment { get; set; } = 1;

    public List<Fragment> Fragments { get; } = [];

    /// <summary>The fragment the pass appends to: the last one.</summary>
    public Fragment Current => Fragments[^1];

    /// <summary>Where layout put the section.</summary>
    public ulong Address { get; set; }

    public long Size => Fragments.Count == 0 ? 0 : Fragments[^1].Offset + Fragments[^1].Size;

    /// <summary>Code sections pad alignments with long NOPs rather than zeros (GNU as's rs_align_code).</summary>
    public bool IsCode => (Flags & SectionFlags.Execute) != 0;

    /// <summary>Closes the current fragment with a variable part and opens the next one.</summary>
    public void Close(VariablePart tail)
    {
        Current.Tail = tail;
        Fragments.Add(new Fragment(this));
    }

    public override string ToString() => Name;
}

/// <summary>
/// Fixed bytes, then an optional variable part. <see cref="Offset"/> is from the section start and is set by
/// layout; during the pass, values based on a fragment are offsets into it.
/// </summary>
internal sealed class Fragment(Section section)
{
    public Section Section { get; } = section;

    /// <summary>The fixed part; instruction bytes are written in after layout.</summary>
    public List<byte> Bytes { get; } = [];

    /// <summary>Data whose value is not known until layout (.long label).</summary>
    public List<DataHole> Holes { get; } = [];

    /// <summary>Fixed-length instructions, encoded after layout at their place in <see cref="Bytes"/>.</summary>
    public List<PlacedInstruction> Instructions { get; } = [];

    /// <summary>Statements that emitted bytes here, for the line table.</summary>
    public List<(int Offset, string File, int Line)> Lines { get; } = [];

    public VariablePart? Tail { get; set; }

    public long Offset { get; set; }

    /// <summary>Bytes the variable part occupies in the current layout.</summary>
    public long TailSize { get; set; }

    public long Size => Bytes.Count + TailSize;

    public int FixedSize => Bytes.Count;
}

/// <summary>
/// A hole of <paramref name="Size"/> bytes at <paramref name="Offset"/> for an expression evaluated after layout;
/// <paramref name="Position"/> is where the expression starts in the statement.
/// </summary>
internal sealed record DataHole(int Offset, int Size, Expr Value, int Position, Statement Statement);

internal sealed record PlacedInstruction(int Offset, EncodedInstruction Instruction, Statement Statement);

/// <summary>The end of a fragment whose length depends on where layout puts it.</summary>
internal abstract record VariablePart(Statement Statement);

/// <summary>A jmp/jcc to a label: short until layout finds its target out of reach.</summary>
internal sealed record BranchPart(Statement Statement, EncodedInstruction Instruction) : VariablePart(Statement);

/// <summary>
/// Padding to the next multiple of <paramref name="Alignment"/>; none at all when more than
/// <paramref name="MaxSkip"/> bytes would be needed (0: no limit). Fill is a 1-, 2- or 4-byte pattern; null
/// means NOPs in code (of the <paramref name="Bitness"/> in force there), zeros elsewhere.
/// </summary>
internal sealed record AlignPart(Statement Statement, long Alignment, byte[]? Fill, long MaxSkip, int Bitness) : VariablePart(Statement)
{
    /// <summary>
    /// GNU as on x86 pads code with long NOPs also when the fill asked for is the one-byte NOP itself (Linux's
    /// ".p2align 4, 0x90"), as its md_do_align does.
    /// </summary>
    public bool PadsWithNops => Fill is null || Fill is [Nops.OneByte];
}

/// <summary>.org: padding with <paramref name="Fill"/> up to an offset in the section.</summary>
internal sealed record OrgPart(Statement Statement, Expr Target, int TargetPosition, byte Fill) : VariablePart(Statement);

/// <summary>.skip/.space whose size is an expression layout resolves (a label difference across fragments).</summary>
internal sealed record SpacePart(Statement Statement, Expr Count, int CountPosition, byte Fill) : VariablePart(Statement);
