using Iced.Intel;
using IcedRegister = Iced.Intel.Register;

namespace Repl.Machine;

/// <summary>
/// Protected-mode segmentation (SDM Vol. 3, chapters 3 and 5): segment descriptors in the GDT and LDT, the
/// checks that guard loading a segment register, and the instructions that load and store the descriptor-table
/// registers (LGDT, LIDT, SGDT, SIDT, LLDT, SLDT, LTR, STR) and segment registers (MOV Sreg, POP Sreg).
/// </summary>
public sealed unsafe partial class Cpu
{
    static delegate*<Cpu, ref Decoded, void> SelectSegmentation(in Instruction i) => i.Mnemonic switch
    {
        Mnemonic.Mov when i.Op0Kind == OpKind.Register && i.Op0Register.IsSegmentRegister() => &MovToSegment,
        Mnemonic.Mov when i.Op1Kind == OpKind.Register && i.Op1Register.IsSegmentRegister() => &MovFromSegment,
        Mnemonic.Pop when i.Op0Kind == OpKind.Register && i.Op0Register.IsSegmentRegister() => &PopSegment,
        Mnemonic.Lgdt => &Lgdt,
        Mnemonic.Lidt => &Lidt,
        Mnemonic.Sgdt => &Sgdt,
        Mnemonic.Sidt => &Sidt,
        Mnemonic.Lldt => &Lldt,
        Mnemonic.Ltr => &Ltr,
        Mnemonic.Sldt => &Sldt,
        Mnemonic.Str => &Str,
        Mnemonic.Retf => &FarReturn,
        Mnemonic.Lar => &Lar,
        Mnemonic.Lsl => &Lsl,
        Mnemonic.Verr => &Verr,
        Mnemonic.Verw => &Verw,
        _ when i.IsJmpFar || i.IsJmpFarIndirect => &FarJump,
        _ when i.IsCallFar || i.IsCallFarIndirect => &FarCall,
        _ => null,
    };

    // Descriptor type bits (SDM Vol. 3, 3.4.5.1): bit 2 is expand-down for data and conforming for code; bit 1 is
    // writable for data and readable for code.
    const ushort AttrConforming = SegmentCache.AttrExpandDown, AttrReadable = SegmentCache.AttrWritable;

    // System descriptor types in IA-32e mode and legacy mode (SDM Vol. 3, Table 3-2).
    const int TypeLdt = 0x2, TypeAvailableTss16 = 0x1, TypeAvailableTss = 0x9, TypeBusyTss = 0xB;

    /// <summary>An error code naming a selector (SDM Vol. 3, 6.13): its index and TI bit, with EXT from the event
    /// being delivered.</summary>
    internal static uint SelectorErrorCode(ushort selector, uint ext) => (uint)(selector & 0xFFFC) | ext;

    static bool IsNullSelector(ushort selector) => (selector & 0xFFFC) == 0;

    /// <summary>
    /// Reads the 8-byte descriptor that a selector names in the GDT or the LDT (SDM Vol. 3, 3.5.1): #GP(selector)
    /// when it lies beyond the table's limit or names the LDT while LDTR is null. Descriptor-table reads are
    /// implicit supervisor accesses.
    /// </summary>
    ulong ReadDescriptor(ushort selector, uint ext, out ulong address) =>
        TryReadDescriptor(selector, out ulong descriptor, out address)
            ? descriptor
            : throw new CpuFault(Vector.GP, SelectorErrorCode(selector, ext));

    /// <summary><see cref="ReadDescriptor"/> for LAR, LSL, VERR and VERW, which report a selector beyond its table in ZF.</summary>
    bool TryReadDescriptor(ushort selector, out ulong descriptor, out ulong address)
    {
        bool local = (selector & 4) != 0;
        ulong offset = (ulong)(selector & ~7);
        descriptor = address = 0;
        if (local ? IsNullSelector(State.Ldtr.Selector) || offset + 7 > State.Ldtr.Limit : offset + 7 > State.Gdtr.Limit)
            return false;
        address = (local ? State.Ldtr.Base : State.Gdtr.Base) + offset;
        descriptor = ReadImplicitSupervisor(address, 8);
        return true;
    }

