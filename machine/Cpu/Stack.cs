using Iced.Intel;
using IcedRegister = Iced.Intel.Register;

namespace Repl.Machine;

/// <summary>Stack manipulation (SDM Vol. 1, 6.2, 7.3.1.4 and 7.3.13): PUSH, POP, PUSHA, POPA, PUSHF, POPF, ENTER,
/// LEAVE, and the stack pointer rules the other stack users (CALL, RET) share.</summary>
public sealed unsafe partial class Cpu
{
    static delegate*<Cpu, ref Decoded, void> SelectStack(in Instruction i) => i.Mnemonic switch
    {
        Mnemonic.Push when i.Op0Kind != OpKind.Register || i.Op0Register.IsGPR() => &Push,
        Mnemonic.Push when i.Op0Register.IsSegmentRegister() => &PushSegment,
        Mnemonic.Pop when i.Op0Kind != OpKind.Register || i.Op0Register.IsGPR() => &Pop,
        Mnemonic.Pushf or Mnemonic.Pushfd or Mnemonic.Pushfq => &Pushf,
        Mnemonic.Popf or Mnemonic.Popfd or Mnemonic.Popfq => &Popf,
        Mnemonic.Enter => &Enter,
        Mnemonic.Leave => &Leave,
        // PUSHA and POPA do not exist in 64-bit mode: Iced decodes 60 and 61 there as invalid, which raises #UD.
        Mnemonic.Pusha or Mnemonic.Pushad => &Pusha,
        Mnemonic.Popa or Mnemonic.Popad => &Popa,
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

    /// <summary>Checks that <paramref name="count"/> pushes of <paramref name="size"/> bytes would all succeed, so an
    /// instruction that pushes several values faults before it writes any. Returns the stack pointer after them.</summary>
    ulong CheckPushes(int count, int size)
    {
        ulong mask = SizeMask(StackAddressSize);
        ulong sp = State.Gpr[(int)Gpr.Rsp] & mask;
        for (int k = 0; k < count; k++)
        {
            sp = (sp - (ulong)size) & mask;
            CheckWritableLinear(Linear(SegmentRegister.Ss, sp, size, Access.Write), size);
        }
        return sp;
    }

    /// <summary>Pushes values already checked by <see cref="CheckPushes"/>, first to last.</summary>
    void PushChecked(ReadOnlySpan<ulong> values, int size)
    {
        foreach (ulong value in values)
            PushValue(value, size);
    }

    /// <summary>PUSH r/m, r, imm: the value is read (an immediate is sign-extended to the stack width) before RSP moves;
    /// PUSH RSP pushes the value RSP had before the instruction.</summary>
    static void Push(Cpu c, ref Decoded d)
    {
        int size = d.StackSize;
        ulong value = d.Ops[0].Kind == OperandKind.Immediate ? d.Immediate : c.ReadOperand(ref d, 0);
        c.PushValue(value & SizeMask(size), size);
    }

    /// <summary>
    /// PUSH of a segment register (PUSH CS/SS/DS/ES exist only outside 64-bit mode). With a 64- or 16-bit operand
    /// size the selector is zero-extended into the slot; with a 32-bit one only the low 16 bits are written and
    /// the rest of the slot keeps its contents, as the SDM says recent Intel processors do (the alternative it
    /// allows, zero-extension, is not modelled for either profile).
    /// </summary>
    static void PushSegment(Cpu c, ref Decoded d)
    {
        int size = d.StackSize;
        ulong selector = c.State.Segments[d.Instruction.Op0Register - IcedRegister.ES].Selector;
        ulong sp = c.StackPointerPlus(-size);
        if (size == 4)
        {
            c.CheckWritableLinear(c.Linear(SegmentRegister.Ss, sp, size, Access.Write), size); // the whole slot must be writable
            c.WriteMemory(SegmentRegister.Ss, sp, 2, selector);
        }
        else
            c.WriteMemory(SegmentRegister.Ss, sp, size, selector);
        c.SetStackPointer(sp);
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

    /// <summary>PUSHA/PUSHAD: AX, CX, DX, BX, the SP from before the instruction, BP, SI, DI (encoding order),
    /// at the operand size.</summary>
    static void Pusha(Cpu c, ref Decoded d)
    {
        int size = d.StackSize;
        Span<ulong> values = stackalloc ulong[8];
        for (int r = 0; r < 8; r++)
            values[r] = c.ReadGpr(r, size);
        c.CheckPushes(values.Length, size);
        c.PushChecked(values, size);
    }

    /// <summary>POPA/POPAD: pops DI, SI, BP, a skipped SP slot, BX, DX, CX, AX. All eight are read before
    /// any register changes.</summary>
    static void Popa(Cpu c, ref Decoded d)
    {
        int size = d.StackSize;
        ulong mask = SizeMask(c.StackAddressSize);
        ulong sp = c.State.Gpr[(int)Gpr.Rsp] & mask;
        Span<ulong> values = stackalloc ulong[8];
        for (int k = 0; k < values.Length; k++)
        {
            values[k] = c.ReadMemory(SegmentRegister.Ss, sp, size);
            sp = (sp + (ulong)size) & mask;
        }
        for (int k = 0; k < values.Length; k++)
            if (7 - k != (int)Gpr.Rsp)
                c.WriteGpr(7 - k, size, values[k]);
        c.SetStackPointer(sp);
    }

    /// <summary>PUSHF/PUSHFD/PUSHFQ: RFLAGS at the operand size, with RF and VM cleared in the image
    /// (SDM Vol. 2, PUSHF). Virtual-8086 mode, where IOPL &lt; 3 would make it #GP, is not modelled.</summary>
    static void Pushf(Cpu c, ref Decoded d)
    {
        int size = d.StackSize;
        c.PushValue(c.State.Rflags & ~(ulong)(RflagsBit.RF | RflagsBit.VM) & SizeMask(size), size);
    }

    /// <summary>The flags POPF can load at all: every non-reserved flag but RF, VM, VIP and VIF.</summary>
    const ulong PopfFlags = (ulong)(RflagsBit.Arithmetic | RflagsBit.TF | RflagsBit.IF | RflagsBit.DF | RflagsBit.IOPL
                                    | RflagsBit.NT | RflagsBit.AC | RflagsBit.ID);

    /// <summary>
    /// POPF/POPFD/POPFQ (SDM Vol. 2, POPF). Privilege narrows what changes, silently: IOPL only at CPL 0, IF only
    /// when CPL &lt;= IOPL (real mode counts as CPL 0). A 16-bit POPF loads only FLAGS[15:0]; the 32- and 64-bit
    /// forms clear RF and leave VM, VIP, VIF alone. Virtual-8086 mode is not modelled.
    /// </summary>
    static void Popf(Cpu c, ref Decoded d)
    {
        int size = d.StackSize;
        ulong popped = c.PeekValue(size, out ulong newSp);
        ulong loadable = PopfFlags & SizeMask(size);
        if ((c.State.Cr0 & CpuState.Cr0PE) != 0 && c.State.Cpl != 0)
            loadable &= ~(ulong)RflagsBit.IOPL;
        if (!c.IoplAllows)
            loadable &= ~(ulong)RflagsBit.IF;
        ulong flags = (c.State.Rflags & ~loadable) | (popped & loadable);
        if (size != 2)
            flags &= ~(ulong)RflagsBit.RF;
        c.SetStackPointer(newSp);
        c.State.Rflags = flags;
    }

    /// <summary>
    /// ENTER imm16, imm8 (SDM Vol. 2, ENTER): pushes rBP; at nesting level L &gt; 0 also copies L-1 frame pointers
    /// from the enclosing frame (read at rBP - size, rBP - 2*size... at the stack-address width) and pushes the
    /// new frame pointer; then rBP = that frame pointer and rSP drops by imm16 more. Every read, every push slot
    /// and a write at the final stack pointer (SDM: "#SS(0) if the new value of the SP or ESP register is outside
    /// the stack segment limit") are checked before anything is written.
    /// </summary>
    static void Enter(Cpu c, ref Decoded d)
    {
        int size = d.StackSize;
        ulong allocSize = d.Immediate & 0xFFFF;
        int level = (int)(d.Immediate2 & 31);
        ulong mask = SizeMask(c.StackAddressSize);
        ulong rsp = c.State.Gpr[(int)Gpr.Rsp];
        // FrameTemp is the whole register after the first push (with a 16-bit stack, ESP keeps its upper half);
        // pushing it and loading rBP from it take its low operand-size bytes.
        ulong frameTemp = (rsp & ~mask) | c.StackPointerPlus(-size);

        Span<ulong> values = stackalloc ulong[32];
        int count = 0;
        values[count++] = c.ReadGpr((int)Gpr.Rbp, size);
        if (level > 0)
        {
            ulong bp = c.State.Gpr[(int)Gpr.Rbp] & mask;
            for (int k = 1; k < level; k++)
            {
                bp = (bp - (ulong)size) & mask;
                values[count++] = c.ReadMemory(SegmentRegister.Ss, bp, size);
            }
            values[count++] = frameTemp;
        }
        ulong finalSp = (c.CheckPushes(count, size) - allocSize) & mask;
        c.Linear(SegmentRegister.Ss, finalSp, size, Access.Write);
        c.PushChecked(values[..count], size);
        c.SetStackPointer(finalSp);
        c.WriteGpr((int)Gpr.Rbp, size, frameTemp);
    }

    /// <summary>LEAVE: rSP = rBP (at the stack-address width), then pops rBP at the operand size; the saved rBP
    /// is read first, so a fault changes nothing.</summary>
    static void Leave(Cpu c, ref Decoded d)
    {
        int size = d.StackSize;
        ulong mask = SizeMask(c.StackAddressSize);
        ulong frame = c.State.Gpr[(int)Gpr.Rbp] & mask;
        ulong savedBp = c.ReadMemory(SegmentRegister.Ss, frame, size);
        c.SetStackPointer((frame + (ulong)size) & mask);
        c.WriteGpr((int)Gpr.Rbp, size, savedBp);
    }
}
