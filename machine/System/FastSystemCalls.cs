using Iced.Intel;

namespace Repl.Machine;

/// <summary>
/// Fast system calls (SDM Vol. 3, 5.8.7 and 5.8.8; Vol. 2, SYSCALL, SYSRET, SYSENTER, SYSEXIT, SWAPGS,
/// RDFSBASE/RDGSBASE, WRFSBASE/WRGSBASE; APM Vol. 3 for the AMD profile). SYSCALL, SYSRET, SYSENTER and SYSEXIT
/// change CPL without reading a descriptor: they load selectors computed from MSRs and put fixed values in the
/// CS and SS caches, which the operating system must keep matching its GDT. Iced gives all four a control-flow
/// kind other than Next, so each ends its decoded block and the next block is fetched at the new mode.
/// </summary>
public sealed unsafe partial class Cpu
{
    static delegate*<Cpu, ref Decoded, void> SelectFastSystemCalls(in Instruction i) => i.Mnemonic switch
    {
        Mnemonic.Syscall => &Syscall,
        Mnemonic.Sysret or Mnemonic.Sysretq => &Sysret,
        Mnemonic.Sysenter => &Sysenter,
        Mnemonic.Sysexit or Mnemonic.Sysexitq => &Sysexit,
        // Iced decodes SWAPGS and the FS/GS-base instructions only in 64-bit mode; elsewhere they are #UD as invalid.
        Mnemonic.Swapgs => &Swapgs,
        Mnemonic.Rdfsbase => &Rdfsbase,
        Mnemonic.Rdgsbase => &Rdgsbase,
        Mnemonic.Wrfsbase => &Wrfsbase,
        Mnemonic.Wrgsbase => &Wrgsbase,
        _ => null,
    };

    // The fixed descriptor-cache values (SDM Vol. 2, SYSCALL/SYSRET/SYSENTER/SYSEXIT, Operation): base 0, limit
    // FFFFFH with G set, present, S set; code is type 11 (execute/read, accessed), the stack type 3 (read/write,
    // accessed) with B set. The DPL is added by FixedSegment.
    const ushort FixedCommon = SegmentCache.AttrS | SegmentCache.AttrPresent | SegmentCache.AttrGranularity;
    const ushort FixedCodeType = SegmentCache.AttrCode | SegmentCache.AttrWritable | SegmentCache.AttrAccessed;
    const ushort FixedCode64 = FixedCommon | FixedCodeType | SegmentCache.AttrLong;
    const ushort FixedCode32 = FixedCommon | FixedCodeType | SegmentCache.AttrDefaultBig;
    const ushort FixedStack = FixedCommon | SegmentCache.AttrWritable | SegmentCache.AttrAccessed | SegmentCache.AttrDefaultBig;

    /// <summary>RPL bits of a selector.</summary>
    const int Rpl3 = 3;

    /// <summary>The RFLAGS bits SYSRET takes from R11 (SDM Vol. 2, SYSRET: R11 AND 3C7FD7H): all but the
    /// reserved bits 3, 5 and 15, RF and VM; bit 1 is set by the RFLAGS setter.</summary>
    const ulong SysretFlagsMask = 0x3C_7FD7;

    const ulong Cr4FsGsBase = 1 << 16;

    static SegmentCache FixedSegment(int selector, ushort attributes, int dpl) =>
        SegmentCache.Flat((ushort)selector, (ushort)(attributes | (dpl << 5)));

    void LoadFixedCsSs(int csSelector, ushort csAttributes, int ssSelector, int dpl)
    {
        State.Segments[(int)SegmentRegister.Cs] = FixedSegment(csSelector, csAttributes, dpl);
        State.Segments[(int)SegmentRegister.Ss] = FixedSegment(ssSelector, FixedStack, dpl);
    }

    /// <summary>
    /// SYSCALL from 64-bit mode (or, on the AMD profile, from compatibility mode): RCX := next RIP, R11 := RFLAGS,
    /// RFLAGS &amp;= ~IA32_FMASK with RF cleared, CS := STAR[47:32] &amp; FFFCh, SS := STAR[47:32] + 8, both at DPL 0
    /// with CS a 64-bit segment, RIP := LSTAR (CSTAR from compatibility mode). #UD when EFER.SCE is clear; on the
    /// Intel profile also outside 64-bit mode (the SDM lists it invalid in compatibility and legacy mode).
    /// In legacy mode (AMD only) SYSCALL has its original 32-bit form: ECX := next EIP, EIP := STAR[31:0], 32-bit
    /// CS and SS, VM, IF and RF cleared; R11 and SFMASK play no part (APM Vol. 3, SYSCALL).
    /// </summary>
    static void Syscall(Cpu c, ref Decoded d)
    {
        ref CpuState s = ref c.State;
        if ((s.Efer & CpuState.EferSCE) == 0 || (c.Vendor == CpuVendor.Intel && !s.Is64BitMode))
            throw new CpuFault(Vector.UD);
        var from = c.ContextIfListened(s.Rip);
        int selector = (int)(s.Star >> 32) & 0xFFFF;
        if ((s.Efer & CpuState.EferLMA) == 0)
        {
            s.Gpr[(int)Gpr.Rcx] = (uint)c.NextRip;
            s.FlagsStored &= ~(ulong)(RflagsBit.VM | RflagsBit.IF | RflagsBit.RF);
            c.LoadFixedCsSs(selector & ~Rpl3, FixedCode32, selector + 8, dpl: 0);
            c.NextRip = (uint)s.Star;
            c.Sink?.Transferred(TransferKind.Syscall, from);
            return;
        }
        ulong target = s.Is64BitMode ? s.Lstar : s.Cstar;
        // RF is cleared both in the saved image and in RFLAGS: the SDM says SYSCALL clears no flag but RF, and
        // the APM saves RFLAGS "with RF cleared".
        ulong flags = s.Rflags & ~(ulong)RflagsBit.RF;
        s.Gpr[(int)Gpr.Rcx] = c.NextRip;
        s.Gpr[(int)Gpr.R11] = flags;
        s.Rflags = flags & ~s.Sfmask;
        // SS is STAR[47:32] + 8 as it stands: only CS has its RPL forced to 0.
        c.LoadFixedCsSs(selector & ~Rpl3, FixedCode64, selector + 8, dpl: 0);
        c.NextRip = target;
        c.Sink?.Transferred(TransferKind.Syscall, from);
    }

