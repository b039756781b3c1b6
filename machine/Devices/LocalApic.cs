using System.Numerics;

namespace Repl.Machine;

/// <summary>
/// The processor's local APIC in xAPIC mode (SDM Vol. 3, chapter 11): a 4 KiB register window at the base that
/// IA32_APIC_BASE names, while its global-enable bit is set. Its registers live in <see cref="CpuState"/>, so a
/// snapshot of the processor holds them; this object is the view through which the bus, the run loop and the
/// instructions that touch it (MOV CR8, WRMSR) reach them.
/// <para>Interrupt acceptance (11.8.3-11.8.5): a vector accepted into the IRR is offered to the processor (as a
/// pending external interrupt) only while its priority class exceeds the PPR's; the processor acknowledging it moves
/// it from the IRR to the ISR, which raises the PPR until an EOI clears the highest in-service bit. When the PPR
/// rises above an offered vector before the processor takes it, the offer is withdrawn (hardware would deliver the
/// spurious vector instead; this APIC never needs to).</para>
/// <para>The timer (11.5.4) runs on the virtual clock: one bus clock per retired instruction, divided by the divide
/// configuration. Counting starts once the instruction writing the initial count has retired, so with divide-by-1 an
/// initial count of N interrupts at the boundary N instructions later. Its next interrupt is kept in
/// <see cref="CpuState.ApicTimerDue"/>, which the run loop compares at block boundaries (ending blocks exactly
/// there); a halted processor jumps virtual time, and with it the TSC, to that point (<see cref="ITimeSource"/>).</para>
/// <para>Accesses: each register is the first dword of its 16-byte slot. Reads of any width return the slot's bytes
/// (the register, then zeros); a write takes effect only as a 4- or 8-byte access at the start of a slot (an 8-byte
/// write loads the register with its low dword) and is ignored otherwise, the SDM leaving narrower and misaligned
/// accesses undefined (11.4.1). Reserved offsets read 0 and set ESR's illegal-register-address bit.</para>
/// </summary>
public sealed class LocalApic(Cpu cpu) : IMmioDevice, ITimeSource
{
    /// <summary>The local vector table's entries, in register order from offset 320h (the CMCI entry is not modelled).</summary>
    public enum Lvt { Timer, Thermal, PerformanceCounter, Lint0, Lint1, Error }

    /// <summary>Register offsets in the xAPIC window (SDM Vol. 3, Table 11-1).</summary>
    public const int Id = 0x20, Version = 0x30, Tpr = 0x80, Apr = 0x90, Ppr = 0xA0, Eoi = 0xB0, Rrd = 0xC0,
        Ldr = 0xD0, Dfr = 0xE0, Svr = 0xF0, Isr = 0x100, Tmr = 0x180, Irr = 0x200, Esr = 0x280, IcrLow = 0x300,
        IcrHigh = 0x310, LvtBase = 0x320, TimerInitialCount = 0x380, TimerCurrentCount = 0x390, TimerDivide = 0x3E0;

    public const int WindowSize = 0x1000;

    /// <summary>Version 14h (an integrated xAPIC), maximum LVT entry 5 (six entries), no EOI-broadcast suppression.</summary>
    public const uint VersionValue = 0x0005_0014;

    public const uint LvtMasked = 1 << 16, LvtTimerPeriodic = 1 << 17;
    /// <summary>SVR's APIC software enable (bit 8).</summary>
    public const uint SvrEnable = 1 << 8;

    // ESR bits (SDM Vol. 3, 11.5.3).
    public const uint SendIllegalVector = 1 << 5, ReceiveIllegalVector = 1 << 6, IllegalRegisterAddress = 1 << 7;

    // ICR fields (SDM Vol. 3, 11.6.1).
    const uint IcrWritable = 0xC_CFFF;
    const uint DeliveryFixed = 0, DeliveryLowestPriority = 1, DeliveryNmi = 4;
    const uint ShorthandNone = 0, ShorthandSelf = 1, ShorthandAllIncludingSelf = 2;
    const uint IcrLogical = 1 << 11;

