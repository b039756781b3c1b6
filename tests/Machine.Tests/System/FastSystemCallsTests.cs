using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Repl.Machine.Tests.SystemArchitecture;

public class FastSystemCallsTests
{
    // Linux's layout: STAR[47:32] = __KERNEL_CS (0x10), STAR[63:48] = __USER32_CS (0x23), so SYSRETQ loads
    // CS 0x33 and SS 0x2B.
    const ulong Star = (0x23UL << 48) | (0x10UL << 32);
    const ulong Lstar = 0xFFFF_FFFF_8100_0000;
    const ulong Cstar = 0xFFFF_FFFF_8100_1000;

    // The fixed descriptor caches, as the access byte and flags nibble of the matching GDT descriptors.
    const ushort KernelCode64 = 0xA09B, UserCode64 = 0xA0FB, KernelCode32 = 0xC09B, UserCode32 = 0xC0FB;
    const ushort KernelStack = 0xC093, UserStack = 0xC0F3;

    static ref SegmentCache Segment(Machine m, SegmentRegister r) => ref m.State.Segments[(int)r];

    static void AssertFlatSegment(SegmentCache s, ushort selector, ushort attributes)
    {
        Assert.Equal(selector, s.Selector);
        Assert.Equal(0UL, s.Base);
        Assert.Equal(0xFFFF_FFFFu, s.Limit);
        Assert.Equal(attributes, s.Attributes);
    }

    /// <summary>A 64-bit machine with SYSCALL enabled and the MSRs set as Linux sets them.</summary>
    static Machine WithSyscall(Machine m)
    {
        m.State.Efer |= CpuState.EferSCE;
        m.WriteMsr(Msr.Star, Star);
        m.WriteMsr(Msr.Lstar, Lstar);
        m.WriteMsr(Msr.Cstar, Cstar);
        return m;
    }

    /// <summary>IA-32e mode with CS a 32-bit segment: compatibility mode, running 32-bit code.</summary>
    static Machine Compatibility(Action<Assembler> build, CpuVendor vendor)
    {
        var m = Machine.CreateLongMode(new MachineOptions { Vendor = vendor });
        Guest.Load(m, Guest.Assemble(32, build));
        ref SegmentCache cs = ref Segment(m, SegmentRegister.Cs);
        cs.Attributes = (ushort)((cs.Attributes & ~SegmentCache.AttrLong) | SegmentCache.AttrDefaultBig);
        return m;
    }

    static void StepOnce(Machine m) => Assert.Equal(StopKind.StepDone, m.Step(1).Kind);

    const ulong UserFlags = (ulong)(RflagsBit.IF | RflagsBit.DF | RflagsBit.AC | RflagsBit.CF | RflagsBit.ID | RflagsBit.Reserved1);

    [Theory]
    [InlineData(CpuVendor.Intel)]
    [InlineData(CpuVendor.Amd)]
    public void Syscall_from_64_bit_user_mode_enters_lstar_at_cpl0_with_rcx_r11_and_masked_flags(CpuVendor vendor)
    {
        var m = WithSyscall(Guest.Long(a => a.syscall(), vendor));
        Guest.RunAtCpl3(m);
        m.State.Rflags = UserFlags | (ulong)RflagsBit.RF;
        m.WriteMsr(Msr.Fmask, (ulong)(RflagsBit.IF | RflagsBit.DF | RflagsBit.AC));

        StepOnce(m);
        Assert.Equal(Lstar, m.State.Rip);
        Assert.Equal(Guest.CodeAddress + 2, m.ReadRegister(Register.Rcx));
        Assert.Equal(UserFlags, m.ReadRegister(Register.R11)); // RF cleared in the saved image
        Assert.Equal((ulong)(RflagsBit.CF | RflagsBit.ID | RflagsBit.Reserved1), m.State.Rflags);
        Assert.Equal(0, m.State.Cpl);
        AssertFlatSegment(Segment(m, SegmentRegister.Cs), 0x10, KernelCode64);
        AssertFlatSegment(Segment(m, SegmentRegister.Ss), 0x18, KernelStack);
        Assert.Equal(Guest.StackTop, m.ReadRegister(Register.Rsp)); // SYSCALL leaves the stack to the kernel
    }

