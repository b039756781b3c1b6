using System.Text;
using Repl.Machine.Asm;
using Repl.Machine.Kernel;

namespace Repl.Machine.Tests.Kernel;

/// <summary>
/// The entry kernel on our machine: its self-test passes on both vendor profiles and with each KPTI/PCID/LA57/ILLUMOS setting,
/// and the state it leaves (the two roots, their CR3 values, the MSRs) is what defs.inc promises.
/// </summary>
public class EntryKernelTests
{
    const ulong Budget = 50_000_000;

    /// <summary>Boots the kernel with the switches and runs it to its end; returns the machine, the transcript and the stop.</summary>
    internal static (Machine Machine, string Transcript, StopReason Stop) Run(CpuVendor vendor, IReadOnlyDictionary<string, long> defines)
    {
        var m = new Machine(new MachineOptions { Vendor = vendor });
        var serial = new StringBuilder();
        m.Com1.Transmitted += b => serial.Append((char)b);
        EntryKernel.Boot(m, defines);
        var stop = m.Run(Budget);
        return (m, serial.ToString(), stop);
    }

    static Dictionary<string, long> Switches(int kpti, int pcid) => new() { ["KPTI"] = kpti, ["PCID"] = pcid };

    internal static Dictionary<string, long> Switches(int kpti, int pcid, int la57, int illumos) =>
        new() { ["KPTI"] = kpti, ["PCID"] = pcid, ["LA57"] = la57, ["ILLUMOS"] = illumos };

    /// <summary>The switch matrix: both vendor profiles with each KPTI, PCID, LA57 (both profiles have 5-level paging)
    /// and ILLUMOS (flavour) setting, what the kernel must pass on, here and on QEMU.</summary>
    public static readonly TheoryData<CpuVendor, int, int, int, int> ProfilesAndSwitches = Matrix();

    static TheoryData<CpuVendor, int, int, int, int> Matrix()
    {
        var data = new TheoryData<CpuVendor, int, int, int, int>();
        foreach (var vendor in new[] { CpuVendor.Intel, CpuVendor.Amd })
            foreach (int kpti in new[] { 1, 0 })
                foreach (int pcid in new[] { 1, 0 })
                    foreach (int la57 in new[] { 0, 1 })
                        foreach (int illumos in new[] { 0, 1 })
                            data.Add(vendor, kpti, pcid, la57, illumos);
        return data;
    }

    [Theory]
    [MemberData(nameof(ProfilesAndSwitches))]
    public void The_self_test_passes_every_check_and_exits_with_no_failures(CpuVendor vendor, int kpti, int pcid, int la57, int illumos)
    {
        var (_, transcript, stop) = Run(vendor, Switches(kpti, pcid, la57, illumos));

        Assert.True(stop.Kind == StopKind.DebugExit, $"stopped with {stop}; serial: {transcript}");
        Assert.DoesNotContain("FAIL", transcript);
        Assert.DoesNotContain("FATAL", transcript);
        Assert.Contains("PASS getpid\n", transcript);
        Assert.Contains("PASS GS base unchanged after SYSCALL (IRET)\n", transcript);
        Assert.Equal(1, stop.ExitStatus);		// exit(0): (0 << 1) | 1
    }

