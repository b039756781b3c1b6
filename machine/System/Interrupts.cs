namespace Repl.Machine;

/// <summary>
/// A device that schedules events on the virtual clock (the local APIC timer). While the processor is halted with
/// interrupts enabled, the run loop jumps virtual time to <see cref="NextEventAt"/> and lets the device raise its
/// interrupt, instead of idling through the instructions in between.
/// </summary>
public interface ITimeSource
{
    /// <summary>The retired-instruction count at which the device next acts, or null if it has nothing scheduled.</summary>
    ulong? NextEventAt { get; }

    /// <summary>Virtual time has reached <paramref name="now"/>: act on whatever is due (typically by
    /// calling <see cref="Cpu.RaiseInterrupt"/>).</summary>
    void AdvanceTo(ulong now);
}

/// <summary>
/// Interrupt and exception handling (SDM Vol. 3, chapter 6): delivery through the IA-32e IDT (6.14) with its gate
/// checks, IST and privilege stack switches and the frame; exception classes and the double-fault rules (6.15,
/// Table 6-5); NMI and external interrupts at instruction boundaries, with NMI blocking and the STI and MOV SS
/// shadows (6.7.1, 6.8.3); HLT sleeping until an event can wake it.
/// </summary>
public sealed partial class Cpu
{
    /// <summary>Vectors at which a run stops before delivering the event, with the state as the event left it
    /// (a trap has retired its instruction): the shell's "catch exception". Others are delivered through the IDT.</summary>
    public HashSet<Vector> CatchExceptions { get; } = [];

    /// <summary>The device whose scheduled events wake a halted processor, if any.</summary>
    public ITimeSource? TimeSource { get; set; }

    /// <summary>Called with the vector of each external interrupt as the processor accepts it (the INTA cycle), so
    /// the interrupt controller can move it from requested to in service.</summary>
    public Action<byte>? InterruptAcknowledged { get; set; }

    /// <summary>Set while the processor makes implicit supervisor accesses (descriptor tables, the TSS, the stack
    /// of a delivery to CPL 0-2): paging treats them as supervisor accesses whatever the CPL (SDM Vol. 3, 4.6.1).</summary>
    internal bool ImplicitSupervisorAccess;

    /// <summary>Signals an NMI; it is delivered at the next instruction boundary where NMIs are not blocked.</summary>
    public void InjectNmi()
    {
        State.NmiPending = true;
        EndBlock = true; // a device raising it from within an instruction gets it seen at the next boundary
    }

    /// <summary>Requests external interrupt <paramref name="vector"/>; it is delivered at the first instruction boundary
    /// with RFLAGS.IF set and no interrupt shadow, highest vector first.</summary>
    public void RaiseInterrupt(byte vector)
    {
        State.PendingInterrupts[vector >> 6] |= 1UL << (vector & 63);
        EndBlock = true;
    }

    /// <summary>Sets the one-instruction shadow of STI or MOV SS/POP SS: it covers the boundary after the next
    /// instruction, the instruction that sets it being still unretired. A shadow does not extend another.</summary>
    internal void SetInterruptShadow(bool blocksNmi)
    {
        if (InterruptShadowActive)
            return;
        State.InterruptShadowAt = State.InstructionsRetired + 1;
        State.ShadowBlocksNmi = blocksNmi;
    }

    /// <summary>Whether the current instruction boundary lies in an STI or MOV SS shadow.</summary>
    public bool InterruptShadowActive => State.InterruptShadowAt != 0 && State.InterruptShadowAt == State.InstructionsRetired;

    bool EventsPending
    {
        get
        {
            ref var p = ref State.PendingInterrupts;
            return State.NmiPending || (p[0] | p[1] | p[2] | p[3]) != 0;
        }
    }