    /// <summary>The hidden part of a segment register as a descriptor fills it (SDM Vol. 3, 3.4.5).</summary>
    internal static SegmentCache FromDescriptor(ushort selector, ulong descriptor)
    {
        uint limit = (uint)(descriptor & 0xFFFF) | (uint)((descriptor >> 32) & 0xF_0000);
        var attributes = (ushort)((descriptor >> 40) & 0xF0FF);
        if ((attributes & SegmentCache.AttrGranularity) != 0)
            limit = (limit << 12) | 0xFFF;
        return new SegmentCache
        {
            Selector = selector,
            Base = ((descriptor >> 16) & 0xFF_FFFF) | ((descriptor >> 32) & 0xFF00_0000),
            Limit = limit,
            Attributes = attributes,
        };
    }

    /// <summary>Sets the accessed bit of a code or data descriptor being loaded, as the processor does (SDM Vol. 3, 3.4.5.1).</summary>
    void SetAccessed(ref SegmentCache segment, ulong descriptorAddress)
    {
        if ((segment.Attributes & SegmentCache.AttrAccessed) != 0)
            return;
        segment.Attributes |= SegmentCache.AttrAccessed;
        WriteImplicitSupervisor(descriptorAddress + 5, 1, ReadImplicitSupervisor(descriptorAddress + 5, 1) | SegmentCache.AttrAccessed);
    }

    static bool IsWritableData(in SegmentCache s) =>
        (s.Attributes & (SegmentCache.AttrS | SegmentCache.AttrCode | SegmentCache.AttrWritable)) == (SegmentCache.AttrS | SegmentCache.AttrWritable);

    /// <summary>Data, or code that is neither conforming: the segments whose DPL must admit both CPL and RPL.</summary>
    static bool IsDataOrNonConformingCode(in SegmentCache s) =>
        (s.Attributes & SegmentCache.AttrCode) == 0 || (s.Attributes & AttrConforming) == 0;

    /// <summary>
    /// Loads SS, DS, ES, FS or GS from a selector as MOV and POP do (SDM Vol. 2, MOV, "Operation"). A null selector
    /// leaves DS/ES/FS/GS unusable; for SS it is #GP(0) except in 64-bit mode at CPL &lt; 3 with RPL = CPL. SS must be a
    /// writable data segment with RPL = DPL = CPL (#SS(selector) if not present); the others data or readable code
    /// whose DPL is at least CPL and RPL unless conforming (#NP(selector) if not present).
    /// </summary>
    internal void LoadSegment(SegmentRegister register, ushort selector, uint ext = 0)
    {
        int cpl = State.Cpl, rpl = selector & 3;
        uint error = SelectorErrorCode(selector, ext);
        if (IsNullSelector(selector))
        {
            if (register == SegmentRegister.Ss)
            {
                if (!State.Is64BitMode || cpl == 3 || rpl != cpl)
                    throw new CpuFault(Vector.GP, ext);
                State.Segments[(int)SegmentRegister.Ss] = NullStackSegment(selector);
            }
            else
                LoadNullSegment(register, selector);
            return;
        }
        ulong descriptor = ReadDescriptor(selector, ext, out ulong address);
        var segment = FromDescriptor(selector, descriptor);
        if (register == SegmentRegister.Ss)
        {
            if (rpl != cpl || !IsWritableData(segment) || segment.Dpl != cpl)
                throw new CpuFault(Vector.GP, error);
            if (!segment.Present)
                throw new CpuFault(Vector.SS, error);
        }
        else
        {
            bool readable = (segment.Attributes & SegmentCache.AttrS) != 0
                            && ((segment.Attributes & SegmentCache.AttrCode) == 0 || (segment.Attributes & AttrReadable) != 0);
            if (!readable || (IsDataOrNonConformingCode(segment) && (rpl > segment.Dpl || cpl > segment.Dpl)))
                throw new CpuFault(Vector.GP, error);
            if (!segment.Present)
                throw new CpuFault(Vector.NP, error);
        }
        SetAccessed(ref segment, address);
        State.Segments[(int)register] = segment;
    }