    [Fact]
    public void Under_kpti_with_pcid_the_roots_differ_by_4_KiB_and_carry_the_kernel_and_user_pcids_with_the_no_flush_bit()
    {
        var (m, _, _) = Run(CpuVendor.Intel, Switches(1, 1));
        var symbols = EntryKernel.Assemble(Switches(1, 1));
        ulong pml4 = symbols.AddressOf("kernel_pml4")!.Value, percpu = symbols.AddressOf("percpu")!.Value;

        Assert.Equal(pml4 | 1 | 1UL << 63, ReadQuad(m, percpu + 24));				// PER_CPU_KERNEL_CR3
        Assert.Equal(pml4 | 0x1000 | 0x801 | 1UL << 63, ReadQuad(m, percpu + 32));	// PER_CPU_USER_CR3
        Assert.NotEqual(0UL, m.State.Cr4 & 1UL << 17);						// CR4.PCIDE
    }

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    public void With_la57_the_kernel_runs_on_5_level_paging_whose_roots_are_the_pml5_pair(int kpti)
    {
        var defines = new Dictionary<string, long> { ["LA57"] = 1, ["KPTI"] = kpti, ["PCID"] = 0 };
        var (m, transcript, stop) = Run(CpuVendor.Intel, defines);
        var symbols = EntryKernel.Assemble(defines);
        ulong pml5 = symbols.AddressOf("kernel_pml5")!.Value, percpu = symbols.AddressOf("percpu")!.Value;

        Assert.Equal(1, stop.ExitStatus);
        Assert.Contains("PASS SYSCALL at 0xfffffffffffffe: #GP\n", transcript);
        Assert.NotEqual(0UL, m.State.Cr4 & 1UL << 12);						// CR4.LA57
        Assert.Equal(pml5, ReadQuad(m, percpu + 24));						// PER_CPU_KERNEL_CR3
        Assert.Equal(kpti == 1 ? pml5 + 0x1000 : pml5, ReadQuad(m, percpu + 32));	// PER_CPU_USER_CR3
    }

    [Fact]
    public void Without_kpti_user_mode_runs_on_the_kernel_root()
    {
        var (m, _, _) = Run(CpuVendor.Intel, Switches(0, 1));
        ulong percpu = EntryKernel.Assemble(Switches(0, 1)).AddressOf("percpu")!.Value;

        Assert.Equal(ReadQuad(m, percpu + 24), ReadQuad(m, percpu + 32));
        Assert.Equal(0UL, m.State.Cr4 & 1UL << 17);
    }

    [Fact]
    public void The_user_root_maps_the_entry_text_and_the_user_pages_but_not_the_kernel_text_or_its_stacks()
    {
        var (m, _, _) = Run(CpuVendor.Intel, Switches(1, 0));
        var result = EntryKernel.Assemble(Switches(1, 0));
        ulong userRoot = result.AddressOf("user_pml4")!.Value, kernelRoot = result.AddressOf("kernel_pml4")!.Value;

        foreach (string mapped in new[] { "entry_SYSCALL_64", "gdt", "idt_table", "percpu", "selftest_main" })
            Assert.True(m.TryTranslate(result.AddressOf(mapped)!.Value, userRoot, out _), mapped + " is not mapped in the user root");
        // The thread stack by its last byte: thread_stack_top labels the end.
        foreach (var (unmapped, offset) in new[] { ("do_syscall_64", 0L), ("sys_call_table", 0), ("kernel_pml4", 0), ("thread_stack_top", -1) })
        {
            ulong address = result.AddressOf(unmapped)!.Value + (ulong)offset;
            Assert.False(m.TryTranslate(address, userRoot, out _), unmapped + " is mapped in the user root");
            Assert.True(m.TryTranslate(address, kernelRoot, out _), unmapped + " is not mapped in the kernel root");
        }
    }

    [Fact]
    public void Syscall_init_sets_star_lstar_and_sfmask_as_the_gdt_layout_requires()
    {
        var (m, _, _) = Run(CpuVendor.Intel, Switches(1, 1));
        var result = EntryKernel.Assemble(Switches(1, 1));

        Assert.Equal(0x0023_0010_0000_0000UL, m.ReadMsr(Msr.Star));
        Assert.Equal(result.AddressOf("entry_SYSCALL_64"), m.ReadMsr(Msr.Lstar));
        Assert.Equal(0x47700UL, m.ReadMsr(Msr.Fmask));
    }