    [Fact]
    public void Syscall_forces_cs_rpl_to_0_but_adds_8_to_the_star_selector_for_ss_as_it_stands()
    {
        var m = WithSyscall(Guest.Long(a => a.syscall()));
        m.WriteMsr(Msr.Star, 0x13UL << 32);

        StepOnce(m);
        Assert.Equal((ushort)0x10, Segment(m, SegmentRegister.Cs).Selector);
        Assert.Equal((ushort)0x1B, Segment(m, SegmentRegister.Ss).Selector);
    }

    [Theory]
    [InlineData(CpuVendor.Intel)]
    [InlineData(CpuVendor.Amd)]
    public void Syscall_and_sysret_with_efer_sce_clear_raise_ud(CpuVendor vendor)
    {
        foreach (var build in new Action<Assembler>[] { a => a.syscall(), a => a.sysretq() })
        {
            var m = WithSyscall(Guest.Long(build, vendor));
            m.State.Efer &= ~CpuState.EferSCE;
            Expect.FaultWithoutEffect(m, Vector.UD, null);
        }
    }

    [Fact]
    public void Syscall_from_compatibility_mode_is_ud_on_intel()
    {
        var m = WithSyscall(Compatibility(a => a.syscall(), CpuVendor.Intel));
        Expect.FaultWithoutEffect(m, Vector.UD, null);
    }

    [Fact]
    public void Syscall_from_compatibility_mode_enters_cstar_in_64_bit_mode_on_amd()
    {
        var m = WithSyscall(Compatibility(a => a.syscall(), CpuVendor.Amd));
        Guest.RunAtCpl3(m);

        StepOnce(m);
        Assert.Equal(Cstar, m.State.Rip);
        Assert.Equal(Guest.CodeAddress + 2, m.ReadRegister(Register.Rcx));
        Assert.True(m.State.Is64BitMode);
        AssertFlatSegment(Segment(m, SegmentRegister.Cs), 0x10, KernelCode64);
    }

    [Fact]
    public void Syscall_and_sysret_in_legacy_mode_are_ud_on_intel()
    {
        foreach (var build in new Action<Assembler>[] { a => a.syscall(), a => a.sysret() })
        {
            var m = WithSyscall(Guest.Protected(build));
            Expect.FaultWithoutEffect(m, Vector.UD, null);
        }
    }

    [Fact]
    public void Syscall_in_legacy_mode_on_amd_enters_star_eip_with_ecx_and_if_cleared()
    {
        var m = WithSyscall(Guest.Protected(a => a.syscall(), CpuVendor.Amd));
        Guest.RunAtCpl3(m);
        m.WriteMsr(Msr.Star, Star | 0xC010_0000);
        m.State.Rflags = UserFlags;
        m.WriteRegister(Register.R11, 0x5A5A);

        StepOnce(m);
        Assert.Equal(0xC010_0000UL, m.State.Rip);
        Assert.Equal(Guest.CodeAddress + 2, m.ReadRegister(Register.Rcx));
        Assert.Equal(UserFlags & ~(ulong)RflagsBit.IF, m.State.Rflags); // SFMASK is for long mode only
        Assert.Equal(0x5A5AUL, m.ReadRegister(Register.R11));
        AssertFlatSegment(Segment(m, SegmentRegister.Cs), 0x10, KernelCode32);
        AssertFlatSegment(Segment(m, SegmentRegister.Ss), 0x18, KernelStack);
    }

