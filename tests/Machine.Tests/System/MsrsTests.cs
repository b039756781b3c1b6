using static Iced.Intel.AssemblerRegisters;

namespace Repl.Machine.Tests.SystemArchitecture;

public class MsrsTests
{
    /// <summary>A 64-bit machine whose first instruction is WRMSR of <paramref name="value"/> to <paramref name="msr"/>.</summary>
    static Machine Wrmsr(Msr msr, ulong value, CpuVendor vendor = CpuVendor.Intel)
    {
        var m = Guest.Long(a => { a.wrmsr(); a.hlt(); }, vendor);
        m.WriteRegister(Register.Rcx, (uint)msr);
        m.WriteRegister(Register.Rax, (uint)value);
        m.WriteRegister(Register.Rdx, value >> 32);
        return m;
    }

    static Machine Rdmsr(uint index, CpuVendor vendor = CpuVendor.Intel)
    {
        var m = Guest.Long(a => { a.rdmsr(); a.hlt(); }, vendor);
        m.WriteRegister(Register.Rcx, index);
        return m;
    }

    /// <summary>Checks that the guest's WRMSR raises #GP(0) and leaves the MSR as it was.</summary>
    static void WriteFaults(Msr msr, ulong value, CpuVendor vendor = CpuVendor.Intel)
    {
        var m = Wrmsr(msr, value, vendor);
        ulong before = m.ReadMsr(msr);
        Expect.FaultWithoutEffect(m, Vector.GP, 0);
        Assert.Equal(before, m.ReadMsr(msr));
    }

    [Fact]
    public void Wrmsr_and_rdmsr_move_edx_eax_ignoring_the_upper_half_of_rcx()
    {
        var m = Guest.Long(a =>
        {
            a.wrmsr();
            a.mov(rax, -1L);
            a.mov(rdx, -1L);
            a.rdmsr();
            a.hlt();
        });
        m.WriteRegister(Register.Rcx, 0xDEAD_BEEF_0000_0000 | (uint)Msr.Lstar);
        m.WriteRegister(Register.Rax, 0xAAAA_AAAA_8100_0000); // only EAX and EDX count
        m.WriteRegister(Register.Rdx, 0xBBBB_BBBB_FFFF_FFFF);

        Guest.RunToHalt(m);
        Assert.Equal(0xFFFF_FFFF_8100_0000UL, m.ReadMsr(Msr.Lstar));
        Assert.Equal(0x8100_0000UL, m.ReadRegister(Register.Rax)); // zero-extended
        Assert.Equal(0xFFFF_FFFFUL, m.ReadRegister(Register.Rdx));
    }

    [Fact]
    public void Rdmsr_and_wrmsr_above_cpl0_raise_gp()
    {
        var read = Rdmsr((uint)Msr.Efer);
        Guest.RunAtCpl3(read);
        Expect.FaultWithoutEffect(read, Vector.GP, 0);

        var write = Wrmsr(Msr.Star, 0x1234);
        Guest.RunAtCpl3(write);
        Expect.FaultWithoutEffect(write, Vector.GP, 0);
        Assert.Equal(0UL, write.ReadMsr(Msr.Star));
    }

    [Theory]
    [InlineData(0x1234u, CpuVendor.Intel)]
    [InlineData(0xC000_0104u, CpuVendor.Amd)]
    [InlineData((uint)Msr.MiscEnable, CpuVendor.Amd)]
    [InlineData((uint)Msr.PlatformId, CpuVendor.Amd)]
    [InlineData((uint)Msr.SpecCtrl, CpuVendor.Amd)]
    [InlineData((uint)Msr.PredCmd, CpuVendor.Intel)] // write-only
    public void Rdmsr_of_an_msr_the_profile_lacks_raises_gp(uint index, CpuVendor vendor) =>
        Expect.FaultWithoutEffect(Rdmsr(index, vendor), Vector.GP, 0);