    /// <summary>The event to deliver at this boundary, by the priorities of SDM Vol. 3, Table 6-2: an NMI before a
    /// maskable interrupt, which waits for RFLAGS.IF; both wait out a shadow (STI's only for maskable interrupts).</summary>
    bool TryTakeEvent(out CpuFault evt)
    {
        bool shadow = InterruptShadowActive;
        if (State.NmiPending && !State.NmiBlocked && !(shadow && State.ShadowBlocksNmi))
        {
            State.NmiPending = false;
            evt = new CpuFault(Vector.NMI) { Origin = EventSource.Nmi };
            return true;
        }
        if ((State.FlagsStored & (ulong)RflagsBit.IF) != 0 && !shadow)
        {
            for (int word = 3; word >= 0; word--)
            {
                ulong bits = State.PendingInterrupts[word];
                if (bits == 0)
                    continue;
                int bit = 63 - System.Numerics.BitOperations.LeadingZeroCount(bits);
                State.PendingInterrupts[word] = bits & ~(1UL << bit);
                var vector = (byte)(word * 64 + bit);
                InterruptAcknowledged?.Invoke(vector);
                evt = new CpuFault((Vector)vector) { Origin = EventSource.ExternalInterrupt };
                return true;
            }
        }
        evt = null!;
        return false;
    }

    /// <summary>
    /// Work at an instruction boundary when something may be pending or the processor is halted: delivers the event
    /// due, or wakes a halted processor. Returns the stop that ends the run, if any: HLT with nothing that can wake
    /// it (IF clear and no NMI deliverable, or IF set but nothing pending or scheduled) stops the run as Halted,
    /// RIP after the HLT; running again resumes there.
    /// </summary>
    StopReason? AtBoundary(ref ulong budget)
    {
        while (true)
        {
            if (TryTakeEvent(out var evt))
            {
                Halted = false;
                return Deliver(evt, ref budget);
            }
            if (!Halted)
                return null;
            if ((State.FlagsStored & (ulong)RflagsBit.IF) != 0 && TimeSource?.NextEventAt is { } at)
            {
                // Nothing runs while halted, so virtual time can jump to the next scheduled event.
                State.InstructionsRetired = Math.Max(State.InstructionsRetired, at);
                TimeSource.AdvanceTo(State.InstructionsRetired);
                if (EventsPending)
                    continue;
            }
            Halted = false;
            return new StopReason(StopKind.Halted, State.Rip);
        }
    }

    /// <summary>Contributory exceptions (SDM Vol. 3, Table 6-4); #CP joined them with CET.</summary>
    static bool IsContributory(Vector v) => v is Vector.DE or Vector.TS or Vector.NP or Vector.SS or Vector.GP or Vector.CP;

    /// <summary>
    /// Delivers an event, and the exceptions its delivery raises (SDM Vol. 3, 6.15, "Interrupt 8"): a contributory
    /// exception while delivering a contributory one, or a contributory exception or #PF while delivering a #PF,
    /// becomes #DF(0); a contributory exception or #PF while delivering #DF is a triple fault, which stops the run.
    /// Any other exception raised during delivery is delivered in its place. A trap (INT n, INT3, INTO, INT1) pushes
    /// the next instruction's RIP and retires once delivered; an exception raised while delivering it is a fault of
    /// that instruction, which then has not completed. Returns a stop, or null once delivered.
    /// </summary>
    StopReason? Deliver(CpuFault evt, ref ulong budget)
    {
        string? doubleFaultCause = null;
        ulong returnRip = evt.IsTrap ? NextRip : State.Rip;
        while (true)
        {
            if (evt.PageFaultAddress is { } cr2)
                State.Cr2 = cr2; // CR2 is loaded as the #PF is delivered, even if its delivery then fails
            bool longMode = (State.Efer & CpuState.EferLMA) != 0;
            if (CatchExceptions.Contains(evt.Vector) || !longMode)
            {
                if (evt.IsTrap)
                    RetireTrap(ref budget);
                return new StopReason(StopKind.Fault, State.Rip, evt.Vector, evt.ErrorCode, longMode ? FaultDetail()
                    : "delivery through a protected-mode IDT is not implemented: only IA-32e mode delivers events");
            }
            try
            {
                DeliverLongMode(evt, returnRip);
                if (evt.IsTrap)
                {
                    State.InstructionsRetired++;
                    budget--;
                }
                return null;
            }
            catch (CpuFault nested)
            {
                returnRip = State.Rip;
                bool hardware = evt.Origin == EventSource.Exception;
                if (hardware && evt.Vector == Vector.DF && (IsContributory(nested.Vector) || nested.Vector == Vector.PF))
                    return new StopReason(StopKind.TripleFault, State.Rip, nested.Vector, nested.ErrorCode,
                        $"{doubleFaultCause}, then {VectorNames.Mnemonic(nested.Vector)} while delivering #DF");
                if (hardware && IsContributory(nested.Vector) && (IsContributory(evt.Vector) || evt.Vector == Vector.PF)
                    || hardware && evt.Vector == Vector.PF && nested.Vector == Vector.PF)
                {
                    doubleFaultCause = $"{VectorNames.Mnemonic(nested.Vector)} while delivering {VectorNames.Mnemonic(evt.Vector)}";
                    evt = new CpuFault(Vector.DF, 0);
                }
                else
                    evt = nested;
            }
        }
    }