    [Fact]
    public void Sysret_in_legacy_mode_on_amd_returns_to_ecx_with_if_set()
    {
        var m = WithSyscall(Guest.Protected(a => a.sysret(), CpuVendor.Amd));
        m.State.Rflags = (ulong)RflagsBit.CF;
        m.WriteRegister(Register.Rcx, 0x0804_8000);
        m.WriteRegister(Register.R11, UserFlags);
        SegmentCache ssBefore = Segment(m, SegmentRegister.Ss);

        StepOnce(m);
        Assert.Equal(0x0804_8000UL, m.State.Rip);
        Assert.Equal((ulong)(RflagsBit.CF | RflagsBit.IF | RflagsBit.Reserved1), m.State.Rflags);
        AssertFlatSegment(Segment(m, SegmentRegister.Cs), 0x23, UserCode32);
        Assert.Equal(ssBefore with { Selector = 0x2B }, Segment(m, SegmentRegister.Ss));
        Assert.Equal(3, m.State.Cpl);
    }

    [Theory]
    [InlineData(CpuVendor.Intel)]
    [InlineData(CpuVendor.Amd)]
    public void Sysretq_returns_to_64_bit_user_mode_at_rcx_with_rpl3_selectors_and_flags_from_r11(CpuVendor vendor)
    {
        var m = WithSyscall(Guest.Long(a => a.sysretq(), vendor));
        m.WriteRegister(Register.Rcx, 0x0000_7FFF_1234_5678);
        // RF, VM and the reserved bits 3, 5 and 15 are dropped; bit 1 is set.
        m.WriteRegister(Register.R11, UserFlags | (ulong)(RflagsBit.RF | RflagsBit.VM) | (1 << 3) | (1 << 5) | (1 << 15) | (1UL << 40));

        StepOnce(m);
        Assert.Equal(0x0000_7FFF_1234_5678UL, m.State.Rip);
        Assert.Equal(UserFlags, m.State.Rflags);
        Assert.Equal(3, m.State.Cpl);
        Assert.True(m.State.Is64BitMode);
        AssertFlatSegment(Segment(m, SegmentRegister.Cs), 0x33, UserCode64);
        Assert.Equal((ushort)0x2B, Segment(m, SegmentRegister.Ss).Selector);
    }

    [Fact]
    public void Sysret_loads_a_fixed_user_stack_segment_on_intel()
    {
        var m = WithSyscall(Guest.Long(a => a.sysretq()));
        Segment(m, SegmentRegister.Ss) = default; // a null SS, as after an interrupt into a kernel thread
        m.WriteRegister(Register.Rcx, 0x40_0000);

        StepOnce(m);
        AssertFlatSegment(Segment(m, SegmentRegister.Ss), 0x2B, UserStack);
    }

    [Fact]
    public void Sysret_loads_only_the_ss_selector_on_amd_leaving_its_cached_descriptor()
    {
        var m = WithSyscall(Guest.Long(a => a.sysretq(), CpuVendor.Amd));
        Segment(m, SegmentRegister.Ss) = default;
        m.WriteRegister(Register.Rcx, 0x40_0000);

        StepOnce(m);
        var ss = Segment(m, SegmentRegister.Ss);
        Assert.Equal((ushort)0x2B, ss.Selector);
        Assert.Equal((ushort)0, ss.Attributes); // still the unusable null descriptor: X86_BUG_SYSRET_SS_ATTRS
        Assert.Equal(3, m.State.Cpl);
    }

    [Fact]
    public void Sysret_without_rex_w_returns_to_compatibility_mode_at_ecx()
    {
        var m = WithSyscall(Guest.Long(a => a.sysret()));
        m.WriteRegister(Register.Rcx, 0xFFFF_FFFF_0804_8000);
        m.WriteRegister(Register.R11, UserFlags);

        StepOnce(m);
        Assert.Equal(0x0804_8000UL, m.State.Rip);
        Assert.False(m.State.Is64BitMode);
        Assert.Equal(32, m.State.CodeBitness);
        AssertFlatSegment(Segment(m, SegmentRegister.Cs), 0x23, UserCode32);
        AssertFlatSegment(Segment(m, SegmentRegister.Ss), 0x2B, UserStack);
    }