    /// <summary>A null SS, as 64-bit mode allows at CPL &lt; 3: unusable, with its DPL at the RPL (the CPL) of the selector.</summary>
    static SegmentCache NullStackSegment(ushort selector) => new() { Selector = selector, Attributes = (ushort)((selector & 3) << 5) };

    /// <summary>
    /// A null selector in DS, ES, FS or GS makes the register unusable (SDM Vol. 3, 3.4.4). Intel processors also
    /// clear the hidden base; AMD ones leave base and limit as they were (AMD APM Vol. 2, 4.5.1), which matters
    /// for FS and GS in 64-bit mode.
    /// </summary>
    void LoadNullSegment(SegmentRegister register, ushort selector)
    {
        ref SegmentCache s = ref State.Segments[(int)register];
        s = Vendor == CpuVendor.Amd
            ? s with { Selector = selector, Attributes = 0 }
            : new SegmentCache { Selector = selector };
    }

    /// <summary>MOV Sreg, r/m16. CS cannot be loaded by MOV (#UD). Loading SS holds off interrupts, NMIs and
    /// debug traps until the next instruction completes, so that MOV SS; MOV RSP is never split (SDM Vol. 3, 6.8.3).</summary>
    static void MovToSegment(Cpu c, ref Decoded d)
    {
        var register = (SegmentRegister)(d.Instruction.Op0Register - IcedRegister.ES);
        if (register == SegmentRegister.Cs)
            throw new CpuFault(Vector.UD);
        var selector = (ushort)(d.Ops[1].Kind == OperandKind.Gpr ? c.ReadGpr(d.Ops[1].Reg, 2) : c.ReadMemory(d.MemSegment, c.EffectiveAddress(ref d), 2));
        c.LoadSegment(register, selector);
        if (register == SegmentRegister.Ss)
            c.SetInterruptShadow(blocksNmi: true);
    }

    /// <summary>MOV r/m, Sreg: a register destination receives the selector zero-extended to its width, a memory
    /// destination 16 bits whatever the operand size.</summary>
    static void MovFromSegment(Cpu c, ref Decoded d) =>
        c.WriteOperand(ref d, 0, c.State.Segments[d.Instruction.Op1Register - IcedRegister.ES].Selector);

    /// <summary>POP DS/ES/SS (outside 64-bit mode), POP FS/GS: the selector is the low 16 bits of a stack slot of
    /// the operand size; RSP moves only once the load has succeeded. POP SS sets the same shadow as MOV SS.</summary>
    static void PopSegment(Cpu c, ref Decoded d)
    {
        var register = (SegmentRegister)(d.Instruction.Op0Register - IcedRegister.ES);
        var selector = (ushort)c.PeekValue(d.StackSize, out ulong newSp);
        c.LoadSegment(register, selector);
        c.SetStackPointer(newSp);
        if (register == SegmentRegister.Ss)
            c.SetInterruptShadow(blocksNmi: true);
    }

    /// <summary>
    /// Reads the 6- or 10-byte pseudo-descriptor of LGDT/LIDT (SDM Vol. 2, LGDT/LIDT): a 16-bit limit, then a base of
    /// 8 bytes in 64-bit mode, else 4 bytes of which a 16-bit operand size keeps 24 bits.
    /// </summary>
    TableRegister ReadPseudoDescriptor(ref Decoded d)
    {
        RequireCpl0();
        ulong ea = EffectiveAddress(ref d);
        ulong mask = SizeMask(d.AddressSize);
        var limit = (ushort)ReadMemory(d.MemSegment, ea, 2);
        ulong @base = State.Is64BitMode
            ? ReadMemory(d.MemSegment, (ea + 2) & mask, 8)
            : ReadMemory(d.MemSegment, (ea + 2) & mask, 4) & (d.StackSize == 2 ? 0xFF_FFFFUL : 0xFFFF_FFFF);
        return new TableRegister { Base = @base, Limit = limit };
    }