    /// <summary>
    /// SYSRET at CPL 0: to 64-bit mode with REX.W (SYSRETQ: RIP := RCX, CS := STAR[63:48] + 16) or to
    /// compatibility mode without (RIP := ECX, CS := STAR[63:48]); SS := STAR[63:48] + 8; RPL 3 forced on both;
    /// RFLAGS := R11 with RF, VM and the reserved bits cleared.
    /// Intel: #UD outside 64-bit mode; a non-canonical RCX raises #GP(0) here, still at CPL 0, which is what made
    /// CVE-2012-0217 exploitable (the #GP is delivered in ring 0 with the user's RSP and GS base already back).
    /// AMD: allowed from compatibility mode too; RIP takes the non-canonical value and the #GP comes from the next
    /// instruction fetch, at CPL 3. AMD also loads only the SS selector and leaves SS's cached descriptor as it
    /// was (Linux's X86_BUG_SYSRET_SS_ATTRS: after SYSRET with a null SS, user SS reads as __USER_DS but is unusable).
    /// In legacy mode (AMD only) SYSRET returns to 32-bit code at ECX and sets IF instead of loading R11.
    /// </summary>
    static void Sysret(Cpu c, ref Decoded d)
    {
        ref CpuState s = ref c.State;
        bool intel = c.Vendor == CpuVendor.Intel;
        if ((s.Efer & CpuState.EferSCE) == 0 || (intel && !s.Is64BitMode))
            throw new CpuFault(Vector.UD);
        if (s.Cpl != 0 || (s.Cr0 & CpuState.Cr0PE) == 0)
            throw new CpuFault(Vector.GP, 0);
        bool to64 = d.Instruction.Mnemonic == Mnemonic.Sysretq;
        ulong rcx = s.Gpr[(int)Gpr.Rcx];
        if (to64 && intel && !c.IsCanonical(rcx))
            throw new CpuFault(Vector.GP, 0);
        var from = c.ContextIfListened(s.Rip);
        int selector = (int)(s.Star >> 48);
        if ((s.Efer & CpuState.EferLMA) == 0)
            s.FlagsStored |= (ulong)RflagsBit.IF;
        else
            s.Rflags = s.Gpr[(int)Gpr.R11] & SysretFlagsMask;
        s.Segments[(int)SegmentRegister.Cs] = FixedSegment((selector + (to64 ? 16 : 0)) | Rpl3, to64 ? FixedCode64 : FixedCode32, dpl: 3);
        int ss = (selector + 8) | Rpl3;
        if (intel)
            s.Segments[(int)SegmentRegister.Ss] = FixedSegment(ss, FixedStack, dpl: 3);
        else
            s.Segments[(int)SegmentRegister.Ss].Selector = (ushort)ss;
        c.NextRip = to64 ? rcx : (uint)rcx;
        c.Sink?.Transferred(TransferKind.Sysret, from);
    }

    /// <summary>
    /// SYSENTER: CS := SYSENTER_CS &amp; FFFCh, SS := that + 8, both DPL 0; RSP and RIP from SYSENTER_ESP and
    /// SYSENTER_EIP (their low halves outside IA-32e mode); VM, IF and RF cleared. #GP(0) in real mode or with a
    /// null SYSENTER_CS (bits 15:2 zero). In IA-32e mode the target is 64-bit code; the AMD profile raises #UD
    /// there instead (APM: SYSENTER is invalid in long mode).
    /// </summary>
    static void Sysenter(Cpu c, ref Decoded d)
    {
        ref CpuState s = ref c.State;
        bool ia32e = (s.Efer & CpuState.EferLMA) != 0;
        if (ia32e && c.Vendor == CpuVendor.Amd)
            throw new CpuFault(Vector.UD);
        if ((s.Cr0 & CpuState.Cr0PE) == 0 || (s.SysenterCs & 0xFFFC) == 0)
            throw new CpuFault(Vector.GP, 0);
        var from = c.ContextIfListened(s.Rip);
        s.FlagsStored &= ~(ulong)(RflagsBit.VM | RflagsBit.IF | RflagsBit.RF);
        int cs = (int)s.SysenterCs & 0xFFFC;
        c.LoadFixedCsSs(cs, ia32e ? FixedCode64 : FixedCode32, cs + 8, dpl: 0);
        s.Gpr[(int)Gpr.Rsp] = ia32e ? s.SysenterEsp : (uint)s.SysenterEsp;
        c.NextRip = ia32e ? s.SysenterEip : (uint)s.SysenterEip;
        c.Sink?.Transferred(TransferKind.Sysenter, from);
    }

