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
/// Interrupt and exception handling (SDM Vol. 3, chapter 6): delivery through the IA-32e IDT (6.14) and the
/// protected-mode IDT (6.12) with their gate checks, IST and privilege stack switches and frames; exception classes and the double-fault rules (6.15,
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

    /// <summary>The processor's local APIC, when the machine has one (Devices/LocalApic.cs): MOV CR8 and WRMSR to
    /// IA32_APIC_BASE reach it through here.</summary>
    public LocalApic? Apic { get; set; }

    /// <summary>Called with the vector of each external interrupt as the processor accepts it (the INTA cycle), so
    /// the interrupt controller can move it from requested to in service.</summary>
    public Action<byte>? InterruptAcknowledged { get; set; }

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

    /// <summary>Withdraws a request for external interrupt <paramref name="vector"/> not yet delivered (the local APIC
    /// does so when its priority rises above an interrupt it offered).</summary>
    public void WithdrawInterrupt(byte vector) => State.PendingInterrupts[vector >> 6] &= ~(1UL << (vector & 63));

    /// <summary>Sets the shadow of STI or MOV SS/POP SS over the boundary that follows the instruction setting it (which
    /// has not retired yet), so that the next instruction runs before any event. A shadow does not extend another.</summary>
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
            return State.NmiPending || (p[0] | p[1] | p[2] | p[3] | State.PendingDebugTraps) != 0;
        }
    }

    /// <summary>The event to deliver at this boundary, by the priorities of SDM Vol. 3, Table 6-2: the previous
    /// instruction's #DB traps, then an NMI, then a maskable interrupt, which waits for RFLAGS.IF; all wait out a MOV SS
    /// shadow, and an STI shadow holds off maskable interrupts only (6.8.3).</summary>
    bool TryTakeEvent(out CpuFault evt)
    {
        bool shadow = InterruptShadowActive;
        if (State.PendingDebugTraps != 0 && !(shadow && State.ShadowBlocksNmi))
        {
            evt = TakeDebugTraps();
            return true;
        }
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
    /// Work at an instruction boundary when something may be pending or the processor is halted: delivers the events
    /// due, one on top of the other before any handler instruction runs, or wakes a halted processor. While halted with IF set, virtual time jumps from one event of the
    /// <see cref="TimeSource"/> to the next (nothing runs meanwhile) until one makes an event deliverable, or a stop
    /// is requested (the processor stays halted). HLT with nothing that can wake it (IF clear and no NMI
    /// deliverable, or IF set and nothing scheduled) stops the run as Halted, RIP after the HLT; running again
    /// resumes there. Returns the stop that ends the run, if any.
    /// </summary>
    StopReason? AtBoundary(ref ulong budget)
    {
        ulong? jumpedTo = null;
        while (true)
        {
            if (TryTakeEvent(out var evt))
            {
                // Events are looked at again before the handler's first instruction: an interrupt pending alongside
                // a single-step #DB is delivered on top of it (SDM Vol. 3, 18.3.1.4).
                Halted = false;
                if (Deliver(evt, ref budget) is { } stop)
                    return stop;
                continue;
            }
            if (!Halted)
                return null;
            if (StopRequested)
                return StopOnRequest();
            if ((State.FlagsStored & (ulong)RflagsBit.IF) != 0 && TimeSource?.NextEventAt is { } at && at != jumpedTo)
            {
                jumpedTo = at;
                State.InstructionsRetired = Math.Max(State.InstructionsRetired, at);
                TimeSource.AdvanceTo(State.InstructionsRetired);
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
        var from = ContextIfListened(State.Rip);
        for (int attempt = 0; ; attempt++)
        {
            // Benign exceptions raised by a delivery are delivered in turn, and one can keep raising itself (an #AC
            // pushing a misaligned frame at CPL 3): the run stops rather than loop in the host.
            if (attempt == MaxSerialDeliveries)
                return new StopReason(StopKind.Fault, State.Rip, evt.Vector, evt.ErrorCode,
                    $"the delivery of {VectorNames.Mnemonic(evt.Vector)} keeps raising exceptions");
            if (evt.PageFaultAddress is { } cr2)
                State.Cr2 = cr2; // CR2 is loaded as the #PF is delivered, even if its delivery then fails
            bool protectedMode = (State.Cr0 & CpuState.Cr0PE) != 0;
            if (CatchExceptions.Contains(evt.Vector) || !protectedMode)
            {
                if (evt.IsTrap)
                    RetireTrap(ref budget);
                return new StopReason(StopKind.Fault, State.Rip, evt.Vector, evt.ErrorCode, protectedMode ? FaultDetail()
                    : "delivery through the real-mode interrupt vector table is not implemented");
            }
            try
            {
                if ((State.Efer & CpuState.EferLMA) != 0)
                    DeliverLongMode(evt, returnRip);
                else
                    DeliverProtectedMode(evt, returnRip);
                Sink?.Delivered(evt, from, returnRip);
                if (evt.IsTrap)
                {
                    State.InstructionsRetired++;
                    budget--;
                }
                return TakeDeviceStop();
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

    const int MaxSerialDeliveries = 16;

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
        return ReadImplicitSupervisor(State.Tr.Base + (ulong)offset, 8);
    }

    // Gate types (SDM Vol. 3, Table 3-2): 16- and 32-bit gates in a protected-mode IDT, 64-bit ones in IA-32e mode.
    const int InterruptGate16 = 0x6, TrapGate16 = 0x7, InterruptGate = 0xE, TrapGate = 0xF;

    /// <summary>EXT for the error codes of exceptions raised while delivering <paramref name="evt"/> (SDM Vol. 3, 6.13):
    /// set unless the event is a software interrupt.</summary>
    static uint ExtBit(CpuFault evt) => evt.Origin == EventSource.SoftwareInterrupt ? 0u : 1u;

    /// <summary>
    /// Reads and checks the IDT gate of a vector (SDM Vol. 3, 6.12.1.1 and 6.14.1): within the IDT limit, an interrupt
    /// or trap gate of the mode's kind, DPL at least CPL for a software interrupt, present. Faults carry the IDT
    /// error code, vector*8+2 (+EXT). Task gates are not modelled and are refused like an invalid type.
    /// </summary>
    ulong ReadGate(CpuFault evt, int gateSize, out ulong high)
    {
        int vector = (byte)evt.Vector;
        uint idtError = (uint)vector * 8 + 2 + ExtBit(evt);
        if ((ulong)vector * (ulong)gateSize + (ulong)gateSize - 1 > State.Idtr.Limit)
            throw new CpuFault(Vector.GP, idtError);
        ulong gateAddress = State.Idtr.Base + (ulong)vector * (ulong)gateSize;
        ulong low = ReadImplicitSupervisor(gateAddress, 8);
        high = gateSize == 16 ? ReadImplicitSupervisor(gateAddress + 8, 8) : 0;
        int type = (int)(low >> 40) & 0x1F; // S must be clear
        bool valid = gateSize == 16 ? type is InterruptGate or TrapGate : type is InterruptGate16 or TrapGate16 or InterruptGate or TrapGate;
        if (!valid)
            throw new CpuFault(Vector.GP, idtError);
        if (evt.Origin == EventSource.SoftwareInterrupt && (int)(low >> 45 & 3) < State.Cpl)
            throw new CpuFault(Vector.GP, idtError);
        if ((low & (1UL << 47)) == 0)
            throw new CpuFault(Vector.NP, idtError);
        return low;
    }

    /// <summary>Checks the code segment a gate names: not null (#GP(EXT)), code with DPL &lt;= CPL (#GP(selector+EXT)),
    /// present (#NP(selector+EXT)), and in IA-32e mode 64-bit code. Returns the CPL the handler runs at.</summary>
    SegmentCache HandlerCodeSegment(ushort selector, uint ext, out ulong address, out int newCpl)
    {
        if (IsNullSelector(selector))
            throw new CpuFault(Vector.GP, ext);
        uint error = SelectorErrorCode(selector, ext);
        var cs = FromDescriptor(selector, ReadDescriptor(selector, ext, out address));
        if (!cs.IsCode || cs.Dpl > State.Cpl)
            throw new CpuFault(Vector.GP, error);
        if (!cs.Present)
            throw new CpuFault(Vector.NP, error);
        if ((State.Efer & CpuState.EferLMA) != 0 && (!cs.Long || cs.DefaultBig))
            throw new CpuFault(Vector.GP, error);
        newCpl = (cs.Attributes & AttrConforming) != 0 ? State.Cpl : cs.Dpl;
        return cs;
    }

    /// <summary>The RFLAGS image a delivery pushes (SDM Vol. 3, 18.3.1.1). A fault-class exception's has RF set, so that
    /// the faulting instruction, returned to, does not raise an instruction breakpoint a second time (a general-detect
    /// #DB is one), and so does an interrupt's or a #DB trap's taken between two iterations of a REP string instruction;
    /// an instruction-breakpoint #DB itself, the aborts, traps and other interrupts push RF as it is.</summary>
    ulong PushedFlags(CpuFault evt)
    {
        bool faultClass = evt.Origin == EventSource.Exception && !evt.IsTrap && !evt.DebugCondition && evt.Vector is not (Vector.DF or Vector.MC);
        bool midRepeat = (evt.Origin is EventSource.ExternalInterrupt or EventSource.Nmi || evt.DebugCondition)
                         && State.RepeatPausedAt != 0 && State.RepeatPausedAt == State.InstructionsRetired;
        return faultClass || midRepeat ? State.Rflags | (ulong)RflagsBit.RF : State.Rflags;
    }

    /// <summary>The frame of a delivery, from the first slot pushed: SS, RSP (when they are pushed), RFLAGS, CS, RIP, and
    /// the error code of an exception that has one.</summary>
    Span<ulong> EventFrame(Span<ulong> frame, CpuFault evt, ulong returnRip, bool pushesStack)
    {
        frame[0] = State.Segments[(int)SegmentRegister.Ss].Selector;
        frame[1] = State.Gpr[(int)Gpr.Rsp];
        frame[2] = PushedFlags(evt);
        frame[3] = State.Cs.Selector;
        frame[4] = returnRip;
        frame[5] = evt.ErrorCode ?? 0;
        bool hasErrorCode = evt.Origin == EventSource.Exception && VectorNames.HasErrorCode(evt.Vector);
        return frame[(pushesStack ? 0 : 2)..(hasErrorCode ? 6 : 5)];
    }

    /// <summary>The last step of a delivery, once nothing can fault: CS:RIP to the handler at its CPL, RFLAGS with TF,
    /// NT, RF, VM cleared and IF too through an interrupt gate, the shadow ended, NMIs blocked after an NMI.</summary>
    void EnterHandler(SegmentCache cs, int newCpl, ulong target, int gateType, CpuFault evt)
    {
        cs.Selector = (ushort)((cs.Selector & ~3) | newCpl);
        // CPL is CS.DPL here, so a conforming segment entered at a lower privilege carries the CPL as its DPL.
        cs.Attributes = (ushort)((cs.Attributes & ~(3 << 5)) | (newCpl << 5));
        State.Segments[(int)SegmentRegister.Cs] = cs;
        ulong cleared = (ulong)(RflagsBit.TF | RflagsBit.NT | RflagsBit.RF | RflagsBit.VM)
                        | (gateType is InterruptGate or InterruptGate16 ? (ulong)RflagsBit.IF : 0);
        State.Rflags &= ~cleared;
        State.Rip = target;
        State.InterruptShadowAt = 0;
        if (evt.Origin == EventSource.Nmi)
            State.NmiBlocked = true;
    }

    /// <summary>
    /// Delivers one event through the IA-32e IDT (SDM Vol. 3, 6.14 and the INT n pseudo-code, "IA-32e mode"): the
    /// stack is the gate's IST stack, else RSPn of the TSS on a privilege change, else the current one; it is
    /// aligned to 16 bytes and receives SS, RSP, RFLAGS, CS, RIP and any error code in 8-byte slots. Every check
    /// happens before a register changes; a fault on the way leaves the registers as the event found them.
    /// </summary>
    void DeliverLongMode(CpuFault evt, ulong returnRip)
    {
        uint ext = ExtBit(evt);
        ulong low = ReadGate(evt, 16, out ulong high);
        int cpl = State.Cpl;
        var cs = HandlerCodeSegment((ushort)(low >> 16), ext, out ulong csAddress, out int newCpl);
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

        var frame = EventFrame(stackalloc ulong[6], evt, returnRip, pushesStack: true);
        ulong frameBase = rsp - (ulong)frame.Length * 8;
        if (!IsCanonical(frameBase))
            throw new CpuFault(Vector.SS, ext);
        for (int k = 0; k < frame.Length; k++)
            WriteStackSlot(rsp - (ulong)(k + 1) * 8, 8, frame[k], newCpl);
        SetAccessed(ref cs, csAddress);

        // Nothing below can fault: the event is delivered.
        if (newCpl != cpl)
            State.Segments[(int)SegmentRegister.Ss] = NullStackSegment((ushort)newCpl);
        State.Gpr[(int)Gpr.Rsp] = frameBase;
        EnterHandler(cs, newCpl, target, (int)(low >> 40) & 0x1F, evt);
    }

    /// <summary>
    /// Delivers one event through a protected-mode IDT of 8-byte gates (SDM Vol. 3, 6.12 and the INT n pseudo-code,
    /// "PROTECTED-MODE"): a handler at a more privileged level gets SSn:ESPn from the TSS (#TS for a bad SS) and a
    /// frame with SS and ESP; one at the same level gets RFLAGS, CS, EIP and any error code on the current stack.
    /// Slots are 4 bytes through a 32-bit gate, 2 through a 16-bit one. Virtual-8086 mode is not modelled.
    /// </summary>
    void DeliverProtectedMode(CpuFault evt, ulong returnRip)
    {
        uint ext = ExtBit(evt);
        ulong low = ReadGate(evt, 8, out _);
        int type = (int)(low >> 40) & 0x1F;
        int slot = type is InterruptGate or TrapGate ? 4 : 2;
        int cpl = State.Cpl;
        var cs = HandlerCodeSegment((ushort)(low >> 16), ext, out ulong csAddress, out int newCpl);
        ulong target = ((low & 0xFFFF) | ((low >> 32) & 0xFFFF_0000)) & SizeMask(slot);
        if (target > cs.Limit)
            throw new CpuFault(Vector.GP, ext);

        bool switchesStack = newCpl < cpl;
        ulong esp = State.Gpr[(int)Gpr.Rsp];
        SegmentCache stack = switchesStack ? InnerStack(newCpl, ext, out esp) : State.Segments[(int)SegmentRegister.Ss];
        var frame = EventFrame(stackalloc ulong[6], evt, returnRip, switchesStack);
        ulong mask = stack.DefaultBig ? 0xFFFF_FFFF : 0xFFFF;
        Span<ulong> linear = stackalloc ulong[frame.Length];
        ref SegmentCache ss = ref State.Segments[(int)SegmentRegister.Ss];
        SegmentCache current = ss;
        ss = stack; // the slots are checked against the stack they go to, loaded or not yet
        try
        {
            for (int k = 0; k < frame.Length; k++)
                linear[k] = Linear(SegmentRegister.Ss, (esp - (ulong)((k + 1) * slot)) & mask, slot, Access.Write);
        }
        catch (CpuFault)
        {
            throw new CpuFault(Vector.SS, switchesStack ? SelectorErrorCode(stack.Selector, ext) : ext);
        }
        finally
        {
            ss = current;
        }
        for (int k = 0; k < frame.Length; k++)
            WriteStackSlot(linear[k], slot, frame[k], newCpl);
        SetAccessed(ref cs, csAddress);

        // Nothing below can fault: the event is delivered.
        if (switchesStack)
            State.Segments[(int)SegmentRegister.Ss] = stack;
        WriteGpr((int)Gpr.Rsp, stack.DefaultBig ? 4 : 2, esp - (ulong)(frame.Length * slot));
        EnterHandler(cs, newCpl, target, type, evt);
    }

    /// <summary>
    /// SSn:ESPn of a 32-bit TSS (SDM Vol. 3, Figure 8-2) for a handler at <paramref name="newCpl"/>: beyond the TSS
    /// limit is #TS(TR selector); the SS must not be null (#TS(EXT)) and must be a writable data segment with
    /// RPL = DPL = the new CPL (#TS(selector)), present (#SS(selector)). A 16-bit TSS holds SPn:SSn at half the offsets.
    /// </summary>
    SegmentCache InnerStack(int newCpl, uint ext, out ulong esp)
    {
        bool tss16 = (State.Tr.Attributes & 0xF) is TypeAvailableTss16 or 0x3;
        int width = tss16 ? 2 : 4;
        uint offset = (uint)(width + newCpl * width * 2);
        if (offset + (uint)width + 1 > State.Tr.Limit)
            throw new CpuFault(Vector.TS, SelectorErrorCode(State.Tr.Selector, ext));
        esp = ReadImplicitSupervisor(State.Tr.Base + offset, width);
        var selector = (ushort)ReadImplicitSupervisor(State.Tr.Base + offset + (uint)width, 2);
        if (IsNullSelector(selector))
            throw new CpuFault(Vector.TS, ext);
        uint error = SelectorErrorCode(selector, ext);
        if (!TryReadDescriptor(selector, out ulong descriptor, out ulong address))
            throw new CpuFault(Vector.TS, error);
        var ss = FromDescriptor(selector, descriptor);
        if ((selector & 3) != newCpl || ss.Dpl != newCpl || !IsWritableData(ss))
            throw new CpuFault(Vector.TS, error);
        if (!ss.Present)
            throw new CpuFault(Vector.SS, error);
        SetAccessed(ref ss, address);
        return ss;
    }

    /// <summary>Writes one slot of a delivery frame, as a supervisor access when the handler runs below CPL 3.</summary>
    void WriteStackSlot(ulong linear, int size, ulong value, int newCpl)
    {
        if (newCpl < 3)
            WriteImplicitSupervisor(linear, size, value);
        else
            WriteLinear(linear, size, value);
    }
}