    [Theory]
    [InlineData("KPTI", 2)]
    [InlineData("SYSRET_CHECK", -1)]
    [InlineData("LA57", 2)]
    public void A_switch_value_the_kernel_does_not_support_is_an_assembly_error_naming_it(string name, long value)
    {
        var result = EntryKernel.Assemble(new Dictionary<string, long> { [name] = value });

        var error = Assert.Single(result.Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Contains(name, error.Message);
        Assert.Throws<LoaderException>(() => EntryKernel.Elf(new Dictionary<string, long> { [name] = value }));
    }

    [Fact]
    public void The_switches_are_the_names_the_sources_test_with_ifdef_and_ifndef()
    {
        Assert.Equal(["BENCH_GETPID", "ILLUMOS", "KPTI", "LA57", "PCID", "SYSRET_CHECK"], EntryKernel.Switches);
    }

    [Fact]
    public void A_define_that_names_no_switch_is_refused_with_the_switches_listed()
    {
        var e = Assert.Throws<LoaderException>(() => EntryKernel.Assemble(new Dictionary<string, long> { ["KPTI"] = 0, ["KTPI"] = 0 }));

        Assert.Equal("entry kernel: no switch named KTPI; its switches are BENCH_GETPID, ILLUMOS, KPTI, LA57, PCID, SYSRET_CHECK", e.Message);
        Assert.Throws<LoaderException>(() => EntryKernel.Elf(new Dictionary<string, long> { ["FOO"] = 1 }));
    }

    /// <summary>CVE-2012-0217: without the canonical check, a SYSCALL whose return lands past the canonical boundary
    /// makes Intel's SYSRET raise #GP in ring 0 with the user's RSP already loaded, so the #GP's frame goes onto the user
    /// stack (SMAP refuses that push, and the #PF's: a double fault). The transcript says so. On AMD SYSRET loads the
    /// non-canonical RIP and the fault comes in user mode, where the self-test expects it.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Without_the_sysret_check_intels_sysret_faults_in_ring_0_on_the_user_stack_and_amds_does_not(int illumos)
    {
        var defines = new Dictionary<string, long> { ["SYSRET_CHECK"] = 0, ["ILLUMOS"] = illumos };
        var result = EntryKernel.Assemble(defines);
        var m = new Machine(new MachineOptions { Vendor = CpuVendor.Intel });
        var serial = new StringBuilder();
        m.Com1.Transmitted += b => serial.Append((char)b);
        var doubleFaults = new List<InterruptDelivered>();
        m.Events.InterruptDelivered += e => { if (e.Vector == Vector.DF) doubleFaults.Add(e); };
        EntryKernel.Boot(m, result);

        var stop = m.Run(Budget);

        Assert.Equal(StopKind.DebugExit, stop.Kind);
        Assert.Equal(0x7f << 1 | 1, stop.ExitStatus);
        Assert.Contains("\nFATAL #GP in ring 0 on the user stack: SYSRET to a non-canonical RIP (CVE-2012-0217)\nFATAL double fault RSP 0x00007fff", serial.ToString());
        var df = Assert.Single(doubleFaults);
        Assert.Equal(0, df.From.Cpl);
        Assert.InRange(df.From.Rsp, 0x7fff_ffff_b000UL, 0x7fff_ffff_efffUL);	// the user stack's pages
        var sysretq = new byte[3];
        m.ReadPhysical(df.Rip, sysretq);
        Assert.Equal(new byte[] { 0x48, 0x0f, 0x07 }, sysretq);

        var (_, amdTranscript, amdStop) = Run(CpuVendor.Amd, defines);
        Assert.DoesNotContain("FAIL", amdTranscript);
        Assert.DoesNotContain("FATAL", amdTranscript);
        Assert.Equal(1, amdStop.ExitStatus);
    }

    internal static ulong ReadQuad(Machine m, ulong physical)
    {
        var bytes = new byte[8];
        m.ReadPhysical(physical, bytes);
        return BitConverter.ToUInt64(bytes);
    }
}
