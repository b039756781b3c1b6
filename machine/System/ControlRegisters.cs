using Iced.Intel;
using IcedRegister = Iced.Intel.Register;

namespace Repl.Machine;

/// <summary>Control-register bits (SDM Vol. 3, 2.5) that paging and the mode rules use.</summary>
public partial struct CpuState
{
    public const ulong Cr0MP = 1 << 1, Cr0EM = 1 << 2, Cr0TS = 1 << 3, Cr0ET = 1 << 4, Cr0NE = 1 << 5, Cr0WP = 1 << 16,
        Cr0NW = 1 << 29, Cr0CD = 1 << 30;
    public const ulong Cr4Pae = 1 << 5, Cr4Pge = 1 << 7, Cr4La57 = 1 << 12, Cr4Pcide = 1 << 17, Cr4Smep = 1 << 20, Cr4Smap = 1 << 21;
}

/// <summary>
/// MOV to and from CR0, CR2, CR3, CR4 and CR8, CLTS, LMSW and SMSW (SDM Vol. 2, MOV—Move to/from Control
/// Registers; Vol. 3, 2.5 and 4.10.4.1): the reserved-bit and mode-combination #GP rules, the activation of
/// IA-32e mode by CR0.PG, and the TLB invalidation each write implies. Every check comes before any change.
/// </summary>
public sealed unsafe partial class Cpu
{
    /// <summary>The CR0 bits that exist; writes to the others (bits 31:0) are ignored, as the SDM says.</summary>
    const ulong Cr0Defined = CpuState.Cr0PE | CpuState.Cr0MP | CpuState.Cr0EM | CpuState.Cr0TS | CpuState.Cr0ET | CpuState.Cr0NE
                             | CpuState.Cr0WP | CpuState.Cr0AM | CpuState.Cr0NW | CpuState.Cr0CD | CpuState.Cr0PG;

    /// <summary>CR4 changes after which every cached translation goes: PGE and PCIDE as the SDM requires (4.10.4.1),
    /// PAE and LA57 because the paging mode changes, SMEP and SMAP because the TLB bakes them into its entries
    /// (the processor is always free to invalidate more).</summary>
    const ulong Cr4FlushingBits = CpuState.Cr4Pge | CpuState.Cr4Pcide | CpuState.Cr4Pae | CpuState.Cr4La57 | CpuState.Cr4Smep | CpuState.Cr4Smap;

    ulong? _cr4Writable;

    /// <summary>The CR4 bits software may set: those whose feature CPUID reports (bit 8, PCE, exists on every
    /// processor); the rest are reserved and setting one raises #GP(0).</summary>
    ulong Cr4Writable => _cr4Writable ??= ComputeCr4Writable(Vendor);

    static ulong ComputeCr4Writable(CpuVendor vendor)
    {
        var (_, _, ecx1, edx1) = Identification.Cpuid(vendor, 1, 0);
        var (_, ebx7, ecx7, _) = Identification.Cpuid(vendor, 7, 0);
        static ulong If(uint cpuidWord, int cpuidBit, ulong cr4Bits) => (cpuidWord & (1u << cpuidBit)) != 0 ? cr4Bits : 0;
        return 1 << 8 // PCE
            | If(edx1, 1, 1 << 0 | 1 << 1)  // VME: VME, PVI
            | If(edx1, 2, 1 << 3)           // DE
            | If(edx1, 3, 1 << 4)           // PSE
            | If(edx1, 4, 1 << 2)           // TSC: TSD
            | If(edx1, 6, CpuState.Cr4Pae)
            | If(edx1, 7, 1 << 6)           // MCE
            | If(edx1, 13, CpuState.Cr4Pge)
            | If(edx1, 24, 1 << 9)          // FXSR: OSFXSR
            | If(edx1, 25, 1 << 10)         // SSE: OSXMMEXCPT
            | If(ecx7, 2, 1 << 11)          // UMIP
            | If(ecx7, 16, CpuState.Cr4La57)
            | If(ecx1, 5, 1 << 13)          // VMX: VMXE
            | If(ecx1, 6, 1 << 14)          // SMX: SMXE
            | If(ebx7, 0, 1 << 16)          // FSGSBASE
            | If(ecx1, 17, CpuState.Cr4Pcide)
            | If(ecx1, 26, 1 << 18)         // XSAVE: OSXSAVE
            | If(ebx7, 7, CpuState.Cr4Smep)
            | If(ebx7, 20, CpuState.Cr4Smap)
            | If(ecx7, 3, 1 << 22);         // PKU: PKE
    }

    static delegate*<Cpu, ref Decoded, void> SelectControlRegisters(in Instruction i) => i.Mnemonic switch
    {
        Mnemonic.Mov when i.Op0Kind == OpKind.Register && i.Op0Register.IsCR() => &MovToCr,
        Mnemonic.Mov when i.Op1Kind == OpKind.Register && i.Op1Register.IsCR() => &MovFromCr,
        Mnemonic.Clts => &Clts,
        Mnemonic.Lmsw => &Lmsw,
        Mnemonic.Smsw => &Smsw,
        _ => null,
    };

