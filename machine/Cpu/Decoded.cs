using System.Runtime.CompilerServices;
using Iced.Intel;

namespace Repl.Machine;

public enum OperandKind : byte
{
    None,
    /// <summary>A general-purpose register; <see cref="Operand.Reg"/> is its number (16-19: AH, CH, DH, BH).</summary>
    Gpr,
    /// <summary>A memory operand described by the Mem* fields of <see cref="Decoded"/>.</summary>
    Memory,
    /// <summary>An immediate, in <see cref="Decoded.Immediate"/> (or <see cref="Decoded.Immediate2"/> for ENTER's second).</summary>
    Immediate,
    /// <summary>Any other operand (segment, control or debug register, branch target...): the handler reads the Iced instruction.</summary>
    Other,
}

public struct Operand
{
    public OperandKind Kind;
    public byte Reg;
    /// <summary>Width in bytes: 1, 2, 4, 8 (16 for CMPXCHG16B's memory operand).</summary>
    public byte Size;

    /// <summary>In <see cref="Reg"/> of an immediate operand: this is the second immediate (ENTER's nesting level).</summary>
    public const byte SecondImmediate = 1;
}

[InlineArray(3)]
public struct OperandArray
{
    Operand _element;
}

/// <summary>
/// One instruction in the decoded-instruction cache: the Iced decoding (kept for disassembly and for the
/// rare handlers that need more), the handler chosen for it, and its operands pre-digested into the form
/// the handlers read on every execution.
/// </summary>
public unsafe struct Decoded
{
    public delegate*<Cpu, ref Decoded, void> Execute;
    public Instruction Instruction;
    public OperandArray Ops;
    public byte Length;
    /// <summary>Address size in bytes (2, 4 or 8): from the code's bitness and a 0x67 prefix.</summary>
    public byte AddressSize;
    /// <summary>Width in bytes of what PUSH, POP, CALL and RET move: 8 in 64-bit mode, 4 in 32-bit code, 2 with
    /// a 0x66 prefix there (4 with it in 16-bit code).</summary>
    public byte StackSize;
    /// <summary>The condition of Jcc, SETcc, CMOVcc as its tttn encoding (SDM Vol. 2, B.1.4.7).</summary>
    public byte Condition;
    /// <summary>Segment of the memory operand (default or overridden).</summary>
    public SegmentRegister MemSegment;
    /// <summary>Base and index register numbers, or <see cref="NoRegister"/>.</summary>
    public byte MemBase, MemIndex;
    public byte MemScaleShift;
    public bool MemRipRelative;
    /// <summary>Displacement; for RIP-relative operands, relative to the end of the instruction.</summary>
    public ulong MemDisplacement;
    /// <summary>The first immediate, sign-extended to the operand size; for near branches, the offset from the
    /// end of the instruction to the target.</summary>
    public ulong Immediate;
    public ulong Immediate2;

    public const byte NoRegister = 0xFF;

    /// <summary>Width in bytes of the first operand, which is the operation size for most instructions.</summary>
    public readonly int OpSize => Ops[0].Size;
}