    /// <summary>Stores GDTR or IDTR as SGDT/SIDT do: the limit, then an 8-byte base in 64-bit mode, else 4 bytes.</summary>
    void WritePseudoDescriptor(ref Decoded d, TableRegister table)
    {
        ulong ea = EffectiveAddress(ref d);
        int baseSize = State.Is64BitMode ? 8 : 4;
        ulong baseOffset = (ea + 2) & SizeMask(d.AddressSize);
        Linear(d.MemSegment, baseOffset, baseSize, Access.Write); // both parts are checked before either is written
        WriteMemory(d.MemSegment, ea, 2, table.Limit);
        WriteMemory(d.MemSegment, baseOffset, baseSize, table.Base);
    }

    static void Lgdt(Cpu c, ref Decoded d) => c.State.Gdtr = c.ReadPseudoDescriptor(ref d);

    static void Lidt(Cpu c, ref Decoded d) => c.State.Idtr = c.ReadPseudoDescriptor(ref d);

    static void Sgdt(Cpu c, ref Decoded d) => c.WritePseudoDescriptor(ref d, c.State.Gdtr);

    static void Sidt(Cpu c, ref Decoded d) => c.WritePseudoDescriptor(ref d, c.State.Idtr);

    /// <summary>
    /// Reads the system descriptor (LDT or TSS) a selector names for LLDT or LTR (SDM Vol. 2, LLDT and LTR): it must be
    /// in the GDT (#GP(selector)) and of the given type (#GP(selector)), and present (#NP(selector)). In IA-32e mode
    /// these descriptors are 16 bytes, the second half holding base bits 63:32.
    /// </summary>
    SegmentCache ReadSystemDescriptor(ushort selector, int type, int legacyType, out ulong address)
    {
        uint error = SelectorErrorCode(selector, 0);
        if ((selector & 4) != 0)
            throw new CpuFault(Vector.GP, error);
        ulong descriptor = ReadDescriptor(selector, 0, out address);
        var segment = FromDescriptor(selector, descriptor);
        bool longMode = (State.Efer & CpuState.EferLMA) != 0;
        int actual = segment.Attributes & 0x1F; // S clear and the type
        if (actual != type && (longMode || actual != legacyType))
            throw new CpuFault(Vector.GP, error);
        if (!segment.Present)
            throw new CpuFault(Vector.NP, error);
        if (longMode)
        {
            if ((ulong)(selector & ~7) + 15 > State.Gdtr.Limit)
                throw new CpuFault(Vector.GP, error);
            segment.Base |= ReadImplicitSupervisor(address + 8, 4) << 32;
        }
        return segment;
    }

    /// <summary>LLDT r/m16: a null selector leaves LDTR unusable; otherwise it must name an LDT descriptor.</summary>
    static void Lldt(Cpu c, ref Decoded d)
    {
        c.RequireCpl0();
        var selector = (ushort)c.ReadOperand(ref d, 0);
        c.State.Ldtr = IsNullSelector(selector)
            ? new SegmentCache { Selector = selector }
            : c.ReadSystemDescriptor(selector, TypeLdt, TypeLdt, out _);
    }

    /// <summary>LTR r/m16: the selector must name an available TSS (#GP(0) for a null one), which LTR marks busy in
    /// its descriptor (SDM Vol. 2, LTR).</summary>
    static void Ltr(Cpu c, ref Decoded d)
    {
        c.RequireCpl0();
        var selector = (ushort)c.ReadOperand(ref d, 0);
        if (IsNullSelector(selector))
            throw new CpuFault(Vector.GP, 0);
        var tss = c.ReadSystemDescriptor(selector, TypeAvailableTss, TypeAvailableTss16, out ulong address);
        tss.Attributes |= TypeBusyTss & ~TypeAvailableTss;
        c.WriteImplicitSupervisor(address + 5, 1, (byte)tss.Attributes);
        c.State.Tr = tss;
    }

