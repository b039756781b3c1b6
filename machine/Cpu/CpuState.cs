using System.Runtime.CompilerServices;

namespace Repl.Machine;

/// <summary>
/// The hidden part of a segment register (SDM Vol. 3, 3.4.3): what the processor loaded from the descriptor.
/// <see cref="Attributes"/> holds descriptor bits 40-55 with the limit nibble cleared: type (0-3), S (4),
/// DPL (5-6), P (7), AVL (12), L (13), D/B (14), G (15) — the layout LAR and VMX use.
/// </summary>
public struct SegmentCache
{
    public ushort Selector;
    public ulong Base;
    /// <summary>The limit in bytes, already scaled by G.</summary>
    public uint Limit;
    public ushort Attributes;

    public const ushort AttrAccessed = 1 << 0, AttrWritable = 1 << 1, AttrExpandDown = 1 << 2, AttrCode = 1 << 3;
    public const ushort AttrS = 1 << 4, AttrPresent = 1 << 7, AttrLong = 1 << 13, AttrDefaultBig = 1 << 14, AttrGranularity = 1 << 15;

    public readonly int Dpl => (Attributes >> 5) & 3;
    public readonly bool Present => (Attributes & AttrPresent) != 0;
    public readonly bool Long => (Attributes & AttrLong) != 0;
    public readonly bool DefaultBig => (Attributes & AttrDefaultBig) != 0;
    public readonly bool IsCode => (Attributes & (AttrS | AttrCode)) == (AttrS | AttrCode);

    /// <summary>A flat 4 GiB segment as a boot loader sets one up.</summary>
    public static SegmentCache Flat(ushort selector, ushort attributes) =>
        new() { Selector = selector, Base = 0, Limit = 0xFFFF_FFFF, Attributes = attributes };

    public override readonly string ToString() =>
        $"sel={Selector:x4} base={Base:x16} limit={Limit:x8} attr={Attributes:x4}";
}

/// <summary>GDTR or IDTR.</summary>
public struct TableRegister
{
    public ulong Base;
    public ushort Limit;
}

[InlineArray(16)]
public struct GprFile
{
    ulong _element;
}

[InlineArray(6)]
public struct SegmentFile
{
    SegmentCache _element;
}

[InlineArray(4)]
public struct PendingVectors
{
    ulong _element;
}

[InlineArray(6)]
public struct LocalVectorTable
{
    uint _element;
}

[InlineArray(8)]
public struct DebugRegisterFile
{
    ulong _element;
}

/// <summary>
/// All architectural state of one logical processor, as plain data: copying the struct takes a snapshot,
/// assigning it back restores one. The six arithmetic flags may be held lazily (see Flags.cs); read
/// RFLAGS through <see cref="Rflags"/>.
/// </summary>
public partial struct CpuState
{
    public GprFile Gpr;
    public ulong Rip;
    public SegmentFile Segments;
    public SegmentCache Ldtr, Tr;
    public TableRegister Gdtr, Idtr;
    public ulong Cr0, Cr2, Cr3, Cr4;
    /// <summary>CR8 is the local APIC's task-priority register seen through its priority class (SDM Vol. 3,
    /// 11.8.6.1): it reads TPR[7:4]; a write loads TPR[7:4] and clears TPR[3:0].</summary>
    public ulong Cr8
    {
        readonly get => (ulong)(ApicTpr >> 4);
        set => ApicTpr = (byte)(value << 4);
    }
    /// <summary>DR0-DR7; DR4 and DR5 are kept for their aliasing of DR6 and DR7.</summary>
    public DebugRegisterFile Dr;
    public ulong Efer;
    /// <summary>IA32_TSC_AUX, which RDTSCP returns in ECX.</summary>
    public ulong TscAux;
    /// <summary>Instructions retired since reset: the machine's virtual time, from which the TSC derives.</summary>
    public ulong InstructionsRetired;

    // MSRs and fast system calls (issue 3: Msrs.cs, FastSystemCalls.cs). EFER, TSC_AUX and FS/GS base live above.
    /// <summary>IA32_STAR: SYSRET CS/SS base selector (63:48), SYSCALL CS/SS (47:32), legacy SYSCALL EIP (31:0).</summary>
    public ulong Star;
    /// <summary>IA32_LSTAR and IA32_CSTAR: SYSCALL targets from 64-bit and compatibility mode.</summary>
    public ulong Lstar, Cstar;
    /// <summary>IA32_FMASK (AMD: SFMASK): the RFLAGS bits SYSCALL clears.</summary>
    public ulong Sfmask;
    /// <summary>IA32_KERNEL_GS_BASE: what SWAPGS exchanges with GS.base.</summary>
    public ulong KernelGsBase;
    public ulong SysenterCs, SysenterEsp, SysenterEip;
    /// <summary>What a write of IA32_TIME_STAMP_COUNTER added to the retired-instruction count: TSC = count + offset.</summary>
    public ulong TscOffset;
    public ulong ApicBase, Pat, MiscEnable, SpecCtrl, MtrrDefType, McgStatus;