    /// <summary>The bits software can write in each LVT entry: vector and mask everywhere, the timer mode (bit 17; bit
    /// 18, TSC-deadline, is reserved as CPUID does not report it), delivery mode for thermal, performance and LINT,
    /// polarity and trigger mode for LINT. Delivery status and remote IRR read 0.</summary>
    static ReadOnlySpan<uint> LvtWritable => [0x3_00FF, 0x1_07FF, 0x1_07FF, 0x1_A7FF, 0x1_A7FF, 0x1_00FF];

    const ulong NoWindow = ulong.MaxValue;
    ulong _window = NoWindow;

    ref CpuState S => ref cpu.State;

    /// <summary>The register values after reset (SDM Vol. 3, 11.4.7.1): APIC ID 0, DFR all ones, SVR FFh (software
    /// disabled), every LVT entry masked, everything else 0.</summary>
    internal static void Reset(ref CpuState s)
    {
        s.ApicTpr = 0;
        s.ApicId = s.ApicLdr = s.ApicIcrLow = s.ApicIcrHigh = s.ApicEsr = s.ApicErrorsDetected = 0;
        s.ApicDfr = 0xFFFF_FFFF;
        s.ApicSvr = 0xFF;
        for (int i = 0; i < 6; i++)
            s.ApicLvt[i] = LvtMasked;
        s.ApicIrr = s.ApicIsr = s.ApicTmr = default;
        s.ApicOffered = 0;
        s.ApicTimerInitialCount = s.ApicTimerDivide = 0;
        s.ApicTimerStart = s.ApicTimerDue = 0;
    }

    /// <summary>Maps the register window where IA32_APIC_BASE puts it, or removes it while the APIC is globally
    /// disabled. Called after WRMSR and at the start of each run (the state may have been replaced).</summary>
    public void SyncWindow()
    {
        ulong msr = S.ApicBase;
        ulong wanted = (msr & ModelSpecificRegisters.ApicGlobalEnable) != 0 ? msr & ModelSpecificRegisters.ApicBaseWritable & ~0xFFFUL : NoWindow;
        if (wanted == _window)
            return;
        if (_window != NoWindow)
            cpu.Bus.UnmapMmio(this);
        if (wanted != NoWindow)
            cpu.Bus.MapMmio(wanted, WindowSize, this);
        _window = wanted;
    }

    /// <summary>A WRMSR to IA32_APIC_BASE: the window follows the base; clearing the global enable (11.4.3) leaves
    /// the processor as if it had no APIC, which this models by returning the registers to their reset values and
    /// dropping any offered interrupt, so re-enabling finds an APIC as reset left it.</summary>
    internal void ApicBaseWritten()
    {
        if ((S.ApicBase & ModelSpecificRegisters.ApicGlobalEnable) == 0)
        {
            if (S.ApicOffered != 0)
                cpu.WithdrawInterrupt(S.ApicOffered);
            Reset(ref S);
        }
        SyncWindow();
    }

    public ulong Read(ulong offset, int size)
    {
        int within = (int)(offset & 0xF);
        ulong value = within < 4 ? ReadRegister((int)(offset & ~0xFUL)) >> (within * 8) : 0;
        return size == 8 ? value : value & ((1UL << (size * 8)) - 1);
    }

    public void Write(ulong offset, int size, ulong value)
    {
        if ((offset & 0xF) == 0 && size >= 4)
            WriteRegister((int)offset, (uint)value);
    }

    uint ReadRegister(int register)
    {
        ref CpuState s = ref S;
        switch (register)
        {
            case Id: return s.ApicId;
            case Version: return VersionValue;
            case Tpr: return s.ApicTpr;
            case Apr: return ArbitrationPriority();
            case Ppr: return ProcessorPriority();
            case Eoi or Rrd: return 0; // EOI is write-only; remote read is not supported (nothing to read from)
            case Ldr: return s.ApicLdr;
            case Dfr: return s.ApicDfr;
            case Svr: return s.ApicSvr;
            case >= Isr and < Tmr: return Dword(s.ApicIsr, register - Isr);
            case >= Tmr and < Irr: return Dword(s.ApicTmr, register - Tmr);
            case >= Irr and < Esr: return Dword(s.ApicIrr, register - Irr);
            case Esr: return s.ApicEsr;
            case IcrLow: return s.ApicIcrLow;
            case IcrHigh: return s.ApicIcrHigh;
            case >= LvtBase and < TimerInitialCount: return s.ApicLvt[(register - LvtBase) >> 4];
            case TimerInitialCount: return s.ApicTimerInitialCount;
            case TimerCurrentCount: return CurrentCount();
            case TimerDivide: return s.ApicTimerDivide;
            default:
                Error(IllegalRegisterAddress);
                return 0;
        }
    }

