using Iced.Intel;
using IcedRegister = Iced.Intel.Register;

namespace Repl.Machine;

/// <summary>Debug-register bits (SDM Vol. 3, 18.2) and CR4.DE.</summary>
public partial struct CpuState
{
    public const ulong Cr4DE = 1 << 3;
    /// <summary>DR6 B0 (B1-B3 follow), BD (a MOV DR under DR7.GD), BS (single step).</summary>
    public const ulong Dr6B0 = 1 << 0, Dr6BD = 1 << 13, Dr6BS = 1 << 14;
    /// <summary>DR7.GD: general detect, which makes any MOV DR raise #DB.</summary>
    public const ulong Dr7GD = 1 << 13;
}

/// <summary>
/// Debug registers and debug exceptions (SDM Vol. 3, 18.2 and 18.3): MOV to and from DR0-DR7 with DR7.GD, the
/// DR4/DR5 aliases, and #DB for instruction breakpoints (faults, suppressed by RFLAGS.RF), data and I/O breakpoints
/// and single steps (traps, reported together at the next instruction boundary, held over a MOV SS/POP SS shadow).
/// The run loop watches each instruction (<see cref="ExecuteWatched"/>) only while RFLAGS.TF or RF is set or DR7
/// enables a breakpoint, so none of this costs anything otherwise. DR6.B0-B3 report only enabled breakpoints (SDM 18.2.3 lets a processor report
/// disabled ones or not); they and BS accumulate until software clears them, as DR6 is never cleared by hardware.
/// Not modelled: DR7.LE/GE (breakpoints are always exact here), DR6.BT (task switches), breakpoints hit by the accesses
/// of an event delivery itself (INT n's included), and the RTM and bus-lock bits (DR6 bits 16 and 11 read as 1). An
/// instruction breakpoint on the instruction after a MOV SS is checked as on any other.
/// </summary>
public sealed unsafe partial class Cpu
{
    /// <summary>DR6 bits 4-11 and 16-31 read as 1, bit 12 as 0; software writes B0-B3, BD, BS and BT.</summary>
    const ulong Dr6Fixed = 0xFFFF_0FF0, Dr6Writable = 0xE00F;
    /// <summary>DR7 bit 10 reads as 1, bits 11, 12, 14 and 15 as 0; the enables, GD and the R/W and LEN fields are written.</summary>
    const ulong Dr7Fixed = 1 << 10, Dr7Writable = 0xFFFF_23FF;
    /// <summary>L0, G0 ... L3, G3: whether DR7 enables any breakpoint.</summary>
    const ulong Dr7Enables = 0xFF;

    // Which DR7 R/Wn values (SDM Vol. 3, 18.2.4) an access matches, one bit per value: 00 instruction
    // execution, 01 data writes, 10 I/O reads or writes (with CR4.DE), 11 data reads or writes.
    const int ExecuteKinds = 1 << 0, WriteKinds = 1 << 1 | 1 << 3, IoKinds = 1 << 2, ReadKinds = 1 << 3;

    /// <summary>Data and I/O breakpoints the current instruction has hit (DR6 B0-B3 bits): traps, reported once the
    /// instruction completes, forgotten if it faults.</summary>
    ulong _breakpointHits;

    static delegate*<Cpu, ref Decoded, void> SelectDebug(in Instruction i) => i.Mnemonic switch
    {
        Mnemonic.Mov when i.Op0Kind == OpKind.Register && i.Op0Register.IsDR() => &MovToDr,
        Mnemonic.Mov when i.Op1Kind == OpKind.Register && i.Op1Register.IsDR() => &MovFromDr,
        _ => null,
    };

    /// <summary>
    /// The checks of MOV DR (SDM Vol. 2, MOV—Move to/from Debug Registers), returning the register's index in
    /// <see cref="CpuState.Dr"/>: DR8-DR15 do not exist and DR4/DR5 are #UD with CR4.DE set, aliases of DR6/DR7
    /// without it; above CPL 0, #GP(0); with DR7.GD set, a #DB fault with DR6.BD set and GD cleared, so the handler
    /// can itself use the debug registers (18.2.4).
    /// </summary>
    int DebugRegisterAccess(IcedRegister register)
    {
        int n = register - IcedRegister.DR0;
        if (n > 7 || (n is 4 or 5 && (State.Cr4 & CpuState.Cr4DE) != 0))
            throw new CpuFault(Vector.UD);
        RequireCpl0();
        if ((State.Dr[7] & CpuState.Dr7GD) != 0)
        {
            State.Dr[6] |= CpuState.Dr6BD;
            State.Dr[7] &= ~CpuState.Dr7GD;
            throw new CpuFault(Vector.DB);
        }
        return n is 4 or 5 ? n + 2 : n;
    }