    [Fact]
    public void Code_after_sysret_to_compatibility_mode_decodes_as_32_bit_code()
    {
        // SYSRET returns to the very next byte, so no branch ends the block there: the mode change must.
        // 48 FF C0 is INC RAX in 64-bit code but DEC EAX; INC EAX in 32-bit code.
        var m = WithSyscall(Guest.FromBytes(64, 0x0F, 0x07, 0x48, 0xFF, 0xC0));
        m.WriteRegister(Register.Rcx, Guest.CodeAddress + 2);
        m.WriteRegister(Register.Rax, 5);

        Assert.Equal(StopKind.InstructionBudget, m.Run(2).Kind);
        Assert.Equal(4UL, m.ReadRegister(Register.Rax));
        Assert.Equal(Guest.CodeAddress + 3, m.State.Rip);
    }

    [Fact]
    public void Sysret_with_noncanonical_rcx_faults_at_cpl0_on_intel()
    {
        var m = WithSyscall(Guest.Long(a => a.sysretq()));
        m.WriteRegister(Register.Rcx, 0x0000_8000_0000_0000);
        m.WriteRegister(Register.R11, UserFlags);

        Expect.FaultWithoutEffect(m, Vector.GP, 0);
        Assert.Equal(0, m.State.Cpl); // the CVE-2012-0217 condition: the #GP is the kernel's, on the user's RSP
        AssertFlatSegment(Segment(m, SegmentRegister.Cs), 0x08, 0xA09B);
    }

    [Fact]
    public void Sysret_with_noncanonical_rcx_faults_at_cpl3_on_the_next_fetch_on_amd()
    {
        var m = WithSyscall(Guest.Long(a => a.sysretq(), CpuVendor.Amd));
        m.WriteRegister(Register.Rcx, 0x0000_8000_0000_0000);
        m.WriteRegister(Register.R11, UserFlags);

        var stop = m.Run(10);
        Assert.Equal(StopKind.Fault, stop.Kind);
        Assert.Equal(Vector.GP, stop.Vector);
        Assert.Equal(0u, stop.ErrorCode);
        Assert.Equal(0x0000_8000_0000_0000UL, stop.Rip);
        Assert.Equal(3, m.State.Cpl);
        Assert.Equal(UserFlags, m.State.Rflags);
    }

    [Theory]
    [InlineData(CpuVendor.Intel)]
    [InlineData(CpuVendor.Amd)]
    public void Sysret_above_cpl0_raises_gp(CpuVendor vendor)
    {
        var m = WithSyscall(Guest.Long(a => a.sysretq(), vendor));
        Guest.RunAtCpl3(m);
        Expect.FaultWithoutEffect(m, Vector.GP, 0);
    }

    [Fact]
    public void Sysret_from_compatibility_mode_is_ud_on_intel()
    {
        var m = WithSyscall(Compatibility(a => a.sysret(), CpuVendor.Intel));
        Expect.FaultWithoutEffect(m, Vector.UD, null);
    }

    [Fact]
    public void Sysenter_in_protected_mode_enters_32_bit_code_at_cpl0_with_if_cleared()
    {
        var m = Guest.Protected(a => a.sysenter());
        Guest.RunAtCpl3(m);
        m.State.Rflags = UserFlags;
        m.WriteMsr(Msr.SysenterCs, 0x13); // RPL bits are ignored
        m.WriteMsr(Msr.SysenterEsp, 0xFFFF_FFFF_0009_0000);
        m.WriteMsr(Msr.SysenterEip, 0xFFFF_FFFF_C010_0000);

        StepOnce(m);
        Assert.Equal(0xC010_0000UL, m.State.Rip);
        Assert.Equal(0x0009_0000UL, m.ReadRegister(Register.Rsp));
        Assert.Equal(UserFlags & ~(ulong)RflagsBit.IF, m.State.Rflags);
        AssertFlatSegment(Segment(m, SegmentRegister.Cs), 0x10, KernelCode32);
        AssertFlatSegment(Segment(m, SegmentRegister.Ss), 0x18, KernelStack);
        Assert.Equal(0, m.State.Cpl);
    }

