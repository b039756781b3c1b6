using System.Runtime.CompilerServices;
using Iced.Intel;

namespace Repl.Machine;

/// <summary>The four PDPTE registers of PAE paging.</summary>
[InlineArray(4)]
public struct PdpteFile
{
    ulong _element;
}

/// <summary>The bits of a page-fault error code (SDM Vol. 3, 4.7).</summary>
[Flags]
public enum PageFaultErrorCode : uint
{
    /// <summary>Clear: a non-present page. Set: a protection violation (or a reserved bit).</summary>
    Present = 1 << 0,
    Write = 1 << 1,
    User = 1 << 2,
    ReservedBit = 1 << 3,
    InstructionFetch = 1 << 4,
}

/// <summary>
/// Paging (SDM Vol. 3, chapter 4): 4-level and 5-level IA-32e paging with 4 KiB, 2 MiB and 1 GiB pages and PAE
/// paging in legacy protected mode (4 KiB and 2 MiB pages, through the PDPTE registers), the
/// protection checks (R/W, U/S, XD with EFER.NXE, CR0.WP, CR4.SMEP, CR4.SMAP with RFLAGS.AC), the accessed and
/// dirty bits, reserved-bit checks up to MAXPHYADDR, and exact page-fault error codes. Translations are cached in
/// the <see cref="Tlb"/>; a miss, or a write through an entry whose page is still clean, walks the tables.
/// 32-bit paging (CR0.PG without CR4.PAE) is not modelled: a MOV to CR0 or CR4 that would enable it raises #UD
/// as an unimplemented feature (ControlRegisters.cs).
/// </summary>
public sealed unsafe partial class Cpu
{
    /// <summary>MAXPHYADDR: physical address width, reported by CPUID 8000_0008h.</summary>
    public const int MaxPhysicalAddressBits = 46;

    /// <summary>The physical-address field of a paging-structure entry or CR3: bits MAXPHYADDR-1:12.</summary>
    internal const ulong PhysicalAddressMask = ((1UL << MaxPhysicalAddressBits) - 1) & ~(ulong)(PhysicalMemory.PageSize - 1);

    /// <summary>Entry bits 51:MAXPHYADDR, reserved in every paging-structure entry.</summary>
    const ulong ReservedAddressBits = ((1UL << 52) - 1) & ~((1UL << MaxPhysicalAddressBits) - 1);

    // Paging-structure entry bits (SDM Vol. 3, Tables 4-15 to 4-20).
    const ulong EntryPresent = 1 << 0, EntryWritable = 1 << 1, EntryUser = 1 << 2, EntryAccessed = 1 << 5,
        EntryDirty = 1 << 6, EntryPageSize = 1 << 7, EntryGlobal = 1 << 8, EntryExecuteDisable = 1UL << 63;

    internal readonly Tlb Tlb = new();

    // The translation-relevant registers the TLB was last brought in line with: a change made from outside the
    // guest (a debugger, a restored snapshot) is noticed by SyncTranslation and flushes everything.
    ulong _syncedCr0, _syncedCr3, _syncedCr4, _syncedEfer;

    static delegate*<Cpu, ref Decoded, void> SelectPaging(in Instruction i) => i.Mnemonic switch
    {
        Mnemonic.Invlpg => &Invlpg,
        Mnemonic.Invpcid => &Invpcid,
        Mnemonic.Stac => &Stac,
        Mnemonic.Clac => &Clac,
        _ => null,
    };

    /// <summary>CR0.PG with IA-32e mode or CR4.PAE: the paging modes modelled (see the class summary).</summary>
    internal bool PagingActive => (State.Cr0 & CpuState.Cr0PG) != 0
                                  && ((State.Efer & CpuState.EferLMA) != 0 || (State.Cr4 & CpuState.Cr4Pae) != 0);

    /// <summary>PAE paging outside IA-32e mode: translation starts at the PDPTE registers.</summary>
    bool LegacyPae => (State.Efer & CpuState.EferLMA) == 0 && (State.Cr4 & CpuState.Cr4Pae) != 0;

    /// <summary>PDPTE bits that must be zero in PAE paging (SDM Vol. 3, Table 4-8): 2:1, 8:5 and MAXPHYADDR and up.</summary>
    const ulong PdpteReserved = ~((1UL << MaxPhysicalAddressBits) - 1) | 0x1E6;