    void WriteRegister(int register, uint value)
    {
        ref CpuState s = ref S;
        switch (register)
        {
            case Id: s.ApicId = value & 0xFF00_0000; break;
            case Tpr: s.ApicTpr = (byte)value; UpdateOffer(); break;
            case Eoi: EndOfInterrupt(); break;
            case Ldr: s.ApicLdr = value & 0xFF00_0000; break;
            case Dfr: s.ApicDfr = value | 0x0FFF_FFFF; break;
            case Svr: WriteSpuriousVector(value); break;
            case Esr:
                // A write latches the errors detected since the previous one (11.5.3).
                s.ApicEsr = s.ApicErrorsDetected;
                s.ApicErrorsDetected = 0;
                break;
            case IcrLow: s.ApicIcrLow = value & IcrWritable; SendInterProcessorInterrupt(); break;
            case IcrHigh: s.ApicIcrHigh = value & 0xFF00_0000; break;
            case >= LvtBase and < TimerInitialCount:
                int lvt = (register - LvtBase) >> 4;
                s.ApicLvt[lvt] = (value & LvtWritable[lvt]) | (SoftwareEnabled ? 0 : LvtMasked);
                if (lvt == (int)Lvt.Timer)
                    ScheduleTimer();
                break;
            case TimerInitialCount:
                s.ApicTimerInitialCount = value;
                s.ApicTimerStart = s.InstructionsRetired + 1; // the count starts once this instruction retires
                ScheduleTimer();
                break;
            case TimerDivide: WriteDivideConfiguration(value); break;
            case Version or Apr or Ppr or Rrd or (>= Isr and < Esr) or TimerCurrentCount: break; // read-only
            default: Error(IllegalRegisterAddress); break;
        }
    }

    bool SoftwareEnabled => (S.ApicSvr & SvrEnable) != 0;

    /// <summary>SVR: clearing the software enable masks every LVT entry, and the masks stay set while it is clear
    /// (11.4.7.2). Focus-processor checking (bit 9) and EOI-broadcast suppression (bit 12) are not supported.</summary>
    void WriteSpuriousVector(uint value)
    {
        ref CpuState s = ref S;
        s.ApicSvr = value & 0x1FF;
        if (!SoftwareEnabled)
        {
            for (int i = 0; i < 6; i++)
                s.ApicLvt[i] |= LvtMasked;
            ScheduleTimer();
        }
    }

    /// <summary>The dword of a 256-bit register at <paramref name="offset"/> (0, 10h ... 70h) from its first.</summary>
    static uint Dword(in PendingVectors bits, int offset) => (uint)(bits[offset >> 5] >> ((offset & 0x10) * 2));

    /// <summary>The highest vector set in a 256-bit register, or -1.</summary>
    static int Highest(in PendingVectors bits)
    {
        for (int word = 3; word >= 0; word--)
            if (bits[word] != 0)
                return word * 64 + 63 - BitOperations.LeadingZeroCount(bits[word]);
        return -1;
    }

    /// <summary>PPR (11.8.3.1): the TPR when its class is at least that of the highest in-service vector, else
    /// that vector's class.</summary>
    public byte ProcessorPriority()
    {
        int isrv = Math.Max(Highest(S.ApicIsr), 0);
        return (S.ApicTpr >> 4) >= (isrv >> 4) ? S.ApicTpr : (byte)(isrv & 0xF0);
    }

    /// <summary>APR (11.8.3.1, Figure 11-15's companion): the TPR when its class is at least the highest requested
    /// one's and above the highest in-service one's; else the highest of the three classes.</summary>
    uint ArbitrationPriority()
    {
        int tpr = S.ApicTpr, isrv = Math.Max(Highest(S.ApicIsr), 0), irrv = Math.Max(Highest(S.ApicIrr), 0);
        if ((tpr >> 4) >= (irrv >> 4) && (tpr >> 4) > (isrv >> 4))
            return (uint)tpr;
        return (uint)Math.Max(tpr & 0xF0, Math.Max(isrv & 0xF0, irrv & 0xF0));
    }