    /// <summary>RFLAGS, with the arithmetic flags valid only while <see cref="LazyOp"/> is None.</summary>
    public ulong FlagsStored;
    public FlagOp LazyOp;
    /// <summary>Operand width in bits of the lazy operation.</summary>
    public byte LazyBits;
    public ulong LazyA, LazyB, LazyResult;

    // Event delivery (Interrupts.cs): what waits at the next instruction boundary and what holds it off.
    /// <summary>An NMI has been signalled and not yet delivered.</summary>
    public bool NmiPending;
    /// <summary>NMIs are blocked from the delivery of one until the next IRET (SDM Vol. 3, 6.7.1).</summary>
    public bool NmiBlocked;
    /// <summary>External interrupt vectors requested and not yet delivered, one bit per vector.</summary>
    public PendingVectors PendingInterrupts;
    /// <summary>The value of <see cref="InstructionsRetired"/> at the one boundary that an STI or MOV SS/POP SS
    /// shadow covers (0: none), and whether it also holds off NMIs (MOV SS does, STI does not).</summary>
    public ulong InterruptShadowAt;
    public bool ShadowBlocksNmi;
    /// <summary>The value of <see cref="InstructionsRetired"/> at the boundary where a REP string instruction paused
    /// between iterations (0: none): an interrupt taken there pushes RF set (SDM Vol. 3, 18.3.1.1).</summary>
    public ulong RepeatPausedAt;

    // Debug (System/Debug.cs).
    /// <summary>DR6 bits (B0-B3, BS) of #DB traps recognised after an instruction and not yet delivered: they wait for
    /// the next boundary outside a MOV SS/POP SS shadow (SDM Vol. 3, 6.8.3 and 18.3.1).</summary>
    public ulong PendingDebugTraps;

    // Paging (System/Paging.cs): the four PDPTE registers of PAE paging outside IA-32e mode, which MOV to CR3
    // (and the CR0/CR4 writes that enter PAE paging) load from the table CR3 points at (SDM Vol. 3, 4.4.1).
    public PdpteFile Pdpte;

    // Local APIC (issue 3: Devices/LocalApic.cs): the xAPIC registers that hold state (SDM Vol. 3, chapter 11).
    /// <summary>TPR; CR8 is its priority class.</summary>
    public byte ApicTpr;
    public uint ApicId, ApicLdr, ApicDfr, ApicSvr, ApicIcrLow, ApicIcrHigh;
    /// <summary>ESR as software last latched it, and the errors detected since (which the next ESR write latches).</summary>
    public uint ApicEsr, ApicErrorsDetected;
    /// <summary>LVT timer, thermal, performance-counter, LINT0, LINT1 and error, in <see cref="LocalApic.Lvt"/> order.</summary>
    public LocalVectorTable ApicLvt;
    public PendingVectors ApicIrr, ApicIsr, ApicTmr;
    /// <summary>The vector the APIC offers the processor (in <see cref="PendingInterrupts"/>), 0 when none: vectors
    /// 0-15 never reach the IRR.</summary>
    public byte ApicOffered;
    public uint ApicTimerInitialCount, ApicTimerDivide;
    /// <summary>The virtual time at which the timer's current count last equalled its initial count.</summary>
    public ulong ApicTimerStart;
    /// <summary>The virtual time of the timer's next interrupt, 0 when none is due: the run loop compares it at each
    /// block boundary and ends blocks there, so an idle timer costs nothing per instruction.</summary>
    public ulong ApicTimerDue;

    public const ulong Cr0PE = 1 << 0, Cr0AM = 1 << 18, Cr0PG = 1UL << 31;
    public const ulong EferSCE = 1 << 0, EferLME = 1 << 8, EferLMA = 1 << 10, EferNXE = 1 << 11;

    public readonly SegmentCache Cs => Segments[(int)SegmentRegister.Cs];

    /// <summary>64-bit mode: IA-32e mode active and CS.L set.</summary>
    public readonly bool Is64BitMode => (Efer & EferLMA) != 0 && Segments[(int)SegmentRegister.Cs].Long;

    /// <summary>The current privilege level, which is CS.DPL (SS.DPL equals it outside transitions).</summary>
    public readonly int Cpl => Segments[(int)SegmentRegister.Cs].Dpl;

    /// <summary>Bitness of the code being executed: 64, 32 or 16 (from CS.L and CS.D).</summary>
    public readonly int CodeBitness => Is64BitMode ? 64 : Segments[(int)SegmentRegister.Cs].DefaultBig ? 32 : 16;

    /// <summary>True when bits 63..47 (63..56 with 5-level paging) all equal the highest implemented bit.</summary>
    public readonly bool IsCanonical(ulong linear)
    {
        int bits = (Cr4 & Cr4La57) != 0 ? 57 : 48;
        return (ulong)(((long)linear << (64 - bits)) >> (64 - bits)) == linear;
    }