    [Theory]
    [InlineData(Msr.FsBase)]
    [InlineData(Msr.GsBase)]
    [InlineData(Msr.KernelGsBase)]
    [InlineData(Msr.Lstar)]
    [InlineData(Msr.Cstar)]
    [InlineData(Msr.SysenterEsp)]
    [InlineData(Msr.SysenterEip)]
    public void Base_and_entry_point_msrs_refuse_a_noncanonical_address(Msr msr)
    {
        WriteFaults(msr, 0x0000_8000_0000_0000);
        var m = Wrmsr(msr, 0xFFFF_8000_0000_0000);
        Guest.RunToHalt(m);
        Assert.Equal(0xFFFF_8000_0000_0000UL, m.ReadMsr(msr));
    }

    [Theory]
    [InlineData(Msr.Fmask, 1UL << 32)]
    [InlineData(Msr.TscAux, 1UL << 32)]
    [InlineData(Msr.Efer, 1UL << 1)]
    [InlineData(Msr.Efer, 1UL << 12)] // SVME: not implemented
    [InlineData(Msr.ApicBase, 0xFEE0_0000UL | (1 << 11) | (1 << 10))] // x2APIC enable: not implemented
    [InlineData(Msr.ApicBase, (1UL << 36) | (1 << 11))] // above MAXPHYADDR
    [InlineData(Msr.ApicBase, 0xFEE0_0001UL)]
    [InlineData(Msr.Pat, 0x0007_0406_0007_0402UL)] // memory type 2 is reserved
    [InlineData(Msr.Pat, 0x0007_0406_0007_040EUL)] // bits 7:3 of an entry are reserved
    [InlineData(Msr.MtrrDefType, (1UL << 11) | 2)]
    [InlineData(Msr.MtrrDefType, (1UL << 11) | (1 << 10) | 6)] // FE, with no fixed ranges
    [InlineData(Msr.SpecCtrl, 1UL << 3)]
    [InlineData(Msr.PredCmd, 1UL << 1)]
    [InlineData(Msr.McgStatus, 1UL << 3)]
    [InlineData(Msr.MiscEnable, (1UL << 0) | (1 << 11) | (1 << 12) | (1 << 22))] // limit CPUID maxval: not modelled
    public void Wrmsr_setting_a_reserved_bit_raises_gp(Msr msr, ulong value) => WriteFaults(msr, value);

    [Theory]
    [InlineData(Msr.PlatformId)]
    [InlineData(Msr.MtrrCap)]
    [InlineData(Msr.McgCap)]
    [InlineData(Msr.ArchCapabilities)]
    [InlineData(Msr.FeatureControl)]
    public void Read_only_msrs_refuse_every_write(Msr msr)
    {
        WriteFaults(msr, 0);
        Assert.Throws<ArgumentException>(() => Machine.CreateLongMode().WriteMsr(msr, 0));
    }

    [Fact]
    public void Writable_msrs_take_their_defined_bits()
    {
        foreach (var (msr, value) in new[]
        {
            (Msr.Star, 0x0023_0010_DEAD_BEEFUL), (Msr.Fmask, 0x4_7700UL), (Msr.TscAux, 0xFFFF_FFFFUL),
            (Msr.SysenterCs, 0x10UL), (Msr.Pat, 0x0007_0106_0007_0406UL), (Msr.MtrrDefType, 0UL),
            (Msr.SpecCtrl, 7UL), (Msr.McgStatus, 7UL), (Msr.MiscEnable, (1UL << 3) | (1 << 11) | (1 << 12)),
            (Msr.ApicBase, 0xFED0_0000UL | (1 << 8)),
        })
        {
            var m = Wrmsr(msr, value);
            Guest.RunToHalt(m);
            Assert.Equal(value, m.ReadMsr(msr));
        }
    }