    /// <summary>A trap stopped before delivery: its instruction has completed, so it retires and RIP moves past it.</summary>
    void RetireTrap(ref ulong budget)
    {
        State.Rip = NextRip;
        State.InstructionsRetired++;
        budget--;
    }

    // Offsets in the 64-bit TSS (SDM Vol. 3, Figure 8-11).
    const int TssRsp0 = 4, TssIst1 = 36;

    /// <summary>Reads a stack pointer from the TSS: #TS(TR selector) if it lies beyond the TSS limit.</summary>
    ulong ReadTssStackPointer(int offset, uint ext)
    {
        if ((ulong)offset + 7 > State.Tr.Limit)
            throw new CpuFault(Vector.TS, SelectorErrorCode(State.Tr.Selector, ext));
        return ReadSupervisor(State.Tr.Base + (ulong)offset, 8);
    }

    /// <summary>
    /// Delivers one event through the IA-32e IDT (SDM Vol. 3, 6.14 and the INT n pseudo-code, "IA-32e mode"). Every
    /// check happens before a register changes; a fault on the way leaves the registers as the event found them.
    /// </summary>
    void DeliverLongMode(CpuFault evt, ulong returnRip)
    {
        int vector = (byte)evt.Vector;
        // EXT: the event comes from outside the program (SDM Vol. 3, 6.13); software interrupts clear it.
        uint ext = evt.Origin == EventSource.SoftwareInterrupt ? 0u : 1u;
        uint idtError = (uint)vector * 8 + 2 + ext;
        if ((ulong)vector * 16 + 15 > State.Idtr.Limit)
            throw new CpuFault(Vector.GP, idtError);
        ulong gateAddress = State.Idtr.Base + (ulong)vector * 16;
        ulong low = ReadSupervisor(gateAddress, 8), high = ReadSupervisor(gateAddress + 8, 8);
        int type = (int)(low >> 40) & 0x1F; // S must be clear
        const int InterruptGate = 0xE, TrapGate = 0xF;
        if (type is not (InterruptGate or TrapGate))
            throw new CpuFault(Vector.GP, idtError);
        int cpl = State.Cpl;
        if (evt.Origin == EventSource.SoftwareInterrupt && (int)(low >> 45 & 3) < cpl)
            throw new CpuFault(Vector.GP, idtError);
        if ((low & (1UL << 47)) == 0)
            throw new CpuFault(Vector.NP, idtError);

        var csSelector = (ushort)(low >> 16);
        if (IsNullSelector(csSelector))
            throw new CpuFault(Vector.GP, ext);
        uint csError = SelectorErrorCode(csSelector, ext);
        var cs = FromDescriptor(csSelector, ReadDescriptor(csSelector, ext, out ulong csAddress));
        if (!cs.IsCode || cs.Dpl > cpl)
            throw new CpuFault(Vector.GP, csError);
        if (!cs.Present)
            throw new CpuFault(Vector.NP, csError);
        if (!cs.Long || cs.DefaultBig)
            throw new CpuFault(Vector.GP, csError);
        int newCpl = (cs.Attributes & AttrConforming) != 0 ? cpl : cs.Dpl;

        int ist = (int)(low >> 32) & 7;
        ulong rsp = ist != 0 ? ReadTssStackPointer(TssIst1 + (ist - 1) * 8, ext)
            : newCpl != cpl ? ReadTssStackPointer(TssRsp0 + newCpl * 8, ext)
            : State.Gpr[(int)Gpr.Rsp];
        if (!IsCanonical(rsp))
            throw new CpuFault(Vector.SS, ext);
        rsp &= ~0xFUL; // the frame starts 16-byte aligned (SDM Vol. 3, 6.14.2)
        ulong target = (low & 0xFFFF) | ((low >> 32) & 0xFFFF_0000) | (high << 32);
        if (!IsCanonical(target))
            throw new CpuFault(Vector.GP, ext);

        bool hasErrorCode = evt.Origin == EventSource.Exception && VectorNames.HasErrorCode(evt.Vector);
        ulong rflags = State.Rflags;
        // The image of a fault-class exception has RF set, so that the faulting instruction, returned to, does not
        // raise an instruction breakpoint a second time (SDM Vol. 3, 18.3.1.1); an instruction-breakpoint #DB itself
        // and the aborts push RF as it is.
        bool faultClass = evt.Origin == EventSource.Exception && !evt.IsTrap && evt.Vector is not (Vector.DB or Vector.DF or Vector.MC);
        ulong pushedFlags = faultClass ? rflags | (ulong)RflagsBit.RF : rflags;
        Span<ulong> frame = [State.Segments[(int)SegmentRegister.Ss].Selector, State.Gpr[(int)Gpr.Rsp], pushedFlags,
                             State.Cs.Selector, returnRip, evt.ErrorCode ?? 0];
        if (!hasErrorCode)
            frame = frame[..5];
        ulong frameBase = rsp - (ulong)frame.Length * 8;
        if (!IsCanonical(frameBase))
            throw new CpuFault(Vector.SS, ext);
        for (int k = 0; k < frame.Length; k++)
            WriteStackSlot(rsp - (ulong)(k + 1) * 8, frame[k], newCpl);
        SetAccessed(ref cs, csAddress);

        // Nothing below can fault: the event is delivered.
        if (newCpl != cpl)
            State.Segments[(int)SegmentRegister.Ss] = NullStackSegment((ushort)newCpl);
        cs.Selector = (ushort)((csSelector & ~3) | newCpl);
        // CPL is CS.DPL here, so a conforming segment entered at a lower privilege carries the CPL as its DPL.
        cs.Attributes = (ushort)((cs.Attributes & ~(3 << 5)) | (newCpl << 5));
        State.Segments[(int)SegmentRegister.Cs] = cs;
        State.Gpr[(int)Gpr.Rsp] = frameBase;
        ulong cleared = (ulong)(RflagsBit.TF | RflagsBit.NT | RflagsBit.RF | RflagsBit.VM)
                        | (type == InterruptGate ? (ulong)RflagsBit.IF : 0);
        State.Rflags = rflags & ~cleared;
        State.Rip = target;
        State.InterruptShadowAt = 0;
        if (evt.Origin == EventSource.Nmi)
            State.NmiBlocked = true;
    }

    /// <summary>Writes one 8-byte slot of a delivery frame, as a supervisor access when the handler runs below CPL 3.</summary>
    void WriteStackSlot(ulong linear, ulong value, int newCpl)
    {
        if (newCpl < 3)
            WriteSupervisor(linear, 8, value);
        else
            WriteLinear(linear, 8, value);
    }

    internal ulong ReadSupervisor(ulong linear, int size)
    {
        bool was = ImplicitSupervisorAccess;
        ImplicitSupervisorAccess = true;
        try
        {
            return ReadLinear(linear, size);
        }
        finally
        {
            ImplicitSupervisorAccess = was;
        }
    }

    internal void WriteSupervisor(ulong linear, int size, ulong value)
    {
        bool was = ImplicitSupervisorAccess;
        ImplicitSupervisorAccess = true;
        try
        {
            WriteLinear(linear, size, value);
        }
        finally
        {
            ImplicitSupervisorAccess = was;
        }
    }
}