    /// <summary>
    /// The I/O permission bitmap of the current TSS (SDM Vol. 1, 19.5.2): its offset is the word at 0x66, and each of
    /// the ports an access touches must have a clear bit there. The two bytes holding the first port's bit are read
    /// and must lie within the TSS limit; a 16-bit TSS has no bitmap. Otherwise #GP(0).
    /// </summary>
    void CheckIoPermissionBitmap(ushort port, int size)
    {
        const uint IoMapBaseOffset = 0x66;
        var tss = State.Tr;
        bool hasBitmap = (tss.Attributes & 0x1F) is TypeAvailableTss or TypeBusyTss && tss.Limit >= IoMapBaseOffset + 1;
        if (hasBitmap)
        {
            uint byteOffset = (uint)ReadImplicitSupervisor(tss.Base + IoMapBaseOffset, 2) + (uint)(port >> 3);
            if (byteOffset + 1 <= tss.Limit)
            {
                ulong bits = ReadImplicitSupervisor(tss.Base + byteOffset, 2) >> (port & 7);
                if ((bits & ((1UL << size) - 1)) == 0)
                    return;
            }
        }
        throw new CpuFault(Vector.GP, 0);
    }

    /// <summary>SLDT and STR: the selector, zero-extended into a register destination, 16 bits to memory.</summary>
    static void Sldt(Cpu c, ref Decoded d) => c.WriteOperand(ref d, 0, c.State.Ldtr.Selector);

    static void Str(Cpu c, ref Decoded d) => c.WriteOperand(ref d, 0, c.State.Tr.Selector);

    /// <summary>The target of a far JMP or CALL: ptr16:16/32 in the instruction, or m16:16/32/64 in memory (offset
    /// first, then the selector). Returns the offset's width, which is also the width of what a far CALL pushes.</summary>
    int FarPointer(ref Decoded d, out ushort selector, out ulong offset)
    {
        ref readonly Instruction i = ref d.Instruction;
        if (i.Op0Kind is OpKind.FarBranch16 or OpKind.FarBranch32)
        {
            selector = i.FarBranchSelector;
            offset = i.Op0Kind == OpKind.FarBranch16 ? i.FarBranch16 : i.FarBranch32;
            return i.Op0Kind == OpKind.FarBranch16 ? 2 : 4;
        }
        int size = i.MemorySize.GetSize() - 2;
        ulong ea = EffectiveAddress(ref d);
        offset = ReadMemory(d.MemSegment, ea, size);
        selector = (ushort)ReadMemory(d.MemSegment, (ea + (ulong)size) & SizeMask(d.AddressSize), 2);
        return size;
    }

    /// <summary>
    /// A far JMP or CALL (SDM Vol. 2, JMP and CALL; Vol. 3, 5.8): to a code segment directly, or through a call gate.
    /// A code segment must not be null (#GP(0)) and must be conforming with DPL &lt;= CPL, or non-conforming with RPL
    /// &lt;= CPL and DPL = CPL (#GP(selector)); present (#NP(selector)); in IA-32e mode not both L and D. CPL does not
    /// change: the loaded RPL is CPL. A CALL pushes CS and the return offset in slots of the offset's width (the
    /// selector zero-extended), after checking both pushes can be made.
    /// </summary>
    static void FarTransfer(Cpu c, ref Decoded d, bool call)
    {
        int size = c.FarPointer(ref d, out ushort selector, out ulong offset);
        if (IsNullSelector(selector))
            throw new CpuFault(Vector.GP, 0);
        uint error = SelectorErrorCode(selector, 0);
        ulong descriptor = c.ReadDescriptor(selector, 0, out ulong address);
        var cs = FromDescriptor(selector, descriptor);
        if ((cs.Attributes & SegmentCache.AttrS) == 0)
        {
            c.ThroughCallGate(selector, descriptor, address, call);
            return;
        }
        int cpl = c.State.Cpl;
        bool conforming = (cs.Attributes & AttrConforming) != 0;
        if (!cs.IsCode || (conforming ? cs.Dpl > cpl : (selector & 3) > cpl || cs.Dpl != cpl))
            throw new CpuFault(Vector.GP, error);
        if (!cs.Present)
            throw new CpuFault(Vector.NP, error);
        bool to64 = (c.State.Efer & CpuState.EferLMA) != 0 && cs.Long;
        if (to64 && cs.DefaultBig)
            throw new CpuFault(Vector.GP, error);
        c.CheckFarTarget(cs, to64, offset);
        c.SetAccessed(ref cs, address);
        if (call)
        {
            c.CheckPushes(2, size);
            c.PushValue(c.State.Cs.Selector, size);
            c.PushValue(c.NextRip & SizeMask(size), size);
        }
        c.EnterCodeSegment(cs, cpl, offset);
    }

