using Iced.Intel;
using IcedRegister = Iced.Intel.Register;

namespace Repl.Machine;

/// <summary>One element of a string instruction: what MOVS, CMPS, SCAS, LODS, STOS, INS or OUTS does at
/// rSI and/or rDI before the pointers advance.</summary>
interface IStringOp
{
    /// <summary>Whether the instruction walks rSI (its source) and rDI (its ES destination).</summary>
    static abstract bool UsesSource { get; }
    static abstract bool UsesDestination { get; }
    /// <summary>CMPS and SCAS: the only ones REPE and REPNE also stop on ZF.</summary>
    static abstract bool Compares { get; }
    /// <summary>INS and OUTS: subject to I/O privilege.</summary>
    static abstract bool UsesPorts { get; }
    /// <summary>Does one element. Every access is checked before the only write, so a fault leaves nothing changed.</summary>
    static abstract void Element(Cpu c, SegmentRegister source, ulong si, ulong di, int size);
}

/// <summary>
/// String instructions (SDM Vol. 1, 7.3.9; Vol. 2, MOVS/CMPS/SCAS/LODS/STOS/INS/OUTS and REP/REPE/REPNE).
/// The source is seg:rSI (DS unless overridden), the destination ES:rDI (never overridable). The pointers
/// and the REP count are rSI, rDI and rCX at the address size, wrapping at it; DF chooses the direction.
/// </summary>
public sealed unsafe partial class Cpu
{
    /// <summary>
    /// Most iterations a REP string instruction does per execution. A longer run retires in chunks: after a chunk
    /// rCX, rSI and rDI reflect the elements done and RIP stays on the instruction, so the run loop executes it
    /// again, seeing stop requests and budgets between chunks (as hardware services interrupts between
    /// iterations, SDM Vol. 2, REP). Each chunk therefore counts as one retired instruction.
    /// </summary>
    public const int StringChunkIterations = 4096;

    static delegate*<Cpu, ref Decoded, void> SelectString(in Instruction i) => !i.IsStringInstruction ? null : i.Mnemonic switch
    {
        Mnemonic.Movsb or Mnemonic.Movsw or Mnemonic.Movsd or Mnemonic.Movsq => &StringInstruction<MovsOp>,
        Mnemonic.Cmpsb or Mnemonic.Cmpsw or Mnemonic.Cmpsd or Mnemonic.Cmpsq => &StringInstruction<CmpsOp>,
        Mnemonic.Scasb or Mnemonic.Scasw or Mnemonic.Scasd or Mnemonic.Scasq => &StringInstruction<ScasOp>,
        Mnemonic.Lodsb or Mnemonic.Lodsw or Mnemonic.Lodsd or Mnemonic.Lodsq => &StringInstruction<LodsOp>,
        Mnemonic.Stosb or Mnemonic.Stosw or Mnemonic.Stosd or Mnemonic.Stosq => &StringInstruction<StosOp>,
        Mnemonic.Insb or Mnemonic.Insw or Mnemonic.Insd => &StringInstruction<InsOp>,
        Mnemonic.Outsb or Mnemonic.Outsw or Mnemonic.Outsd => &StringInstruction<OutsOp>,
        _ => null,
    };

    /// <summary>
    /// Runs a string instruction, repeated or not. Registers are updated after each whole element, so a fault
    /// in the middle of a REP leaves rCX, rSI and rDI counting the elements completed and RIP on the instruction,
    /// which restarts it where it stopped, as on hardware. REP with rCX = 0 does nothing at all.
    /// </summary>
    static void StringInstruction<TOp>(Cpu c, ref Decoded d) where TOp : struct, IStringOp
    {
        ref readonly Instruction i = ref d.Instruction;
        int size = i.MemorySize.GetSize();
        int addressSize = d.AddressSize;
        ulong mask = SizeMask(addressSize);
        ulong step = (c.State.FlagsStored & (ulong)RflagsBit.DF) != 0 ? (ulong)-size : (ulong)size;
        // Only the source can take a segment override; ES:rDI cannot (SDM Vol. 2, MOVS).
        var source = i.SegmentPrefix == IcedRegister.None ? SegmentRegister.Ds : (SegmentRegister)(i.SegmentPrefix - IcedRegister.ES);
        ulong si = c.State.Gpr[(int)Gpr.Rsi] & mask, di = c.State.Gpr[(int)Gpr.Rdi] & mask;

        // Without F3 or F2 the instruction runs once (F2 on one that does not compare repeats it as F3 does).
        if (!i.HasRepPrefix && !i.HasRepnePrefix)
        {
            if (TOp.UsesPorts)
                c.CheckIoPrivilege(c.PortDx, size);
            TOp.Element(c, source, si, di, size);
            if (TOp.UsesSource)
                c.WriteGpr((int)Gpr.Rsi, addressSize, si + step);
            if (TOp.UsesDestination)
                c.WriteGpr((int)Gpr.Rdi, addressSize, di + step);
            return;
        }

        ulong count = c.State.Gpr[(int)Gpr.Rcx] & mask;
        if (count == 0)
            return;
        if (TOp.UsesPorts)
            c.CheckIoPrivilege(c.PortDx, size);
        bool stopOnZf = i.HasRepnePrefix; // REPNE stops when ZF becomes 1, REPE when it becomes 0
        // While debug features watch each instruction, single steps and data breakpoints trap after each iteration.
        ulong chunk = Math.Min(count, c.DebugFeaturesActive ? 1UL : StringChunkIterations);
        ulong done = 0;
        bool terminated = false;
        try
        {
            while (done < chunk)
            {
                TOp.Element(c, source, si, di, size);
                si = (si + step) & mask;
                di = (di + step) & mask;
                done++;
                if (TOp.Compares && c.State.ZF == stopOnZf)
                {
                    terminated = true;
                    break;
                }
                // A watchpoint hit (or a device's stop) is reported after the iteration that caused it.
                if (c.StopPending)
                    break;
            }
        }
        finally
        {
            // Also on a fault: the elements already done stay done. Nothing is written when none was, since a
            // 32-bit register write would clear the upper halves.
            if (done != 0)
            {
                if (TOp.UsesSource)
                    c.WriteGpr((int)Gpr.Rsi, addressSize, si);
                if (TOp.UsesDestination)
                    c.WriteGpr((int)Gpr.Rdi, addressSize, di);
                c.WriteGpr((int)Gpr.Rcx, addressSize, count - done);
            }
        }
        if (!terminated && count != done)
        {
            c.NextRip = c.State.Rip;
            c.ResumingInstruction = true;
            c.State.RepeatPausedAt = c.State.InstructionsRetired + 1;
        }
    }