    /// <summary>#GP(0) for a privileged instruction above CPL 0.</summary>
    void RequireCpl0()
    {
        if (State.Cpl != 0)
            throw new CpuFault(Vector.GP, 0);
    }

    /// <summary>MOV r, CRn: the whole register in 64-bit mode, its low 32 bits elsewhere. CR1, CR5-CR7 and
    /// CR9-CR15 do not exist (#UD, which outranks the privilege check).</summary>
    static void MovFromCr(Cpu c, ref Decoded d)
    {
        var cr = d.Instruction.Op1Register;
        ulong value = cr switch
        {
            IcedRegister.CR0 => c.State.Cr0,
            IcedRegister.CR2 => c.State.Cr2,
            IcedRegister.CR3 => c.State.Cr3,
            IcedRegister.CR4 => c.State.Cr4,
            IcedRegister.CR8 => c.State.Cr8,
            _ => throw new CpuFault(Vector.UD),
        };
        c.RequireCpl0();
        c.WriteGpr(d.Ops[0].Reg, d.Ops[0].Size, value);
    }

    static void MovToCr(Cpu c, ref Decoded d)
    {
        var cr = d.Instruction.Op0Register;
        if (cr is not (IcedRegister.CR0 or IcedRegister.CR2 or IcedRegister.CR3 or IcedRegister.CR4 or IcedRegister.CR8))
            throw new CpuFault(Vector.UD);
        c.RequireCpl0();
        ulong value = c.ReadGpr(d.Ops[1].Reg, d.Ops[1].Size);
        switch (cr)
        {
            case IcedRegister.CR0: c.WriteCr0(value); break;
            case IcedRegister.CR2:
                ulong oldCr2 = c.State.Cr2;
                c.State.Cr2 = value;
                c.Sink?.ControlRegister(2, oldCr2, value); // as an NMI handler restoring the CR2 it interrupted does
                break;
            case IcedRegister.CR3: c.WriteCr3(value); break;
            case IcedRegister.CR4: c.WriteCr4(value); break;
            default:
                // CR8 is the APIC's task-priority register: bits 3:0 hold the priority class, the rest are reserved.
                if (value > 0xF)
                    throw new CpuFault(Vector.GP, 0);
                ulong oldCr8 = c.State.Cr8;
                c.State.Cr8 = value;
                c.Apic?.UpdateOffer();
                c.Sink?.ControlRegister(8, oldCr8, value);
                break;
        }
    }

    /// <summary>
    /// MOV to CR0. Reserved bits 63:32 raise #GP(0); reserved bits 31:0 are ignored and ET reads as 1. PG without
    /// PE, or NW without CD, is #GP(0). Setting PG with EFER.LME activates IA-32e mode (EFER.LMA), which needs
    /// CR4.PAE; without LME it enters PAE paging, loading the PDPTE registers. Clearing PG leaves IA-32e mode,
    /// which 64-bit mode and CR4.PCIDE forbid (SDM Vol. 3, 10.8.5).
    /// </summary>
    internal void WriteCr0(ulong value)
    {
        if ((value >> 32) != 0)
            throw new CpuFault(Vector.GP, 0);
        ulong old = State.Cr0;
        value = (value & Cr0Defined) | CpuState.Cr0ET;
        bool pg = (value & CpuState.Cr0PG) != 0, wasPg = (old & CpuState.Cr0PG) != 0;
        if ((pg && (value & CpuState.Cr0PE) == 0) || ((value & CpuState.Cr0NW) != 0 && (value & CpuState.Cr0CD) == 0))
            throw new CpuFault(Vector.GP, 0);
        ulong efer = State.Efer;
        bool pae = (State.Cr4 & CpuState.Cr4Pae) != 0;
        if (pg && !wasPg)
        {
            if (!pae)
            {
                if ((efer & CpuState.EferLME) != 0)
                    throw new CpuFault(Vector.GP, 0);
                throw Unimplemented32BitPaging();
            }
            if ((efer & CpuState.EferLME) != 0)
                efer |= CpuState.EferLMA;
        }
        else if (!pg && wasPg)
        {
            if (State.Is64BitMode || (State.Cr4 & CpuState.Cr4Pcide) != 0)
                throw new CpuFault(Vector.GP, 0);
            efer &= ~CpuState.EferLMA;
        }
        // Entering PAE paging outside IA-32e mode, or changing CD or NW in it, loads the PDPTE registers.
        bool loadPdptes = pg && pae && (efer & CpuState.EferLMA) == 0
                          && ((old ^ value) & (CpuState.Cr0PG | CpuState.Cr0CD | CpuState.Cr0NW)) != 0;
        PdpteFile pdptes = loadPdptes ? ReadPdptes(State.Cr3) : State.Pdpte;
        State.Cr0 = value;
        State.Efer = efer;
        State.Pdpte = pdptes;
        // Turning paging off must drop everything (SDM Vol. 3, 4.10.4.1); turning it on or changing WP, which the
        // TLB entries bake in, does too here.
        if (((old ^ value) & (CpuState.Cr0PG | CpuState.Cr0WP)) != 0)
            Tlb.FlushAll();
        TranslationRegistersChanged();
        Sink?.ControlRegister(0, old, value);
    }