    [Fact]
    public void The_microcode_revision_reads_0_after_the_write_that_precedes_cpuid()
    {
        // How Linux reads the revision: write 0 to IA32_BIOS_SIGN_ID, CPUID(1), read it back.
        var m = Guest.Long(a =>
        {
            a.mov(ecx, (uint)Msr.BiosSignId);
            a.xor(eax, eax);
            a.xor(edx, edx);
            a.wrmsr();
            a.mov(eax, 1);
            a.cpuid();
            a.mov(ecx, (uint)Msr.BiosSignId);
            a.mov(eax, -1);
            a.mov(edx, -1);
            a.rdmsr();
            a.hlt();
        });
        Guest.RunToHalt(m);
        Assert.Equal(0UL, m.ReadRegister(Register.Rdx));
        Assert.Equal(0UL, m.ReadRegister(Register.Rax));
    }

    [Fact]
    public void Msrs_hold_the_values_firmware_hands_over()
    {
        var m = Machine.CreateProtectedMode();
        Assert.Equal(0xFEE0_0900UL, m.ReadMsr(Msr.ApicBase)); // default base, enabled, BSP
        Assert.Equal(0x0007_0406_0007_0406UL, m.ReadMsr(Msr.Pat));
        Assert.Equal(0x806UL, m.ReadMsr(Msr.MtrrDefType));
        Assert.Equal(1UL, m.ReadMsr(Msr.FeatureControl));
        Assert.Equal(0UL, m.ReadMsr(Msr.ArchCapabilities));
    }

    [Fact]
    public void Apic_base_bsp_flag_keeps_its_value_whatever_is_written()
    {
        var m = Wrmsr(Msr.ApicBase, 0xFEE0_0000);
        Guest.RunToHalt(m);
        Assert.Equal(0xFEE0_0100UL, m.ReadMsr(Msr.ApicBase)); // disabled, still the BSP
    }

    [Fact]
    public void Efer_lma_ignores_writes_and_lme_cannot_change_while_paging_is_on()
    {
        const ulong Sce = CpuState.EferSCE, Lme = CpuState.EferLME, Lma = CpuState.EferLMA, Nxe = CpuState.EferNXE;
        var on = Wrmsr(Msr.Efer, Sce | Lme | Nxe);
        Guest.RunToHalt(on);
        Assert.Equal(Sce | Lme | Lma | Nxe, on.ReadMsr(Msr.Efer));

        WriteFaults(Msr.Efer, Sce | Lma | Nxe);

        var off = Guest.Protected(a => { a.wrmsr(); a.hlt(); });
        off.WriteRegister(Register.Rcx, (uint)Msr.Efer);
        off.WriteRegister(Register.Rax, Lme | Lma);
        Guest.RunToHalt(off);
        Assert.Equal(Lme, off.ReadMsr(Msr.Efer)); // LME set with paging off; LMA waits for CR0.PG
    }

    [Fact]
    public void Rdmsr_of_fs_and_gs_base_reads_the_segment_bases()
    {
        var m = Guest.Long(a => { a.rdmsr(); a.mov(rbx, rax); a.mov(ecx, (uint)Msr.GsBase); a.rdmsr(); a.hlt(); });
        m.WriteRegister(Register.FsBase, 0x1234_5678);
        m.WriteRegister(Register.GsBase, 0xFFFF_8880_0000_0000);
        m.WriteRegister(Register.Rcx, (uint)Msr.FsBase);

        Guest.RunToHalt(m);
        Assert.Equal(0x1234_5678UL, m.ReadRegister(Register.Rbx));
        Assert.Equal(0UL, m.ReadRegister(Register.Rax));
        Assert.Equal(0xFFFF_8880UL, m.ReadRegister(Register.Rdx));
    }

    [Fact]
    public void Writing_the_tsc_sets_what_rdtsc_reads_from_then_on()
    {
        var m = Guest.Long(a => { a.nop(); a.wrmsr(); a.nop(); a.rdtsc(); a.hlt(); });
        m.WriteRegister(Register.Rcx, (uint)Msr.TimeStampCounter);
        m.WriteRegister(Register.Rdx, 0x1);
        m.WriteRegister(Register.Rax, 0x0000_0100);

        Guest.RunToHalt(m);
        // Written during instruction 1; RDTSC runs two instructions later.
        Assert.Equal(0x1UL, m.ReadRegister(Register.Rdx));
        Assert.Equal(0x102UL, m.ReadRegister(Register.Rax));
        Assert.Equal(0x1_0000_0104UL, m.ReadMsr(Msr.TimeStampCounter)); // five instructions retired
    }