    /// <summary>Loads CS, already checked and marked accessed, at <paramref name="cpl"/>, and jumps to <paramref name="offset"/>.</summary>
    void EnterCodeSegment(SegmentCache cs, int cpl, ulong offset)
    {
        cs.Selector = (ushort)((cs.Selector & ~3) | cpl);
        // CPL is CS.DPL here, so a conforming segment entered carries the CPL as its DPL.
        cs.Attributes = (ushort)((cs.Attributes & ~(3 << 5)) | (cpl << 5));
        CpuMode modeBefore = Sink is null ? default : State.Mode;
        State.Segments[(int)SegmentRegister.Cs] = cs;
        NextRip = offset;
        EndBlock = true;
        Sink?.CodeSegmentLoaded(modeBefore);
    }

    static void FarJump(Cpu c, ref Decoded d) => FarTransfer(c, ref d, call: false);

    static void FarCall(Cpu c, ref Decoded d) => FarTransfer(c, ref d, call: true);

    /// <summary>
    /// A far JMP or CALL through a 64-bit call gate (SDM Vol. 3, 5.8.3 and 5.8.6): the gate's DPL must admit CPL and
    /// RPL (#GP(gate selector)), it must be present (#NP(gate selector)), and its second half must have a zero type
    /// field. The gate's code segment must be 64-bit code with DPL &lt;= CPL (#GP(selector)), equal to CPL for a JMP to
    /// non-conforming code, present (#NP(selector)); the offset canonical (#GP(0)). A CALL to a more privileged
    /// non-conforming segment switches to RSPn of the TSS with a null SS and pushes the old SS, RSP, CS and RIP; at the
    /// same level it pushes CS and RIP; all in 8-byte slots. Task gates, TSS descriptors and the call gates of
    /// protected mode are not modelled and raise #GP(selector).
    /// </summary>
    void ThroughCallGate(ushort gateSelector, ulong low, ulong gateAddress, bool call)
    {
        const int CallGate = 0xC;
        uint gateError = SelectorErrorCode(gateSelector, 0);
        var gate = FromDescriptor(gateSelector, low);
        int cpl = State.Cpl;
        bool longMode = (State.Efer & CpuState.EferLMA) != 0;
        if (!longMode || (gate.Attributes & 0xF) != CallGate || gate.Dpl < cpl || gate.Dpl < (gateSelector & 3))
            throw new CpuFault(Vector.GP, gateError);
        if (!gate.Present)
            throw new CpuFault(Vector.NP, gateError);
        ulong table = (gateSelector & 4) != 0 ? State.Ldtr.Limit : State.Gdtr.Limit;
        if ((ulong)(gateSelector & ~7) + 15 > table)
            throw new CpuFault(Vector.GP, gateError);
        ulong high = ReadImplicitSupervisor(gateAddress + 8, 8);
        if ((high >> 40 & 0x1F) != 0)
            throw new CpuFault(Vector.GP, gateError);

        var selector = (ushort)(low >> 16);
        if (IsNullSelector(selector))
            throw new CpuFault(Vector.GP, 0);
        uint error = SelectorErrorCode(selector, 0);
        var cs = FromDescriptor(selector, ReadDescriptor(selector, 0, out ulong address));
        bool conforming = (cs.Attributes & AttrConforming) != 0;
        if (!cs.IsCode || cs.Dpl > cpl || (!call && !conforming && cs.Dpl != cpl))
            throw new CpuFault(Vector.GP, error);
        if (!cs.Present)
            throw new CpuFault(Vector.NP, error);
        if (!cs.Long || cs.DefaultBig)
            throw new CpuFault(Vector.GP, error);
        ulong target = (low & 0xFFFF) | ((low >> 32) & 0xFFFF_0000) | (high << 32);
        if (!IsCanonical(target))
            throw new CpuFault(Vector.GP, 0);

        int newCpl = call && !conforming ? cs.Dpl : cpl;
        if (newCpl < cpl)
        {
            ulong rsp = ReadTssStackPointer(TssRsp0 + newCpl * 8, 0);
            if (!IsCanonical(rsp) || !IsCanonical(rsp - 32))
                throw new CpuFault(Vector.SS, 0);
            ReadOnlySpan<ulong> frame = [State.Segments[(int)SegmentRegister.Ss].Selector, State.Gpr[(int)Gpr.Rsp], State.Cs.Selector, NextRip];
            for (int k = 0; k < frame.Length; k++)
                WriteStackSlot(rsp - (ulong)(k + 1) * 8, 8, frame[k], newCpl);
            SetAccessed(ref cs, address);
            State.Segments[(int)SegmentRegister.Ss] = NullStackSegment((ushort)newCpl);
            State.Gpr[(int)Gpr.Rsp] = rsp - 32;
        }
        else
        {
            SetAccessed(ref cs, address);
            if (call)
            {
                CheckPushes(2, 8);
                PushValue(State.Cs.Selector, 8);
                PushValue(NextRip, 8);
            }
        }
        EnterCodeSegment(cs, newCpl, target);
    }