    /// <summary>The four PDPTEs of the table at <paramref name="cr3"/> (bits 31:5). When <paramref name="validate"/>,
    /// #GP(0) if a present one has a reserved bit set, as MOV to CR3, CR0 or CR4 raises when it loads them
    /// (SDM Vol. 3, 4.4.1).</summary>
    PdpteFile ReadPdptes(ulong cr3, bool validate = true)
    {
        var pdptes = new PdpteFile();
        for (int i = 0; i < 4; i++)
        {
            ulong entry = Bus.Read((cr3 & 0xFFFF_FFE0) + (ulong)i * 8, 8);
            if (validate && (entry & EntryPresent) != 0 && (entry & PdpteReserved) != 0)
                throw new CpuFault(Vector.GP, 0);
            pdptes[i] = entry;
        }
        return pdptes;
    }

    /// <summary>The privilege of an explicit data access by the current instruction.</summary>
    internal Privilege DataPrivilege => State.Cpl == 3 ? Privilege.User
        : (State.FlagsStored & (ulong)RflagsBit.AC) != 0 ? Privilege.SupervisorAc : Privilege.Supervisor;

    Privilege FetchPrivilege => State.Cpl == 3 ? Privilege.User : Privilege.Supervisor;

    /// <summary>Translates a linear address for an access, raising #PF when paging forbids it. While paging is
    /// off the TLB caches identity entries, so the fast path need not ask which mode is on (any change of CR0.PG
    /// flushes the TLB).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong Translate(ulong linear, Access kind, Privilege privilege)
    {
        if (Tlb.TryLookup(linear, Tlb.AllowBit(kind, privilege), out ulong physical))
            return physical;
        return TranslateMiss(linear, kind, privilege);
    }

    ulong TranslateMiss(ulong linear, Access kind, Privilege privilege)
    {
        if (!PagingActive)
        {
            Tlb.Insert(linear, linear & ~(ulong)(PhysicalMemory.PageSize - 1), Tlb.AllowAll, PhysicalMemory.PageShift, global: false);
            return linear;
        }
        if (!Walk(linear, kind, privilege, State.Cr3, setAccessedDirty: true, out var walk))
        {
            // A page fault invalidates the TLB entries for the faulting address (SDM Vol. 3, 4.10.4.1).
            Tlb.InvalidatePage(linear, CurrentPcid, includeGlobal: true);
            throw new CpuFault(Vector.PF, walk.ErrorCode, linear);
        }
        Tlb.Insert(linear, walk.Frame, walk.Allow, walk.PageShift, walk.Global);
        return walk.Frame | (linear & (PhysicalMemory.PageSize - 1));
    }

    /// <summary>The current PCID: CR3[11:0] with CR4.PCIDE, else 000H.</summary>
    int CurrentPcid => (State.Cr4 & CpuState.Cr4Pcide) != 0 ? (int)(State.Cr3 & 0xFFF) : 0;

    struct WalkResult
    {
        public ulong Frame;
        public ushort Allow;
        public int PageShift;
        public bool Global;
        public uint ErrorCode;
    }