    /// <summary>MOV r, DRn: the whole register in 64-bit mode, its low 32 bits elsewhere; DR6 and DR7 with their fixed bits.</summary>
    static void MovFromDr(Cpu c, ref Decoded d)
    {
        int n = c.DebugRegisterAccess(d.Instruction.Op1Register);
        ulong value = n switch { 6 => c.State.Dr[6] | Dr6Fixed, 7 => c.State.Dr[7] | Dr7Fixed, _ => c.State.Dr[n] };
        c.WriteGpr(d.Ops[0].Reg, d.Ops[0].Size, value);
    }

    /// <summary>MOV DRn, r. In 64-bit mode a 1 in bits 63:32 of DR6 or DR7 is #GP(0); their other reserved bits keep
    /// their fixed values. DR0-DR3 take any address (a non-canonical one simply never matches).</summary>
    static void MovToDr(Cpu c, ref Decoded d)
    {
        int n = c.DebugRegisterAccess(d.Instruction.Op0Register);
        ulong value = c.ReadGpr(d.Ops[1].Reg, d.Ops[1].Size);
        if (n >= 6 && (value >> 32) != 0)
            throw new CpuFault(Vector.GP, 0);
        c.State.Dr[n] = n switch
        {
            6 => (value & Dr6Writable) | Dr6Fixed,
            7 => (value & Dr7Writable) | Dr7Fixed,
            _ => value,
        };
        c.EndBlock = true; // DR7 decides whether the run loop watches each instruction
    }

    /// <summary>Whether the run loop must watch each instruction: single-stepping, RF to clear, or breakpoints enabled.</summary>
    bool DebugFeaturesActive =>
        ((State.FlagsStored & (ulong)(RflagsBit.TF | RflagsBit.RF)) | (State.Dr[7] & Dr7Enables)) != 0;

    /// <summary>
    /// The DR6 B0-B3 bits of the enabled breakpoints that an access of <paramref name="size"/> bytes at
    /// <paramref name="address"/> (linear, or an I/O port) matches: same kind, and any byte in common with the
    /// breakpoint's range, whose address DR7.LENn (1, 2, 8 or 4 bytes) aligns down (SDM Vol. 3, 18.2.5).
    /// </summary>
    ulong BreakpointHits(ulong address, int size, int kinds)
    {
        ulong dr7 = State.Dr[7], hits = 0;
        for (int n = 0; n < 4; n++)
        {
            if ((dr7 >> (2 * n) & 3) == 0 || (kinds >> (int)(dr7 >> (16 + 4 * n) & 3) & 1) == 0)
                continue;
            ulong length = (dr7 >> (18 + 4 * n) & 3) switch { 0 => 1UL, 1 => 2UL, 2 => 8UL, _ => 4UL };
            ulong start = State.Dr[n] & ~(length - 1);
            if (address - start < length || start - address < (ulong)size)
                hits |= CpuState.Dr6B0 << n;
        }
        return hits;
    }

    /// <summary>Records the data breakpoints a memory access hits; called for every access while DR7 enables any.</summary>
    void DataBreakpointCheck(ulong linear, int size, bool write) =>
        _breakpointHits |= BreakpointHits(linear, size, write ? WriteKinds : ReadKinds);

    /// <summary>I/O breakpoints (R/Wn = 10) exist only with CR4.DE set; elsewhere that encoding is undefined and never matches.</summary>
    internal void IoBreakpointCheck(ushort port, int size)
    {
        if ((State.Dr[7] & Dr7Enables) != 0 && (State.Cr4 & CpuState.Cr4DE) != 0)
            _breakpointHits |= BreakpointHits(port, size, IoKinds);
    }

