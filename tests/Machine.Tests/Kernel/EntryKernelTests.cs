using System.Text;
using Repl.Machine.Asm;
using Repl.Machine.Kernel;

namespace Repl.Machine.Tests.Kernel;

/// <summary>
/// The entry kernel on our machine: its self-test passes on both vendor profiles and with each KPTI/PCID setting,
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

    /// <summary>Both vendor profiles with each KPTI and PCID setting: what the kernel must pass on, here and on QEMU.</summary>
    public static readonly TheoryData<CpuVendor, int, int> ProfilesAndSwitches = new()
    {
        { CpuVendor.Intel, 1, 1 }, { CpuVendor.Intel, 1, 0 }, { CpuVendor.Intel, 0, 1 }, { CpuVendor.Intel, 0, 0 },
        { CpuVendor.Amd, 1, 1 }, { CpuVendor.Amd, 1, 0 }, { CpuVendor.Amd, 0, 1 }, { CpuVendor.Amd, 0, 0 },
    };

    [Theory]
    [MemberData(nameof(ProfilesAndSwitches))]
    public void The_self_test_passes_every_check_and_exits_with_no_failures(CpuVendor vendor, int kpti, int pcid)
    {
        var (_, transcript, stop) = Run(vendor, Switches(kpti, pcid));

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
    [InlineData("LA57", 1)]
    public void A_switch_value_the_kernel_does_not_support_is_an_assembly_error_naming_it(string name, long value)
    {
        var result = EntryKernel.Assemble(new Dictionary<string, long> { [name] = value });

        var error = Assert.Single(result.Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Contains(name, error.Message);
        Assert.Throws<LoaderException>(() => EntryKernel.Elf(new Dictionary<string, long> { [name] = value }));
    }

    internal static ulong ReadQuad(Machine m, ulong physical)
    {
        var bytes = new byte[8];
        m.ReadPhysical(physical, bytes);
        return BitConverter.ToUInt64(bytes);
    }
}