    /// <summary>
    /// Walks the paging structures from <paramref name="cr3"/> (SDM Vol. 3, 4.5) and checks the access rights
    /// (4.6). On success the accessed flags of every entry used, and the dirty flag of the page on a write, are
    /// set when <paramref name="setAccessedDirty"/> (4.8); on failure <see cref="WalkResult.ErrorCode"/> is the
    /// page-fault error code and nothing is written.
    /// </summary>
    bool Walk(ulong linear, Access kind, Privilege privilege, ulong cr3, bool setAccessedDirty, out WalkResult result)
    {
        result = default;
        bool nxe = (State.Efer & CpuState.EferNXE) != 0;
        bool smep = (State.Cr4 & CpuState.Cr4Smep) != 0;
        uint accessBits = (kind == Access.Write ? (uint)PageFaultErrorCode.Write : 0)
            | (privilege == Privilege.User ? (uint)PageFaultErrorCode.User : 0)
            | (kind == Access.Execute && (nxe || smep) ? (uint)PageFaultErrorCode.InstructionFetch : 0);
        ulong reserved = ReservedAddressBits | (nxe ? 0 : EntryExecuteDisable);
        Span<ulong> addresses = stackalloc ulong[5];
        Span<ulong> entries = stackalloc ulong[5];
        ulong table = cr3 & PhysicalAddressMask;
        ulong rights = EntryWritable | EntryUser, executeDisable = 0;
        int levels = (State.Cr4 & CpuState.Cr4La57) != 0 ? 5 : 4;
        if (LegacyPae)
        {
            // The PDPTE comes from its register (or, for a debugger's other CR3, from memory) and carries no
            // rights and no accessed flag; the walk goes on at the page directory.
            int index = (int)(linear >> 30) & 3;
            ulong pdpte = cr3 == State.Cr3 ? State.Pdpte[index] : Bus.Read((cr3 & 0xFFFF_FFE0) + (ulong)index * 8, 8);
            if ((pdpte & EntryPresent) == 0)
            {
                result.ErrorCode = accessBits;
                return false;
            }
            table = pdpte & PhysicalAddressMask;
            levels = 2;
        }
        int level = levels;
        int shift;
        while (true)
        {
            shift = PhysicalMemory.PageShift + 9 * (level - 1);
            ulong address = table + ((linear >> shift) & 511) * 8;
            ulong entry = Bus.Read(address, 8);
            addresses[level - 1] = address;
            entries[level - 1] = entry;
            if ((entry & EntryPresent) == 0)
            {
                result.ErrorCode = accessBits;
                return false;
            }
            bool leaf = level == 1 || (level <= 3 && (entry & EntryPageSize) != 0);
            ulong levelReserved = reserved;
            if (level >= 4)
                levelReserved |= EntryPageSize; // no pages at the PML5E and PML4E levels
            else if (leaf && level > 1)
                levelReserved |= ((1UL << shift) - 1) & ~0x1FFFUL; // a large page's frame is aligned; bit 12 is PAT
            if ((entry & levelReserved) != 0)
            {
                result.ErrorCode = accessBits | (uint)(PageFaultErrorCode.Present | PageFaultErrorCode.ReservedBit);
                return false;
            }
            rights &= entry;
            executeDisable |= entry & EntryExecuteDisable;
            if (leaf)
                break;
            table = entry & PhysicalAddressMask;
            level--;
        }

        ulong leafEntry = entries[level - 1];
        bool writable = (rights & EntryWritable) != 0, user = (rights & EntryUser) != 0, xd = executeDisable != 0;
        if ((AllowedAccesses(writable, user, xd, dirty: true) & Tlb.AllowBit(kind, privilege)) == 0)
        {
            result.ErrorCode = accessBits | (uint)PageFaultErrorCode.Present;
            return false;
        }
        bool dirty = (leafEntry & EntryDirty) != 0;
        if (setAccessedDirty)
        {
            for (int l = levels; l >= level; l--)
            {
                ulong set = EntryAccessed | (l == level && kind == Access.Write ? EntryDirty : 0);
                if ((entries[l - 1] & set) != set)
                    Bus.Write(addresses[l - 1], 8, entries[l - 1] | set);
            }
            dirty |= kind == Access.Write;
        }
        ulong pageMask = (1UL << shift) - 1;
        result.Frame = (leafEntry & PhysicalAddressMask & ~pageMask) | (linear & pageMask & PhysicalAddressMask);
        result.PageShift = shift;
        result.Global = (leafEntry & EntryGlobal) != 0 && (State.Cr4 & CpuState.Cr4Pge) != 0;
        result.Allow = AllowedAccesses(writable, user, xd, dirty);
        return true;
    }

    /// <summary>
    /// The (privilege, access) pairs a translation allows under the current CR0.WP, CR4.SMEP and CR4.SMAP
    /// (SDM Vol. 3, 4.6.1), as <see cref="Tlb.AllowBit"/> bits. Writes count as allowed only on a dirty page, so
    /// that the first write to a clean page walks again and sets D. CR0.WP, SMEP and SMAP are baked in, which is
    /// why changing any of them flushes the TLB (ControlRegisters.cs).
    /// </summary>
    ushort AllowedAccesses(bool writable, bool user, bool executeDisable, bool dirty)
    {
        bool wp = (State.Cr0 & CpuState.Cr0WP) != 0;
        bool smep = (State.Cr4 & CpuState.Cr4Smep) != 0, smap = (State.Cr4 & CpuState.Cr4Smap) != 0;
        ushort allow = 0;
        foreach (var privilege in (ReadOnlySpan<Privilege>)[Privilege.User, Privilege.Supervisor, Privilege.SupervisorAc])
        {
            bool supervisor = privilege != Privilege.User;
            bool read = supervisor ? !(user && smap && privilege == Privilege.Supervisor) : user;
            bool write = read && dirty && (writable || (supervisor && !wp));
            bool execute = !executeDisable && (supervisor ? !(user && smep) : user);
            if (read) allow |= Tlb.AllowBit(Access.Read, privilege);
            if (write) allow |= Tlb.AllowBit(Access.Write, privilege);
            if (execute) allow |= Tlb.AllowBit(Access.Execute, privilege);
        }
        return allow;
    }