    /// <summary>Offers the processor the highest requested vector whose class exceeds the PPR, withdrawing an
    /// earlier offer it replaces. Called whenever the IRR, the ISR or the TPR changes (MOV CR8 included).</summary>
    internal void UpdateOffer()
    {
        ref CpuState s = ref S;
        int irrv = Highest(s.ApicIrr);
        byte offer = irrv >= 0 && (irrv >> 4) > (ProcessorPriority() >> 4) ? (byte)irrv : (byte)0;
        if (offer == s.ApicOffered)
            return;
        if (s.ApicOffered != 0)
            cpu.WithdrawInterrupt(s.ApicOffered);
        s.ApicOffered = offer;
        if (offer != 0)
            cpu.RaiseInterrupt(offer);
    }

    /// <summary>The processor accepted an interrupt (its INTA cycle): if it is the one offered, it goes from the IRR
    /// to the ISR (11.8.4). Vectors the host raised directly, outside the APIC, are not the APIC's business.</summary>
    public void Acknowledge(byte vector)
    {
        ref CpuState s = ref S;
        if (vector != s.ApicOffered || vector == 0)
            return;
        s.ApicOffered = 0;
        s.ApicIrr[vector >> 6] &= ~(1UL << (vector & 63));
        s.ApicIsr[vector >> 6] |= 1UL << (vector & 63);
        UpdateOffer();
    }

    /// <summary>EOI (11.8.5): the highest in-service vector is done, which may let a requested one through.</summary>
    void EndOfInterrupt()
    {
        ref CpuState s = ref S;
        int isrv = Highest(s.ApicIsr);
        if (isrv < 0)
            return;
        s.ApicIsr[isrv >> 6] &= ~(1UL << (isrv & 63));
        UpdateOffer();
    }

    /// <summary>Accepts an edge-triggered fixed interrupt into the IRR; vectors 0-15 are illegal (11.5.3).</summary>
    void Accept(uint vector)
    {
        if (vector < 16)
        {
            Error(ReceiveIllegalVector);
            return;
        }
        ref CpuState s = ref S;
        s.ApicIrr[(int)(vector >> 6)] |= 1UL << (int)(vector & 63);
        s.ApicTmr[(int)(vector >> 6)] &= ~(1UL << (int)(vector & 63));
        UpdateOffer();
    }

    /// <summary>Records an error for the next ESR latch and signals it through the error LVT entry, once per kind
    /// until latched (which also stops an illegal vector in the error entry itself from signalling forever).</summary>
    void Error(uint bit)
    {
        ref CpuState s = ref S;
        if ((s.ApicErrorsDetected & bit) != 0)
            return;
        s.ApicErrorsDetected |= bit;
        SignalLvt(Lvt.Error);
    }

    /// <summary>A local interrupt source fires: its vector, fixed delivery, unless the entry is masked.</summary>
    void SignalLvt(Lvt source)
    {
        uint entry = S.ApicLvt[(int)source];
        if ((entry & LvtMasked) == 0)
            Accept(entry & 0xFF);
    }

    /// <summary>
    /// A write of ICR's low dword sends an IPI (11.6.1), which completes at once (delivery status reads idle). With no
    /// other processor, only the destinations naming this one matter: the self and all-including-self shorthands, or
    /// no shorthand with a destination that matches (physical: this APIC ID or FFh; logical: the LDR through the
    /// DFR's flat or cluster model, or FFh). Fixed and lowest-priority IPIs request their vector; NMI injects an NMI
    /// (the SDM lists NMI with the self shorthand as invalid; QEMU delivers it, and so does this APIC). SMI, INIT and
    /// start-up IPIs are not modelled and are dropped.
    /// </summary>
    void SendInterProcessorInterrupt()
    {
        uint icr = S.ApicIcrLow;
        uint shorthand = (icr >> 18) & 3;
        bool toSelf = shorthand is ShorthandSelf or ShorthandAllIncludingSelf || shorthand == ShorthandNone && DestinationIsSelf();
        if (!toSelf)
            return;
        uint vector = icr & 0xFF;
        switch ((icr >> 8) & 7)
        {
            case DeliveryFixed or DeliveryLowestPriority:
                if (vector < 16)
                    Error(SendIllegalVector);
                Accept(vector);
                break;
            case DeliveryNmi:
                cpu.InjectNmi();
                break;
        }
    }

