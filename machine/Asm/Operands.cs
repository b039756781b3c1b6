namespace Repl.Machine.Asm;

// Inside the namespace, so that Register, Code and friends are Iced's rather than Repl.Machine's.
using Iced.Intel;

internal enum OperandKind { Register, Immediate, Memory }

/// <summary>
/// One operand as written, in either syntax. An immediate or a displacement is an expression, evaluated when
/// the encoding is chosen (if already known) and again after layout. Position indexes the statement text.
/// </summary>
internal sealed record AsmOperand(OperandKind Kind, int Position)
{
    public Register Register { get; init; }

    /// <summary>The immediate, or the memory displacement (null: none written).</summary>
    public Expr? Value { get; init; }

    public Register Segment { get; init; }
    public Register Base { get; init; }
    public Register Index { get; init; }
    public int Scale { get; init; } = 1;

    /// <summary>Bytes the operand names: Intel "qword ptr" gives 8; 0 when the source does not say.</summary>
    public int Size { get; init; }

    /// <summary>AT&amp;T '*': the operand of an indirect jump or call.</summary>
    public bool Indirect { get; init; }
}

/// <summary>
/// An instruction statement after the syntax-specific parse: prefixes, the mnemonic (AT&amp;T suffixes resolved
/// into <see cref="OperandSize"/>), and operands in Intel order (destination first).
/// </summary>
internal sealed record ParsedInstruction(IReadOnlyList<string> Prefixes, Mnemonic Mnemonic, int OperandSize,
                                         IReadOnlyList<AsmOperand> Operands, int Position)
{
    /// <summary>ljmp, lcall, lret, or Intel "jmp far": the far form.</summary>
    public bool Far { get; init; }

    /// <summary>movabs: the 64-bit immediate or moffs form, whatever the value.</summary>
    public bool Absolute64 { get; init; }
}