    public readonly ulong Read(Register r) => r switch
    {
        >= Register.Rax and <= Register.R15 => Gpr[(int)r],
        Register.Rip => Rip,
        Register.Rflags => Rflags,
        >= Register.Es and <= Register.Gs => Segments[r - Register.Es].Selector,
        >= Register.EsBase and <= Register.GsBase => Segments[r - Register.EsBase].Base,
        Register.Cr0 => Cr0,
        Register.Cr2 => Cr2,
        Register.Cr3 => Cr3,
        Register.Cr4 => Cr4,
        Register.Cr8 => Cr8,
        >= Register.Dr0 and <= Register.Dr3 => Dr[r - Register.Dr0],
        Register.Dr6 => Dr[6],
        Register.Dr7 => Dr[7],
        Register.Efer => Efer,
        Register.GdtrBase => Gdtr.Base,
        Register.GdtrLimit => Gdtr.Limit,
        Register.IdtrBase => Idtr.Base,
        Register.IdtrLimit => Idtr.Limit,
        Register.Ldtr => Ldtr.Selector,
        Register.Tr => Tr.Selector,
        _ => throw new ArgumentOutOfRangeException(nameof(r), r, "not a register"),
    };

    /// <summary>
    /// Writes a register as a debugger does: the value goes in as given, without the checks a guest
    /// instruction would meet (a selector write changes only the visible selector, not the cache).
    /// </summary>
    public void Write(Register r, ulong value)
    {
        switch (r)
        {
            case >= Register.Rax and <= Register.R15: Gpr[(int)r] = value; break;
            case Register.Rip: Rip = value; break;
            case Register.Rflags: Rflags = value; break;
            case >= Register.Es and <= Register.Gs: Segments[r - Register.Es].Selector = (ushort)value; break;
            case >= Register.EsBase and <= Register.GsBase: Segments[r - Register.EsBase].Base = value; break;
            case Register.Cr0: Cr0 = value; break;
            case Register.Cr2: Cr2 = value; break;
            case Register.Cr3: Cr3 = value; break;
            case Register.Cr4: Cr4 = value; break;
            case Register.Cr8: Cr8 = value; break;
            case >= Register.Dr0 and <= Register.Dr3: Dr[r - Register.Dr0] = value; break;
            case Register.Dr6: Dr[6] = value; break;
            case Register.Dr7: Dr[7] = value; break;
            case Register.Efer: Efer = value; break;
            case Register.GdtrBase: Gdtr.Base = value; break;
            case Register.GdtrLimit: Gdtr.Limit = (ushort)value; break;
            case Register.IdtrBase: Idtr.Base = value; break;
            case Register.IdtrLimit: Idtr.Limit = (ushort)value; break;
            case Register.Ldtr: Ldtr.Selector = (ushort)value; break;
            case Register.Tr: Tr.Selector = (ushort)value; break;
            default: throw new ArgumentOutOfRangeException(nameof(r), r, "not a register");
        }
    }

    // Code and data attributes of the flat segments a boot loader or kernel sets up (present, S, accessed).
    const ushort Code64Attr = SegmentCache.AttrPresent | SegmentCache.AttrS | SegmentCache.AttrCode | SegmentCache.AttrWritable
                              | SegmentCache.AttrAccessed | SegmentCache.AttrLong | SegmentCache.AttrGranularity;
    const ushort Code32Attr = SegmentCache.AttrPresent | SegmentCache.AttrS | SegmentCache.AttrCode | SegmentCache.AttrWritable
                              | SegmentCache.AttrAccessed | SegmentCache.AttrDefaultBig | SegmentCache.AttrGranularity;
    const ushort DataAttr = SegmentCache.AttrPresent | SegmentCache.AttrS | SegmentCache.AttrWritable | SegmentCache.AttrAccessed
                            | SegmentCache.AttrDefaultBig | SegmentCache.AttrGranularity;

    /// <summary>
    /// 32-bit protected mode with flat segments and paging off: the state in which a multiboot loader
    /// hands over (Multiboot spec 3.2), with EFLAGS bit 1 set and interrupts off.
    /// </summary>
    public static CpuState Flat32()
    {
        var s = new CpuState { Cr0 = Cr0PE | (1 << 4) /* ET */, Rflags = (ulong)RflagsBit.Reserved1 };
        ModelSpecificRegisters.Reset(ref s);
        LocalApic.Reset(ref s);
        s.Segments[(int)SegmentRegister.Cs] = SegmentCache.Flat(0x08, Code32Attr);
        foreach (var sr in new[] { SegmentRegister.Ds, SegmentRegister.Es, SegmentRegister.Ss, SegmentRegister.Fs, SegmentRegister.Gs })
            s.Segments[(int)sr] = SegmentCache.Flat(0x10, DataAttr);
        return s;
    }

    /// <summary>
    /// 64-bit mode at CPL 0 with flat segments, as a kernel runs after its long-mode switch: CR0.PG,
    /// CR4.PAE and EFER.LME/LMA set, CS.L set. CR3 is the caller's to point at page tables.
    /// </summary>
    public static CpuState Flat64(ulong cr3)
    {
        var s = Flat32();
        s.Cr0 |= Cr0PG;
        s.Cr3 = cr3;
        s.Cr4 = 1 << 5; // PAE
        s.Efer = EferLME | EferLMA;
        s.Segments[(int)SegmentRegister.Cs] = SegmentCache.Flat(0x08, Code64Attr);
        return s;
    }
}