    struct MovsOp : IStringOp
    {
        public static bool UsesSource => true;
        public static bool UsesDestination => true;
        public static bool Compares => false;
        public static bool UsesPorts => false;
        public static void Element(Cpu c, SegmentRegister source, ulong si, ulong di, int size) =>
            c.WriteMemory(SegmentRegister.Es, di, size, c.ReadMemory(source, si, size));
    }

    /// <summary>CMPS compares the source with the destination: flags of [rSI] - [rDI].</summary>
    struct CmpsOp : IStringOp
    {
        public static bool UsesSource => true;
        public static bool UsesDestination => true;
        public static bool Compares => true;
        public static bool UsesPorts => false;
        public static void Element(Cpu c, SegmentRegister source, ulong si, ulong di, int size)
        {
            ulong a = c.ReadMemory(source, si, size);
            ulong b = c.ReadMemory(SegmentRegister.Es, di, size);
            SubOp.Compute(ref c.State, a, b, size);
        }
    }

    /// <summary>SCAS: flags of rAX - [rDI].</summary>
    struct ScasOp : IStringOp
    {
        public static bool UsesSource => false;
        public static bool UsesDestination => true;
        public static bool Compares => true;
        public static bool UsesPorts => false;
        public static void Element(Cpu c, SegmentRegister source, ulong si, ulong di, int size)
        {
            ulong b = c.ReadMemory(SegmentRegister.Es, di, size);
            SubOp.Compute(ref c.State, c.ReadGpr((int)Gpr.Rax, size), b, size);
        }
    }

    /// <summary>LODS: rAX = [rSI] (LODSD zero-extends into RAX, as any 32-bit register write does).</summary>
    struct LodsOp : IStringOp
    {
        public static bool UsesSource => true;
        public static bool UsesDestination => false;
        public static bool Compares => false;
        public static bool UsesPorts => false;
        public static void Element(Cpu c, SegmentRegister source, ulong si, ulong di, int size) =>
            c.WriteGpr((int)Gpr.Rax, size, c.ReadMemory(source, si, size));
    }

    struct StosOp : IStringOp
    {
        public static bool UsesSource => false;
        public static bool UsesDestination => true;
        public static bool Compares => false;
        public static bool UsesPorts => false;
        public static void Element(Cpu c, SegmentRegister source, ulong si, ulong di, int size) =>
            c.WriteMemory(SegmentRegister.Es, di, size, c.ReadGpr((int)Gpr.Rax, size));
    }

    /// <summary>INS: [rDI] = port DX. The destination is checked before the port is read, so a fault does not
    /// consume device data (a port read can have side effects, such as popping a FIFO).</summary>
    struct InsOp : IStringOp
    {
        public static bool UsesSource => false;
        public static bool UsesDestination => true;
        public static bool Compares => false;
        public static bool UsesPorts => true;
        public static void Element(Cpu c, SegmentRegister source, ulong si, ulong di, int size)
        {
            ulong linear = c.Linear(SegmentRegister.Es, di, size, Access.Write);
            c.CheckWritableLinear(linear, size);
            c.WriteLinear(linear, size, c.Bus.In(c.PortDx, size));
        }
    }

    struct OutsOp : IStringOp
    {
        public static bool UsesSource => true;
        public static bool UsesDestination => false;
        public static bool Compares => false;
        public static bool UsesPorts => true;
        public static void Element(Cpu c, SegmentRegister source, ulong si, ulong di, int size) =>
            c.Bus.Out(c.PortDx, size, (uint)c.ReadMemory(source, si, size));
    }
}