    /// <summary>
    /// Far RET and RET imm16 (SDM Vol. 2, RET): pops the offset and CS at the operand size (32 bits by default in 64-bit
    /// mode, 64 with REX.W). A return to an outer privilege level also pops SS:RSP, found above the imm16 bytes of
    /// arguments, releases imm16 bytes on the new stack too, and nulls the data segments the new CPL may not use.
    /// </summary>
    static void FarReturn(Cpu c, ref Decoded d)
    {
        int size = d.Instruction.Code switch
        {
            Code.Retfq or Code.Retfq_imm16 => 8,
            Code.Retfd or Code.Retfd_imm16 => 4,
            _ => 2,
        };
        ulong release = d.Ops[0].Kind == OperandKind.Immediate ? d.Immediate & 0xFFFF : 0;
        ulong mask = SizeMask(c.StackAddressSize);
        ulong sp = c.State.Gpr[(int)Gpr.Rsp] & mask;
        ulong offset = c.ReadFrameSlot(sp, 0, size);
        var selector = (ushort)c.ReadFrameSlot(sp, 1, size);
        int cpl = c.State.Cpl, rpl = selector & 3;
        var cs = c.ReturnCodeSegment(selector, out ulong address, out bool to64);
        c.CheckFarTarget(cs, to64, offset);
        ulong afterArguments = (sp + (ulong)(2 * size) + release) & mask;
        if (rpl == cpl)
        {
            c.SetAccessed(ref cs, address);
            c.EnterCodeSegment(cs, rpl, offset);
            c.SetStackPointer(afterArguments);
            return;
        }
        ulong newSp = c.ReadFrameSlot(afterArguments, 0, size);
        var ss = c.ReturnStackSegment((ushort)c.ReadFrameSlot(afterArguments, 1, size), rpl, to64, out ulong ssAddress);
        if (ssAddress != 0)
            c.SetAccessed(ref ss, ssAddress);
        c.SetAccessed(ref cs, address);
        c.EnterCodeSegment(cs, rpl, offset);
        c.State.Segments[(int)SegmentRegister.Ss] = ss;
        c.WriteGpr((int)Gpr.Rsp, size, newSp);
        c.SetStackPointer(c.StackPointerPlus((long)release));
        c.NullSegmentsBelow(rpl);
    }