    /// <summary>
    /// Brings the TLB in line with CR0, CR3, CR4 and EFER when they were changed from outside the guest since it
    /// last looked (a debugger's register write, a restored snapshot): everything cached is dropped. Guest writes
    /// through MOV to CRn do their own, architected invalidation and record the result with <see cref="TranslationRegistersChanged"/>.
    /// </summary>
    internal void SyncTranslation()
    {
        if (State.Cr0 == _syncedCr0 && State.Cr3 == _syncedCr3 && State.Cr4 == _syncedCr4 && State.Efer == _syncedEfer)
            return;
        // A debugger that points CR3 elsewhere under PAE paging means the new tables: load their PDPTEs as found.
        if (State.Cr3 != _syncedCr3 && PagingActive && LegacyPae)
            State.Pdpte = ReadPdptes(State.Cr3, validate: false);
        Tlb.FlushAll();
        TranslationRegistersChanged();
    }

    void TranslationRegistersChanged()
    {
        Tlb.SwitchPcid(CurrentPcid);
        (_syncedCr0, _syncedCr3, _syncedCr4, _syncedEfer) = (State.Cr0, State.Cr3, State.Cr4, State.Efer);
    }

    /// <summary>
    /// Translates as a debugger looks at memory: through <paramref name="cr3"/>, with the current paging mode,
    /// ignoring access rights, and without touching the TLB or the accessed and dirty flags.
    /// </summary>
    public bool TryTranslate(ulong linear, ulong cr3, out ulong physical)
    {
        physical = linear;
        if (!PagingActive)
            return true;
        if (!IsCanonical(linear) || !Walk(linear, Access.Read, Privilege.SupervisorAc, cr3, setAccessedDirty: false, out var walk))
            return false;
        physical = walk.Frame | (linear & (PhysicalMemory.PageSize - 1));
        return true;
    }

    /// <summary>INVLPG m (SDM Vol. 2): privileged; drops the page's translations for the current PCID and its
    /// global ones. A non-canonical address in 64-bit mode makes it a no-op. It touches no memory, so neither
    /// segment checks nor page faults apply.</summary>
    static void Invlpg(Cpu c, ref Decoded d)
    {
        c.RequireCpl0();
        ulong linear = c.EffectiveAddress(ref d);
        if (c.State.Is64BitMode)
        {
            if (d.MemSegment >= SegmentRegister.Fs)
                linear += c.State.Segments[(int)d.MemSegment].Base;
        }
        else
            linear = (linear + c.State.Segments[(int)d.MemSegment].Base) & 0xFFFF_FFFF;
        c.Tlb.InvalidatePage(linear, c.CurrentPcid, includeGlobal: true);
    }

    /// <summary>
    /// INVPCID r, m128 (SDM Vol. 2): the register names the type, the memory operand holds the PCID (bits 11:0,
    /// bits 63:12 reserved) and a linear address. Type 0: one address in one PCID, global translations aside;
    /// 1: one PCID's non-global translations; 2: everything; 3: everything but global translations. #GP(0) for a
    /// type above 3, reserved descriptor bits, a non-canonical address (type 0), or a non-zero PCID while
    /// CR4.PCIDE = 0 (types 0 and 1).
    /// </summary>
    static void Invpcid(Cpu c, ref Decoded d)
    {
        c.RequireCpl0();
        ulong type = c.ReadOperand(ref d, 0);
        if (type > 3)
            throw new CpuFault(Vector.GP, 0);
        ulong ea = c.EffectiveAddress(ref d);
        ulong descriptor = c.ReadMemory(d.MemSegment, ea, 8);
        ulong linear = c.ReadMemory(d.MemSegment, (ea + 8) & SizeMask(d.AddressSize), 8);
        int pcid = (int)(descriptor & 0xFFF);
        bool pcide = (c.State.Cr4 & CpuState.Cr4Pcide) != 0;
        if ((descriptor >> 12) != 0 || (type == 0 && !c.IsCanonical(linear)) || (type <= 1 && !pcide && pcid != 0))
            throw new CpuFault(Vector.GP, 0);
        switch (type)
        {
            case 0: c.Tlb.InvalidatePage(linear, pcid, includeGlobal: false); break;
            case 1: c.Tlb.FlushPcid(pcid); break;
            case 2: c.Tlb.FlushAll(); break;
            default: c.Tlb.FlushAllNonGlobal(); break;
        }
    }

    /// <summary>STAC and CLAC set and clear RFLAGS.AC, which lets explicit supervisor accesses reach user pages
    /// under SMAP. #UD above CPL 0 (SDM Vol. 2, STAC).</summary>
    static void Stac(Cpu c, ref Decoded d)
    {
        if (c.State.Cpl != 0)
            throw new CpuFault(Vector.UD);
        c.State.FlagsStored |= (ulong)RflagsBit.AC;
    }

    static void Clac(Cpu c, ref Decoded d)
    {
        if (c.State.Cpl != 0)
            throw new CpuFault(Vector.UD);
        c.State.FlagsStored &= ~(ulong)RflagsBit.AC;
    }
}