    [Fact]
    public void Sysenter_in_long_mode_enters_64_bit_code_on_intel()
    {
        var m = Compatibility(a => a.sysenter(), CpuVendor.Intel);
        Guest.RunAtCpl3(m);
        m.WriteMsr(Msr.SysenterCs, 0x10);
        m.WriteMsr(Msr.SysenterEsp, 0xFFFF_C900_0000_8000);
        m.WriteMsr(Msr.SysenterEip, Lstar);

        StepOnce(m);
        Assert.Equal(Lstar, m.State.Rip);
        Assert.Equal(0xFFFF_C900_0000_8000UL, m.ReadRegister(Register.Rsp));
        Assert.True(m.State.Is64BitMode);
        AssertFlatSegment(Segment(m, SegmentRegister.Cs), 0x10, KernelCode64);
    }

    [Fact]
    public void Sysenter_and_sysexit_in_long_mode_raise_ud_on_amd()
    {
        foreach (var build in new Action<Assembler>[] { a => a.sysenter(), a => a.sysexitq() })
        {
            var m = Guest.Long(build, CpuVendor.Amd);
            m.WriteMsr(Msr.SysenterCs, 0x10);
            Expect.FaultWithoutEffect(m, Vector.UD, null);
        }
    }

    [Fact]
    public void Sysenter_with_a_null_sysenter_cs_raises_gp()
    {
        var m = Guest.Protected(a => a.sysenter());
        m.WriteMsr(Msr.SysenterCs, 3); // bits 15:2 zero
        Expect.FaultWithoutEffect(m, Vector.GP, 0);
    }

    [Theory]
    [InlineData(32, 0x23, UserCode32)]
    [InlineData(64, 0x33, UserCode64)]
    public void Sysexit_returns_to_cpl3_at_rdx_with_the_stack_at_rcx_and_cs_16_or_32_above_sysenter_cs(int bitness, int cs, int attributes)
    {
        // With REX.W (SYSEXITQ) the return is to 64-bit mode and CS is SYSENTER_CS + 32; without, to 32-bit code at + 16.
        var m = Guest.Create(bitness, a => { if (bitness == 64) a.sysexitq(); else a.sysexit(); });
        m.WriteMsr(Msr.SysenterCs, 0x10);
        m.WriteRegister(Register.Rcx, 0xBFFF_F000);
        m.WriteRegister(Register.Rdx, 0x0804_8000);

        StepOnce(m);
        Assert.Equal(0x0804_8000UL, m.State.Rip);
        Assert.Equal(0xBFFF_F000UL, m.ReadRegister(Register.Rsp));
        AssertFlatSegment(Segment(m, SegmentRegister.Cs), (ushort)cs, (ushort)attributes);
        AssertFlatSegment(Segment(m, SegmentRegister.Ss), (ushort)(cs + 8), UserStack);
        Assert.Equal(3, m.State.Cpl);
        Assert.Equal(bitness, m.State.CodeBitness);
    }

    [Fact]
    public void Sysexit_faults_above_cpl0_and_on_a_noncanonical_target()
    {
        var user = Guest.Long(a => a.sysexitq());
        user.WriteMsr(Msr.SysenterCs, 0x10);
        Guest.RunAtCpl3(user);
        Expect.FaultWithoutEffect(user, Vector.GP, 0);

        var noncanonical = Guest.Long(a => a.sysexitq());
        noncanonical.WriteMsr(Msr.SysenterCs, 0x10);
        noncanonical.WriteRegister(Register.Rdx, Guest.NonCanonical);
        Expect.FaultWithoutEffect(noncanonical, Vector.GP, 0);
    }

