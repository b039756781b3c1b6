using Repl.Machine.Kernel;

namespace Repl.Machine.Tests.Kernel;

/// <summary>
/// The entry kernel's compat entries on our machine, where the self-test cannot be strict: its SYSENTER and SYSCALL
/// checks from compatibility mode also accept a working system call where the vendor raises #UD, because QEMU 7.2
/// runs both on either vendor. What happened is kept in u32_sysenter_outcome and u32_syscall_outcome (1: a system
/// call, 2: #UD at the instruction); here each profile must show its manual's behaviour.
/// </summary>
public class CompatEntryTests
{
    const ulong OutcomeSyscall = 1, OutcomeUd = 2;

    [Theory]
    [InlineData(CpuVendor.Intel, OutcomeSyscall, OutcomeUd)]	// SDM: SYSENTER in every mode; SYSCALL #UD outside 64-bit mode
    [InlineData(CpuVendor.Amd, OutcomeUd, OutcomeSyscall)]	// APM: SYSENTER #UD in long mode; SYSCALL from compatibility mode
    public void Sysenter_and_syscall_from_compatibility_mode_behave_as_the_vendors_manual_says(CpuVendor vendor, ulong sysenter, ulong syscall)
    {
        var defines = new Dictionary<string, long>();
        var (m, transcript, _) = EntryKernelTests.Run(vendor, defines);
        var symbols = EntryKernel.Assemble(defines);

        // The text is only right when the second argument came from ECX (SYSENTER) or EBP (SYSCALL, which takes ECX).
        Assert.Contains("compat fast system call: write from compatibility mode\nPASS compat fast system call: write\n", transcript);
        Assert.Equal(sysenter, EntryKernelTests.ReadQuad(m, symbols.AddressOf("u32_sysenter_outcome")!.Value));
        Assert.Equal(syscall, EntryKernelTests.ReadQuad(m, symbols.AddressOf("u32_syscall_outcome")!.Value));
    }

    [Fact]
    public void Syscall_init_sends_cstar_and_sysenter_to_the_compat_entries_on_the_trampoline_stack()
    {
        var (m, _, _) = EntryKernelTests.Run(CpuVendor.Intel, new Dictionary<string, long>());
        var symbols = EntryKernel.Assemble();

        Assert.Equal(symbols.AddressOf("entry_SYSCALL_compat"), m.ReadMsr(Msr.Cstar));
        Assert.Equal(0x10UL, m.ReadMsr(Msr.SysenterCs));			// __KERNEL_CS: SS = 0x18, __KERNEL_DS
        Assert.Equal(symbols.AddressOf("entry_SYSENTER_compat"), m.ReadMsr(Msr.SysenterEip));
        Assert.Equal(symbols.AddressOf("entry_stack_top"), m.ReadMsr(Msr.SysenterEsp));
    }
}