    /// <summary>
    /// SYSEXIT at CPL 0: with REX.W to 64-bit mode (CS := SYSENTER_CS + 32, RSP := RCX, RIP := RDX, both of which
    /// must be canonical), else to 32-bit code (CS := SYSENTER_CS + 16, ESP := ECX, EIP := EDX); SS := CS + 8;
    /// RPL and DPL 3. #GP(0) in real mode, with a null SYSENTER_CS, or above CPL 0; #UD in long mode on the AMD profile.
    /// </summary>
    static void Sysexit(Cpu c, ref Decoded d)
    {
        ref CpuState s = ref c.State;
        if ((s.Efer & CpuState.EferLMA) != 0 && c.Vendor == CpuVendor.Amd)
            throw new CpuFault(Vector.UD);
        if ((s.Cr0 & CpuState.Cr0PE) == 0 || (s.SysenterCs & 0xFFFC) == 0 || s.Cpl != 0)
            throw new CpuFault(Vector.GP, 0);
        bool to64 = d.Instruction.Mnemonic == Mnemonic.Sysexitq;
        ulong rsp = s.Gpr[(int)Gpr.Rcx], rip = s.Gpr[(int)Gpr.Rdx];
        if (to64 && (!c.IsCanonical(rsp) || !c.IsCanonical(rip)))
            throw new CpuFault(Vector.GP, 0);
        var from = c.ContextIfListened(s.Rip);
        int cs = (((int)s.SysenterCs & 0xFFFF) + (to64 ? 32 : 16)) | Rpl3;
        c.LoadFixedCsSs(cs, to64 ? FixedCode64 : FixedCode32, cs + 8, dpl: 3);
        s.Gpr[(int)Gpr.Rsp] = to64 ? rsp : (uint)rsp;
        c.NextRip = to64 ? rip : (uint)rip;
        c.Sink?.Transferred(TransferKind.Sysexit, from);
    }

    /// <summary>SWAPGS: exchanges GS.base with IA32_KERNEL_GS_BASE. #GP(0) above CPL 0.</summary>
    static void Swapgs(Cpu c, ref Decoded d)
    {
        ref CpuState s = ref c.State;
        c.RequireCpl0();
        ref ulong gsBase = ref s.Segments[(int)SegmentRegister.Gs].Base;
        (gsBase, s.KernelGsBase) = (s.KernelGsBase, gsBase);
        c.Sink?.Swapped();
    }

    /// <summary>RDFSBASE, RDGSBASE, WRFSBASE, WRGSBASE are #UD unless CR4.FSGSBASE is set (64-bit mode is
    /// guaranteed by the decoding); they are allowed at any CPL.</summary>
    void CheckFsGsBase()
    {
        if ((State.Cr4 & Cr4FsGsBase) == 0)
            throw new CpuFault(Vector.UD);
    }

    /// <summary>RDFSBASE/RDGSBASE: the 32-bit form returns the low half, zero-extended as any 32-bit write.</summary>
    static void ReadSegmentBase(Cpu c, ref Decoded d, SegmentRegister seg)
    {
        c.CheckFsGsBase();
        c.WriteGpr(d.Ops[0].Reg, d.Ops[0].Size, c.State.Segments[(int)seg].Base);
    }

    /// <summary>WRFSBASE/WRGSBASE: the 32-bit form writes the register zero-extended; #GP(0) for a non-canonical base.</summary>
    static void WriteSegmentBase(Cpu c, ref Decoded d, SegmentRegister seg)
    {
        c.CheckFsGsBase();
        ulong value = c.ReadGpr(d.Ops[0].Reg, d.Ops[0].Size);
        if (!c.IsCanonical(value))
            throw new CpuFault(Vector.GP, 0);
        c.State.Segments[(int)seg].Base = value;
    }

    static void Rdfsbase(Cpu c, ref Decoded d) => ReadSegmentBase(c, ref d, SegmentRegister.Fs);

    static void Rdgsbase(Cpu c, ref Decoded d) => ReadSegmentBase(c, ref d, SegmentRegister.Gs);

    static void Wrfsbase(Cpu c, ref Decoded d) => WriteSegmentBase(c, ref d, SegmentRegister.Fs);

    static void Wrgsbase(Cpu c, ref Decoded d) => WriteSegmentBase(c, ref d, SegmentRegister.Gs);
}