    bool DestinationIsSelf()
    {
        uint destination = S.ApicIcrHigh >> 24;
        if (destination == 0xFF)
            return true;
        if ((S.ApicIcrLow & IcrLogical) == 0)
            return destination == S.ApicId >> 24;
        uint ldr = S.ApicLdr >> 24;
        bool flat = (S.ApicDfr >> 28) == 0xF;
        return flat ? (destination & ldr) != 0 : (destination >> 4) == (ldr >> 4) && (destination & ldr & 0xF) != 0;
    }

    // The timer (SDM Vol. 3, 11.5.4).

    /// <summary>The divide configuration's divisor: bits 3, 1:0 encode 2, 4, ... 128, with 111b dividing by 1.</summary>
    static uint Divisor(uint divide)
    {
        int code = (int)((divide & 3) | ((divide >> 1) & 4));
        return code == 7 ? 1u : 2u << code;
    }

    /// <summary>The current count at virtual time now: counting down one per timer tick from the initial count;
    /// a one-shot timer stays at 0, a periodic one reloads.</summary>
    uint CurrentCount()
    {
        ref CpuState s = ref S;
        uint initial = s.ApicTimerInitialCount;
        if (initial == 0)
            return 0;
        ulong elapsed = s.InstructionsRetired > s.ApicTimerStart ? s.InstructionsRetired - s.ApicTimerStart : 0;
        ulong ticks = elapsed / Divisor(s.ApicTimerDivide);
        if ((s.ApicLvt[(int)Lvt.Timer] & LvtTimerPeriodic) != 0)
            return initial - (uint)(ticks % initial);
        return ticks >= initial ? 0 : initial - (uint)ticks;
    }

    /// <summary>A new divisor applies from the current count on: the count continues from where it stands.</summary>
    void WriteDivideConfiguration(uint value)
    {
        ref CpuState s = ref S;
        uint current = CurrentCount();
        s.ApicTimerDivide = value & 0xB;
        ulong counted = (ulong)(s.ApicTimerInitialCount - current) * Divisor(s.ApicTimerDivide);
        s.ApicTimerStart = counted <= s.InstructionsRetired ? s.InstructionsRetired - counted : 0;
        ScheduleTimer();
    }

    /// <summary>Sets <see cref="CpuState.ApicTimerDue"/> to the first expiry after now that raises an interrupt (the
    /// timer counting, its LVT entry unmasked), or 0. An expiry at a masked entry interrupts nobody, so a halted
    /// processor does not wait for it.</summary>
    void ScheduleTimer()
    {
        ref CpuState s = ref S;
        s.ApicTimerDue = 0;
        uint entry = s.ApicLvt[(int)Lvt.Timer];
        if (s.ApicTimerInitialCount == 0 || (entry & LvtMasked) != 0)
            return;
        ulong now = s.InstructionsRetired;
        ulong period = (ulong)s.ApicTimerInitialCount * Divisor(s.ApicTimerDivide);
        ulong next = s.ApicTimerStart + period;
        if ((entry & LvtTimerPeriodic) != 0 && next <= now)
            next += ((now - next) / period + 1) * period;
        if (next > now)
        {
            s.ApicTimerDue = next;
            cpu.EndBlock = true; // the run loop sizes its next block by the new due time
        }
    }

    /// <summary>The next timer interrupt, for a halted processor to wait for; none while the timer's vector is still
    /// requested, since a further expiry would change nothing (it would be lost, as on hardware) and waiting for it
    /// would spin through virtual time forever.</summary>
    public ulong? NextEventAt
    {
        get
        {
            ref CpuState s = ref S;
            int vector = (int)(s.ApicLvt[(int)Lvt.Timer] & 0xFF);
            bool requested = (s.ApicIrr[vector >> 6] & (1UL << (vector & 63))) != 0;
            return s.ApicTimerDue == 0 || requested ? null : s.ApicTimerDue;
        }
    }

    /// <summary>Virtual time reached <paramref name="now"/>: a due timer interrupt is requested and the next one
    /// scheduled.</summary>
    public void AdvanceTo(ulong now)
    {
        ulong due = S.ApicTimerDue;
        if (due == 0 || now < due)
            return;
        SignalLvt(Lvt.Timer);
        ScheduleTimer();
    }
}