    [Fact]
    public void The_host_reads_and_writes_msrs_by_sdm_linux_and_short_names_without_guest_checks()
    {
        var m = Machine.CreateLongMode();
        m.WriteMsr("kernel_gs_base", 0x1111);
        m.WriteMsr("IA32_LSTAR", Guest.NonCanonical); // a debugger may set what a guest could not
        m.WriteMsr("MSR_SYSCALL_MASK", 0x4_7700);
        m.WriteMsr("0xc0000081", 0x0023_0010_0000_0000);

        Assert.Equal(0x1111UL, m.ReadMsr(Msr.KernelGsBase));
        Assert.Equal(Guest.NonCanonical, m.ReadMsr("lstar"));
        Assert.Equal(0x4_7700UL, m.ReadMsr("sfmask"));
        Assert.Equal(0x0023_0010_0000_0000UL, m.ReadMsr("MSR_STAR"));
        Assert.Equal(0x0023_0010_0000_0000UL, m.ReadMsr("Star"));
        Assert.Equal(m.ReadMsr(Msr.Efer), m.ReadMsr("MSR_EFER"));
        Assert.Equal(m.ReadMsr(Msr.SysenterCs), m.ReadMsr("MSR_IA32_SYSENTER_CS"));

        var unknown = Assert.Throws<ArgumentException>(() => m.ReadMsr("lstr"));
        Assert.Contains("'lstr'", unknown.Message);
        Assert.Throws<ArgumentException>(() => Machine.CreateLongMode(new MachineOptions { Vendor = CpuVendor.Amd }).ReadMsr("misc_enable"));
    }

    [Fact]
    public void The_msr_list_follows_the_vendor_profile_in_index_order()
    {
        var intel = Machine.CreateLongMode().ListMsrs().ToList();
        var amd = Machine.CreateLongMode(new MachineOptions { Vendor = CpuVendor.Amd }).ListMsrs().ToList();

        Assert.Contains(intel, i => i.Name == "IA32_MISC_ENABLE" && i.Index == 0x1A0);
        Assert.DoesNotContain(amd, i => i.Msr == Msr.MiscEnable);
        Assert.Contains(amd, i => i.Name == "IA32_KERNEL_GS_BASE" && i.Index == 0xC000_0102);
        Assert.Equal(intel.OrderBy(i => i.Index), intel);
        Assert.Equal(Enum.GetValues<Msr>().Length, intel.Count);
    }

    [Theory]
    [InlineData(CpuVendor.Intel)]
    [InlineData(CpuVendor.Amd)]
    public void Cpuid_reports_msrs_sysenter_syscall_fsgsbase_and_rdpid(CpuVendor vendor)
    {
        var (_, _, _, edx1) = Identification.Cpuid(vendor, 1, 0);
        var (_, ebx7, ecx7, edx7) = Identification.Cpuid(vendor, 7, 0);
        var (_, _, _, edx81) = Identification.Cpuid(vendor, 0x8000_0001, 0);

        Assert.Equal(0x0001_5820u, edx1 & 0x0001_5820); // MSR (5), SEP (11), MTRR (12), MCA (14), PAT (16)
        Assert.Equal(1u, ebx7 & 1); // FSGSBASE
        Assert.Equal(1u << 22, ecx7 & (1u << 22)); // RDPID
        Assert.Equal(1u << 11, edx81 & (1u << 11)); // SYSCALL
        // IBRS/IBPB, STIBP, ARCH_CAPABILITIES, SSBD: Intel's enumeration of its speculation-control MSRs.
        Assert.Equal(vendor == CpuVendor.Intel ? 0xAC00_0000u : 0, edx7);
    }
}