    /// <summary>
    /// MOV to CR3. Bits 63:MAXPHYADDR are reserved (#GP(0)), except that with CR4.PCIDE bit 63 asks not to flush
    /// and is not stored. Without PCIDs, or with bit 63 clear, the new PCID's non-global translations go
    /// (SDM Vol. 3, 4.10.4.1). Outside 64-bit mode the operand is 32 bits wide and can hold no reserved bit.
    /// </summary>
    internal void WriteCr3(ulong value)
    {
        const ulong NoFlush = 1UL << 63;
        bool pcide = (State.Cr4 & CpuState.Cr4Pcide) != 0;
        bool keep = pcide && (value & NoFlush) != 0;
        if (keep)
            value &= ~NoFlush;
        if ((value >> MaxPhysicalAddressBits) != 0)
            throw new CpuFault(Vector.GP, 0);
        ulong old = State.Cr3;
        if (PagingActive && LegacyPae)
            State.Pdpte = ReadPdptes(value);
        State.Cr3 = value;
        int pcid = CurrentPcid;
        if (!keep)
            Tlb.FlushPcid(pcid);
        TranslationRegistersChanged();
        Sink?.ControlRegister(3, old, value);
    }

    /// <summary>
    /// MOV to CR4. #GP(0) for a reserved bit (a feature CPUID does not report), for clearing PAE or changing LA57
    /// in IA-32e mode, and for setting PCIDE outside IA-32e mode or while CR3[11:0] is not zero.
    /// </summary>
    internal void WriteCr4(ulong value)
    {
        ulong old = State.Cr4;
        bool lma = (State.Efer & CpuState.EferLMA) != 0;
        bool setsPcide = (value & ~old & CpuState.Cr4Pcide) != 0;
        if ((value & ~Cr4Writable) != 0
            || (lma && ((value & CpuState.Cr4Pae) == 0 || ((old ^ value) & CpuState.Cr4La57) != 0))
            || (setsPcide && (!lma || (State.Cr3 & 0xFFF) != 0)))
            throw new CpuFault(Vector.GP, 0);
        PdpteFile pdptes = State.Pdpte;
        if ((State.Cr0 & CpuState.Cr0PG) != 0 && !lma)
        {
            if ((value & CpuState.Cr4Pae) == 0)
                throw Unimplemented32BitPaging();
            // With PAE paging on, a change of PAE, PGE, PSE or SMEP reloads the PDPTE registers (SDM Vol. 3, 4.4.1).
            if (((old ^ value) & (CpuState.Cr4Pae | CpuState.Cr4Pge | CpuState.Cr4Smep)) != 0)
                pdptes = ReadPdptes(State.Cr3);
        }
        State.Cr4 = value;
        State.Pdpte = pdptes;
        if (((old ^ value) & Cr4FlushingBits) != 0)
            Tlb.FlushAll();
        TranslationRegistersChanged();
        Sink?.ControlRegister(4, old, value);
    }

    /// <summary>32-bit paging (CR0.PG without CR4.PAE outside IA-32e mode) is not modelled: the write that would
    /// enable it raises #UD and is counted, rather than letting the guest run untranslated.</summary>
    CpuFault Unimplemented32BitPaging()
    {
        CountUnimplemented("32-bit paging (cr0.pg without cr4.pae)");
        return new CpuFault(Vector.UD);
    }

    /// <summary>CLTS: clears CR0.TS; privileged.</summary>
    static void Clts(Cpu c, ref Decoded d)
    {
        c.RequireCpl0();
        ulong old = c.State.Cr0;
        c.State.Cr0 &= ~CpuState.Cr0TS;
        c.Sink?.ControlRegister(0, old, c.State.Cr0);
    }

    /// <summary>LMSW r/m16: loads CR0 bits 3:0 (PE, MP, EM, TS) from the operand; it can set PE but not clear it.</summary>
    static void Lmsw(Cpu c, ref Decoded d)
    {
        c.RequireCpl0();
        ulong msw = c.ReadOperand(ref d, 0) & 0xF;
        ref ulong cr0 = ref c.State.Cr0;
        ulong old = cr0;
        cr0 = (cr0 & ~0xFUL) | msw | (cr0 & CpuState.Cr0PE);
        c.Sink?.ControlRegister(0, old, cr0);
    }

    /// <summary>SMSW: CR0 into a 16-bit memory word or into a register at its operand size, as processors do for
    /// the bits the SDM leaves undefined. Not privileged (CR4.UMIP, which would make it so, is not offered).</summary>
    static void Smsw(Cpu c, ref Decoded d) => c.WriteOperand(ref d, 0, c.State.Cr0 & SizeMask(d.Ops[0].Size));
}