    [Fact]
    public void Swapgs_exchanges_gs_base_and_kernel_gs_base_and_a_second_swapgs_restores_them()
    {
        // The kernel's per-CPU area is reached through GS only between the two SWAPGS.
        var m = Guest.Long(a => { a.swapgs(); a.mov(rax, __qword_ptr.gs[8]); a.swapgs(); a.hlt(); });
        m.WriteRegister(Register.GsBase, 0x0000_7F00_0000_0000);
        m.WriteMsr(Msr.KernelGsBase, Guest.Data);
        m.WritePhysical(Guest.Data + 8, BitConverter.GetBytes(0x1122_3344_5566_7788UL));

        StepOnce(m);
        Assert.Equal(Guest.Data, m.ReadRegister(Register.GsBase));
        Assert.Equal(0x0000_7F00_0000_0000UL, m.ReadMsr(Msr.KernelGsBase));

        Guest.RunToHalt(m);
        Assert.Equal(0x1122_3344_5566_7788UL, m.ReadRegister(Register.Rax));
        Assert.Equal(0x0000_7F00_0000_0000UL, m.ReadRegister(Register.GsBase));
        Assert.Equal(Guest.Data, m.ReadMsr(Msr.KernelGsBase));
    }

    [Fact]
    public void Swapgs_above_cpl0_raises_gp_and_outside_64_bit_mode_raises_ud()
    {
        var user = Guest.Long(a => a.swapgs());
        Guest.RunAtCpl3(user);
        Expect.FaultWithoutEffect(user, Vector.GP, 0);

        var compat = Guest.FromBytes(32, 0x0F, 0x01, 0xF8);
        Expect.FaultWithoutEffect(compat, Vector.UD, null);
    }

    const ulong Cr4FsGsBase = 1 << 16;

    [Fact]
    public void Fs_and_gs_base_instructions_read_and_write_the_bases_at_cpl3_under_cr4_fsgsbase()
    {
        var m = Guest.Long(a =>
        {
            a.wrfsbase(rax);
            a.wrgsbase(ecx);
            a.rdfsbase(rbx);
            a.rdgsbase(rdx);
            a.rdfsbase(esi);
        });
        m.State.Cr4 |= Cr4FsGsBase;
        m.WriteRegister(Register.Rax, 0xFFFF_8000_1234_5678);
        m.WriteRegister(Register.Rcx, 0xAAAA_BBBB_CCCC_DDDD); // the 32-bit form writes ECX zero-extended
        m.WriteRegister(Register.Rsi, ulong.MaxValue);
        Guest.RunAtCpl3(m);
        Assert.Equal(StopKind.InstructionBudget, m.Run(5).Kind);

        Assert.Equal(0xFFFF_8000_1234_5678UL, m.ReadRegister(Register.FsBase));
        Assert.Equal(0xCCCC_DDDDUL, m.ReadRegister(Register.GsBase));
        Assert.Equal(0xFFFF_8000_1234_5678UL, m.ReadRegister(Register.Rbx));
        Assert.Equal(0xCCCC_DDDDUL, m.ReadRegister(Register.Rdx));
        Assert.Equal(0x1234_5678UL, m.ReadRegister(Register.Rsi));
    }

    [Fact]
    public void Fs_and_gs_base_instructions_raise_ud_without_cr4_fsgsbase_and_gp_for_a_noncanonical_base()
    {
        foreach (var build in new Action<Assembler>[] { a => a.rdfsbase(rax), a => a.rdgsbase(rax), a => a.wrfsbase(rax), a => a.wrgsbase(rax) })
            Expect.FaultWithoutEffect(Guest.Long(build), Vector.UD, null);

        foreach (var build in new Action<Assembler>[] { a => a.wrfsbase(rax), a => a.wrgsbase(rax) })
        {
            var m = Guest.Long(build);
            m.State.Cr4 |= Cr4FsGsBase;
            m.WriteRegister(Register.Rax, Guest.NonCanonical);
            Expect.FaultWithoutEffect(m, Vector.GP, 0);
            Assert.Equal(0UL, m.ReadRegister(Register.FsBase) | m.ReadRegister(Register.GsBase));
        }
    }
}
