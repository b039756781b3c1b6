using Iced.Intel;

namespace Repl.Machine;

/// <summary>Near control transfers (SDM Vol. 1, 6.3 and 7.3.8): JMP, Jcc, JrCXZ, LOOPcc, CALL, RET.</summary>
public sealed unsafe partial class Cpu
{
    static delegate*<Cpu, ref Decoded, void> SelectControlTransfer(in Instruction i) => i.Code switch
    {
        _ when i.IsJmpShortOrNear => &JmpRelative,
        _ when i.IsJmpNearIndirect => &JmpIndirect,
        _ when i.IsJccShortOrNear => &Jcc,
        _ when i.IsCallNear => &CallRelative,
        _ when i.IsCallNearIndirect => &CallIndirect,
        _ when i.IsJcxShort => &Jrcxz,
        _ when i.IsLoop => &Loop,
        _ when i.IsLoopcc => &Loopcc,
        _ => i.Mnemonic switch
        {
            Mnemonic.Ret => &Ret,
            _ => null,
        },
    };

    /// <summary>
    /// Moves RIP to a near target: truncated to the operand size (16 or 32 bits) outside 64-bit mode;
    /// in 64-bit mode a non-canonical target faults on the branch itself, with nothing changed.
    /// </summary>
    internal void BranchTo(ulong target, int operandSize) => NextRip = NearTarget(target, operandSize);

    internal ulong NearTarget(ulong target, int operandSize)
    {
        target &= SizeMask(operandSize);
        if (operandSize == 8 && !IsCanonical(target))
            throw new CpuFault(Vector.GP, 0);
        return target;
    }

    static ulong RelativeTarget(Cpu c, ref Decoded d) => c.NextRip + d.Immediate;

    static void JmpRelative(Cpu c, ref Decoded d) => c.BranchTo(RelativeTarget(c, ref d), d.Ops[0].Size);

    static void JmpIndirect(Cpu c, ref Decoded d) => c.BranchTo(c.ReadOperand(ref d, 0), d.Ops[0].Size);

    static void Jcc(Cpu c, ref Decoded d)
    {
        if (c.State.Condition(d.Condition))
            c.BranchTo(RelativeTarget(c, ref d), d.Ops[0].Size);
    }

    static void CallRelative(Cpu c, ref Decoded d) => Call(c, RelativeTarget(c, ref d), d.Ops[0].Size);

    static void CallIndirect(Cpu c, ref Decoded d) => Call(c, c.ReadOperand(ref d, 0), d.Ops[0].Size);

    /// <summary>Pushes the return address, then branches; the target is checked first so a bad one leaves the stack alone.</summary>
    static void Call(Cpu c, ulong target, int size)
    {
        target = c.NearTarget(target, size);
        c.PushValue(c.NextRip & SizeMask(size), size);
        c.NextRip = target;
    }

    /// <summary>RET and RET imm16: pops the return address, then releases imm16 more bytes of arguments. In 64-bit
    /// mode Intel processors ignore 0x66 on a near RET, as on CALL (Iced decodes 66 C3 as RETQ there), so the
    /// decoding decides the width rather than the prefix.</summary>
    static void Ret(Cpu c, ref Decoded d)
    {
        int size = d.Instruction.Code is Code.Retnq or Code.Retnq_imm16 ? 8 : d.StackSize;
        ulong target = c.PeekValue(size, out ulong newSp);
        c.BranchTo(target, size);
        c.SetStackPointer(d.Ops[0].Kind == OperandKind.Immediate ? (newSp + (d.Immediate & 0xFFFF)) & SizeMask(c.StackAddressSize) : newSp);
    }

    /// <summary>JCXZ/JECXZ/JRCXZ: branches when the counter is zero; its width (CX, ECX, RCX) is the address size.</summary>
    static void Jrcxz(Cpu c, ref Decoded d)
    {
        if (c.ReadGpr((int)Gpr.Rcx, d.AddressSize) == 0)
            c.BranchTo(RelativeTarget(c, ref d), d.Ops[0].Size);
    }

    static void Loop(Cpu c, ref Decoded d) => LoopWhile(c, ref d, true);

    /// <summary>LOOPE/LOOPZ and LOOPNE/LOOPNZ: also require ZF set or clear (their tttn is that of JE or JNE).</summary>
    static void Loopcc(Cpu c, ref Decoded d) => LoopWhile(c, ref d, c.State.Condition(d.Condition));

    /// <summary>
    /// LOOPcc (SDM Vol. 2, LOOP/LOOPcc): decrements the counter (CX, ECX or RCX by the address size) without
    /// touching the flags, and branches while it is not zero and <paramref name="condition"/> holds. The target
    /// is checked before the counter changes, so a bad target faults with nothing changed.
    /// </summary>
    static void LoopWhile(Cpu c, ref Decoded d, bool condition)
    {
        int width = d.AddressSize;
        ulong count = (c.ReadGpr((int)Gpr.Rcx, width) - 1) & SizeMask(width);
        bool taken = count != 0 && condition;
        ulong target = taken ? c.NearTarget(RelativeTarget(c, ref d), d.Ops[0].Size) : c.NextRip;
        c.WriteGpr((int)Gpr.Rcx, width, count);
        c.NextRip = target;
    }
}