    /// <summary>
    /// Runs the first instruction of <paramref name="block"/> as the run loop does (Cpu.Execute), between the debug checks
    /// before and after it. Returns a stop, or null to go on.
    /// </summary>
    StopReason? ExecuteWatched(Block block, ref ulong budget)
    {
        if (budget == 0) // a halted processor woken by an event with the budget spent
            return new StopReason(StopKind.InstructionBudget, State.Rip);
        if (Breakpoints.Count != 0 && !ResumingInstruction && Breakpoints.Contains(State.Rip))
            return new StopReason(StopKind.Breakpoint, State.Rip);
        ulong flagsAtStart = BeginWatchedInstruction();
        ResumingInstruction = false;
        ref Decoded d = ref block.Ops[0];
        NextRip = (State.Rip + d.Length) & block.IpMask;
        d.Execute(this, ref d);
        State.Rip = NextRip;
        State.InstructionsRetired++;
        budget--;
        EndWatchedInstruction(ref d, flagsAtStart);
        EndBlock = false;
        if (_deviceStop is not { } deviceStop)
            return null;
        _deviceStop = null;
        return deviceStop with { Rip = State.Rip };
    }

    /// <summary>
    /// Before a watched instruction: an enabled instruction breakpoint at its first byte (CS base + RIP) is a #DB fault,
    /// RIP on the instruction and RF clear in its frame, unless RFLAGS.RF is set (18.3.1.1) or the instruction is a REP
    /// string instruction resuming between iterations, which is not a new instruction. Returns RFLAGS as the
    /// instruction starts.
    /// </summary>
    ulong BeginWatchedInstruction()
    {
        _breakpointHits = 0;
        ulong flags = State.FlagsStored;
        bool resumingRepeat = State.RepeatPausedAt != 0 && State.RepeatPausedAt == State.InstructionsRetired;
        if ((State.Dr[7] & Dr7Enables) != 0 && (flags & (ulong)RflagsBit.RF) == 0 && !resumingRepeat)
        {
            ulong linear = State.Is64BitMode ? State.Rip : (State.Cs.Base + State.Rip) & 0xFFFF_FFFF;
            ulong hits = BreakpointHits(linear, 1, ExecuteKinds);
            if (hits != 0)
            {
                State.Dr[6] |= hits;
                throw new CpuFault(Vector.DB) { DebugCondition = true };
            }
        }
        // RF is cleared as the instruction starts, past the instruction-breakpoint check (18.3.1.1): a fault of the
        // instruction pushes it set anyway, a software interrupt pushes it clear, and IRET may load it again.
        State.FlagsStored &= ~(ulong)RflagsBit.RF;
        return flags;
    }

    /// <summary>
    /// After a watched instruction completed: its data and I/O breakpoint hits, and a single step if TF was set as it
    /// began (so POPF or IRET setting TF traps only after the next instruction, and one clearing TF still traps,
    /// 18.3.1.4), become pending #DB traps. Instructions that end by delivering an event (INT n, INT3, INTO, INT1) do not come here:
    /// the delivery clears TF, so a single step does not enter the handler. SYSCALL is the exception to the rule: its
    /// single step follows the RFLAGS it leaves, so an IA32_FMASK that clears TF keeps the #DB out of the kernel entry
    /// (the behaviour Xen's XSA-204 fix relies on); SYSENTER, which clears nothing, traps at the entry point.
    /// </summary>
    void EndWatchedInstruction(ref Decoded d, ulong flagsAtStart)
    {
        ulong stepped = d.Instruction.Mnemonic == Mnemonic.Syscall ? State.FlagsStored : flagsAtStart;
        ulong traps = _breakpointHits | ((stepped & (ulong)RflagsBit.TF) != 0 ? CpuState.Dr6BS : 0);
        State.PendingDebugTraps |= traps;
    }

    /// <summary>The #DB that reports the pending traps: their DR6 bits are set as it is taken (SDM Vol. 3, 18.2.3).</summary>
    CpuFault TakeDebugTraps()
    {
        State.Dr[6] |= State.PendingDebugTraps;
        State.PendingDebugTraps = 0;
        return new CpuFault(Vector.DB) { DebugCondition = true };
    }
}