    /// <summary>
    /// The descriptor a selector names, as LAR, LSL, VERR and VERW see it (SDM Vol. 2, LAR): null if the selector is
    /// null or beyond its table, or if the segment is not a conforming code segment and its DPL is below CPL or RPL.
    /// System descriptors pass only when <paramref name="systemTypes"/> (a bit per type) includes their type.
    /// </summary>
    SegmentCache? VisibleDescriptor(ushort selector, int systemTypes)
    {
        if (IsNullSelector(selector) || !TryReadDescriptor(selector, out ulong descriptor, out _))
            return null;
        var segment = FromDescriptor(selector, descriptor);
        bool system = (segment.Attributes & SegmentCache.AttrS) == 0;
        if (system && (systemTypes & (1 << (segment.Attributes & 0xF))) == 0)
            return null;
        bool conformingCode = segment.IsCode && (segment.Attributes & AttrConforming) != 0;
        if (!conformingCode && (segment.Dpl < State.Cpl || segment.Dpl < (selector & 3)))
            return null;
        return segment;
    }

    /// <summary>System descriptor types LAR accepts: LDT, available and busy TSS, call gate; outside IA-32e mode also
    /// the 16-bit TSS and call gate and the task gate. LSL accepts the same but gates, which have no limit.</summary>
    int LarSystemTypes => (State.Efer & CpuState.EferLMA) != 0 ? 1 << 0x2 | 1 << 0x9 | 1 << 0xB | 1 << 0xC
        : 1 << 0x1 | 1 << 0x2 | 1 << 0x3 | 1 << 0x4 | 1 << 0x5 | 1 << 0x9 | 1 << 0xB | 1 << 0xC;

    int LslSystemTypes => LarSystemTypes & ~(1 << 0x4 | 1 << 0x5 | 1 << 0xC);

    /// <summary>LAR and LSL write their result and set ZF on success; otherwise they only clear ZF.</summary>
    void LoadSegmentProperty(ref Decoded d, SegmentCache? segment, Func<SegmentCache, ulong> property)
    {
        State.SetFlag(RflagsBit.ZF, segment is not null);
        if (segment is { } s)
            WriteGpr(d.Ops[0].Reg, d.Ops[0].Size, property(s));
    }

    /// <summary>LAR: the access rights, bits 8-23 of the descriptor's second doubleword (type, S, DPL, P, limit 19:16,
    /// AVL, L, D/B, G), in place.</summary>
    static void Lar(Cpu c, ref Decoded d) =>
        c.LoadSegmentProperty(ref d, c.VisibleDescriptor((ushort)c.ReadOperand(ref d, 1), c.LarSystemTypes),
            static s => (ulong)s.Attributes << 8 | (s.Limit >> ((s.Attributes & SegmentCache.AttrGranularity) != 0 ? 12 : 0) & 0xF_0000));

    /// <summary>LSL: the segment limit in bytes (scaled by G), which a 16-bit destination truncates.</summary>
    static void Lsl(Cpu c, ref Decoded d) =>
        c.LoadSegmentProperty(ref d, c.VisibleDescriptor((ushort)c.ReadOperand(ref d, 1), c.LslSystemTypes), static s => s.Limit);

    /// <summary>VERR: ZF set if the segment is readable at CPL (data, or readable code) and visible as for LAR.</summary>
    static void Verr(Cpu c, ref Decoded d)
    {
        var segment = c.VisibleDescriptor((ushort)c.ReadOperand(ref d, 0), 0);
        c.State.SetFlag(RflagsBit.ZF, segment is { } s && (!s.IsCode || (s.Attributes & AttrReadable) != 0));
    }

    /// <summary>VERW: ZF set if the segment is a writable data segment visible as for LAR.</summary>
    static void Verw(Cpu c, ref Decoded d)
    {
        var segment = c.VisibleDescriptor((ushort)c.ReadOperand(ref d, 0), 0);
        c.State.SetFlag(RflagsBit.ZF, segment is { } s && IsWritableData(s));
    }
}
