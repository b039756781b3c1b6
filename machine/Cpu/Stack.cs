using Iced.Intel;

namespace Repl.Machine;

/// <summary>Stack manipulation (SDM Vol. 1, 6.2 and 7.3.1.4): PUSH and POP, and the stack pointer rules the
/// other stack users (CALL, RET, ENTER, LEAVE, PUSHF, POPF) share.</summary>
public sealed unsafe partial class Cpu
{
    static delegate*<Cpu, ref Decoded, void> SelectStack(in Instruction i) => i.Mnemonic switch
    {
        Mnemonic.Push when i.Op0Kind != OpKind.Register || i.Op0Register.IsGPR() => &Push,
        Mnemonic.Pop when i.Op0Kind != OpKind.Register || i.Op0Register.IsGPR() => &Pop,
        _ => null,
    };

    /// <summary>Width of the stack pointer: RSP in 64-bit mode, else ESP or SP as SS.B says.</summary>
    internal int StackAddressSize =>
        State.Is64BitMode ? 8 : State.Segments[(int)SegmentRegister.Ss].DefaultBig ? 4 : 2;

    /// <summary>RSP after moving it by <paramref name="delta"/> bytes, wrapped to the stack-pointer width.</summary>
    internal ulong StackPointerPlus(long delta) =>
        (State.Gpr[(int)Gpr.Rsp] + (ulong)delta) & SizeMask(StackAddressSize);

    /// <summary>Sets the stack pointer at its width; a 16-bit SP leaves the upper bits of RSP alone.</summary>
    internal void SetStackPointer(ulong value) => WriteGpr((int)Gpr.Rsp, StackAddressSize, value);

    /// <summary>Pushes a value; RSP changes only once the write has succeeded.</summary>
    internal void PushValue(ulong value, int size)
    {
        ulong sp = StackPointerPlus(-size);
        WriteMemory(SegmentRegister.Ss, sp, size, value);
        SetStackPointer(sp);
    }

    /// <summary>Reads the value on top of the stack and the RSP that popping it would leave, without changing anything.</summary>
    internal ulong PeekValue(int size, out ulong newSp)
    {
        newSp = StackPointerPlus(size);
        return ReadMemory(SegmentRegister.Ss, State.Gpr[(int)Gpr.Rsp] & SizeMask(StackAddressSize), size);
    }

    /// <summary>PUSH r/m, r, imm: the value is read (an immediate is sign-extended to the stack width) before RSP moves;
    /// PUSH RSP pushes the value RSP had before the instruction.</summary>
    static void Push(Cpu c, ref Decoded d)
    {
        int size = d.StackSize;
        ulong value = d.Ops[0].Kind == OperandKind.Immediate ? d.Immediate : c.ReadOperand(ref d, 0);
        c.PushValue(value & SizeMask(size), size);
    }

    /// <summary>POP r/m, r. RSP is incremented before a memory destination's address is computed, and POP RSP
    /// leaves the popped value in RSP (SDM Vol. 2, POP).</summary>
    static void Pop(Cpu c, ref Decoded d)
    {
        int size = d.StackSize;
        ulong value = c.PeekValue(size, out ulong newSp);
        if (d.Ops[0].Kind == OperandKind.Gpr)
        {
            c.SetStackPointer(newSp);
            c.WriteGpr(d.Ops[0].Reg, size, value);
            return;
        }
        ulong oldSp = c.State.Gpr[(int)Gpr.Rsp];
        c.SetStackPointer(newSp);
        try
        {
            c.WriteOperand(ref d, 0, value);
        }
        catch (CpuFault)
        {
            c.State.Gpr[(int)Gpr.Rsp] = oldSp;
            throw;
        }
    }
}
