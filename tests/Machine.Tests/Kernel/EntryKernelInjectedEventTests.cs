using System.Text;
using Repl.Machine.Asm;
using Repl.Machine.Kernel;

namespace Repl.Machine.Tests.Kernel;

/// <summary>
/// The entry kernel's NMI and interrupt paths with events the host injects at chosen instructions: what the
/// self-test cannot arrange, because an NMI it sends itself arrives where the processor happens to take it (under
/// QEMU at the end of a translated block). Each test boots the kernel, stops at an instruction, injects, and then
/// compares the kernel's statistics (irq_stats, the IRQ_STAT_* counts of defs.inc) with what the protocol promises.
/// </summary>
public class EntryKernelInjectedEventTests
{
    const ulong Budget = 50_000_000;
    static readonly byte[] Iretq = [0x48, 0xCF];

    sealed class Kernel
    {
        public readonly Machine M;
        public readonly AssemblyResult Symbols;
        public readonly StringBuilder Serial = new();

        public Kernel(CpuVendor vendor, int kpti = 1, int pcid = 1)
        {
            var defines = new Dictionary<string, long> { ["KPTI"] = kpti, ["PCID"] = pcid };
            M = new Machine(new MachineOptions { Vendor = vendor });
            M.Com1.Transmitted += b => Serial.Append((char)b);
            Symbols = EntryKernel.Assemble(defines);
            EntryKernel.Boot(M, defines);
        }

        public ulong Address(string symbol) => Symbols.AddressOf(symbol) ?? throw new InvalidOperationException(symbol + " is not defined");

        public ulong Stat(string name) => ReadQuad(Address("irq_stats") + Address(name) * 8);	// identity-mapped

        /// <summary>Runs to the next time RIP reaches <paramref name="address"/>.</summary>
        public void RunTo(ulong address)
        {
            M.Cpu.Breakpoints.Add(address);
            var stop = M.Run(Budget);
            M.Cpu.Breakpoints.Remove(address);
            Assert.True(stop.Kind == StopKind.Breakpoint && stop.Rip == address, $"stopped with {stop}, not at 0x{address:x}; serial: {Serial}");
        }

        /// <summary>Injects an NMI at the current instruction and runs until RIP is back there: the NMI has been handled,
        /// or left pending where NMIs are blocked (then it waits, and RIP is back at once).</summary>
        public void InjectNmiHere()
        {
            M.InjectNmi();
            InjectedEventReturns();
        }

        /// <summary>Runs until RIP is back at the current instruction, which an event injected here interrupts first.</summary>
        public void InjectedEventReturns() => RunTo(M.State.Rip);

        public void WriteQuad(ulong physical, ulong value) => M.WritePhysical(physical, BitConverter.GetBytes(value));

        /// <summary>Runs to the self-test's exit and returns its exit status (the number of failed checks).</summary>
        public int RunToEnd()
        {
            var stop = M.Run(Budget);
            Assert.True(stop.Kind == StopKind.DebugExit, $"stopped with {stop}; serial: {Serial}");
            Assert.DoesNotContain("FATAL", Serial.ToString());
            return (int)stop.ExitStatus!.Value >> 1;	// isa-debug-exit reports (status << 1) | 1
        }

        public ulong ReadQuad(ulong physical)
        {
            var bytes = new byte[8];
            M.ReadPhysical(physical, bytes);
            return BitConverter.ToUInt64(bytes);
        }

        public bool At(ReadOnlySpan<byte> opcode)
        {
            Span<byte> code = stackalloc byte[opcode.Length];
            M.ReadVirtual(M.State.Rip, code);
            return code.SequenceEqual(opcode);
        }
    }

    /// <summary>The statistics after a run with no injection, to compare with.</summary>
    static (ulong Handled, ulong Repeats) Baseline(CpuVendor vendor, int kpti = 1, int pcid = 1)
    {
        var k = new Kernel(vendor, kpti, pcid);
        Assert.Equal(0, k.RunToEnd());
        return (k.Stat("IRQ_STAT_NMI"), k.Stat("IRQ_STAT_NMI_REPEATS"));
    }

    [Theory]
    [InlineData(CpuVendor.Intel, 1, 1)]
    [InlineData(CpuVendor.Intel, 1, 0)]
    [InlineData(CpuVendor.Amd, 1, 1)]
    [InlineData(CpuVendor.Amd, 0, 0)]
    public void An_nmi_at_each_instruction_of_a_system_call_is_handled_once_and_the_self_test_still_passes(CpuVendor vendor, int kpti, int pcid)
    {
        var (handled, repeats) = Baseline(vendor, kpti, pcid);
        var k = new Kernel(vendor, kpti, pcid);
        k.RunTo(k.Address("entry_SYSCALL_64"));

        // From SYSCALL's target to the user instruction after it: the user's GS, RSP and root at first, the
        // kernel's in the middle, the user's again before SYSRET. Every boundary sees an NMI from kernel mode.
        int injected = 0;
        while (k.M.State.Cpl == 0)
        {
            k.InjectNmiHere();
            injected++;
            Assert.Equal(StopKind.StepDone, k.M.Step().Kind);
        }
        // Back in user mode on the root the exit chose, whatever CR3 each NMI found and restored.
        ulong userCr3 = k.ReadQuad(k.Address("percpu") + (ulong)k.Address("PER_CPU_USER_CR3")) & ~(1UL << 63);
        Assert.Equal(userCr3, k.M.State.Cr3);
        int failures = k.RunToEnd();

        Assert.True(injected > 30, $"only {injected} instructions from entry_SYSCALL_64 to user mode");
        Assert.Equal(0, failures);
        Assert.Equal(handled + (ulong)injected, k.Stat("IRQ_STAT_NMI"));
        Assert.Equal(repeats, k.Stat("IRQ_STAT_NMI_REPEATS"));
    }

    [Theory]
    [InlineData(CpuVendor.Intel)]
    [InlineData(CpuVendor.Amd)]
    public void An_nmi_at_entry_SYSCALL_64_with_a_user_rsp_inside_the_nmi_stack_is_a_first_nmi_because_syscall_cleared_df(CpuVendor vendor)
    {
        var (handled, repeats) = Baseline(vendor);
        var k = new Kernel(vendor);
        k.RunTo(k.Address("entry_SYSCALL_64"));
        ulong userRsp = k.M.ReadRegister(Register.Rsp);

        k.M.WriteRegister(Register.Rsp, k.Address("nmi_stack_top") - 256);	// what a hostile user could have loaded
        Assert.Equal(0UL, k.M.ReadRegister(Register.Rflags) & 1 << 10);		// DF: SFMASK cleared it
        k.InjectNmiHere();
        k.M.WriteRegister(Register.Rsp, userRsp);
        int failures = k.RunToEnd();

        Assert.Equal(handled + 1, k.Stat("IRQ_STAT_NMI"));
        Assert.Equal(repeats, k.Stat("IRQ_STAT_NMI_REPEATS"));
        Assert.Equal(0, failures);
    }

    /// <summary>Runs the self-test to the point where an NMI that nested in the self-test's outer NMI has been taken
    /// (NMIs are unblocked again) and RIP is at <paramref name="address"/>.</summary>
    static void RunToUnblockedNmiCode(Kernel k, ulong address)
    {
        do
            k.RunTo(address);
        while (k.M.State.NmiBlocked);
    }

    [Theory]
    [InlineData(CpuVendor.Intel)]
    [InlineData(CpuVendor.Amd)]
    public void An_nmi_arriving_between_repeat_nmi_and_end_repeat_nmi_leaves_at_once_and_the_repeat_handles_it(CpuVendor vendor)
    {
        var (handled, repeats) = Baseline(vendor);
        var k = new Kernel(vendor);
        RunToUnblockedNmiCode(k, k.Address("repeat_nmi"));	// the repeat the nested NMI asked for

        ulong before = k.Stat("IRQ_STAT_NMI");
        k.M.InjectNmi();
        k.RunTo(k.Address("end_repeat_nmi"));
        Assert.Equal(before, k.Stat("IRQ_STAT_NMI"));		// it ran no handler and asked for no repeat
        int failures = k.RunToEnd();

        Assert.Equal(handled, k.Stat("IRQ_STAT_NMI"));
        Assert.Equal(repeats, k.Stat("IRQ_STAT_NMI_REPEATS"));
        Assert.Equal(0, failures);
    }

    [Theory]
    [InlineData(CpuVendor.Intel)]
    [InlineData(CpuVendor.Amd)]
    public void An_nmi_arriving_after_nmi_executing_is_cleared_is_recognised_by_rsp_and_df_and_not_lost(CpuVendor vendor)
    {
        var (handled, repeats) = Baseline(vendor);
        var k = new Kernel(vendor);
        // The repeat's own exit: the iret frame holds the outermost frame again, NMIs are unblocked, and between
        // clearing "NMI executing" and IRET only RSP and DF tell that an NMI is still in progress.
        RunToUnblockedNmiCode(k, k.Address("repeat_nmi"));
        k.RunTo(k.Address("nmi_restore"));
        while (!k.At(Iretq))
            Assert.Equal(StopKind.StepDone, k.M.Step().Kind);
        Assert.NotEqual(0UL, k.M.ReadRegister(Register.Rflags) & 1 << 10);	// DF: set for this window

        k.M.InjectNmi();
        int failures = k.RunToEnd();

        Assert.Equal(handled + 1, k.Stat("IRQ_STAT_NMI"));			// one more run of exc_nmi, through repeat_nmi
        Assert.Equal(repeats + 1, k.Stat("IRQ_STAT_NMI_REPEATS"));
        // The self-test's nested-NMI checks count the extra run; nothing else notices it.
        Assert.Equal(2, failures);
        Assert.Contains("FAIL nmi: a nested NMI: the handler runs exactly twice: got 0x0000000000000003", k.Serial.ToString());
        Assert.Contains("FAIL nmi: a nested NMI: one repeat through repeat_nmi: got 0x0000000000000002", k.Serial.ToString());
    }

    [Theory]
    [InlineData(CpuVendor.Intel, 0x40, "test_getpid")]
    [InlineData(CpuVendor.Amd, 0xa3, "test_getpid")]
    [InlineData(CpuVendor.Intel, 0x41, "compat_int80")]	// 32-bit code in compatibility mode
    public void An_external_interrupt_without_a_handler_is_counted_and_user_code_goes_on(CpuVendor vendor, byte vector, string where)
    {
        var k = new Kernel(vendor);
        k.RunTo(k.Address(where));				// user mode, IF set
        ulong before = k.Stat("IRQ_STAT_UNEXPECTED");

        k.M.RaiseInterrupt(vector);
        k.InjectedEventReturns();

        Assert.Equal(before + 1, k.Stat("IRQ_STAT_UNEXPECTED"));
        Assert.Equal(0, k.RunToEnd());
    }

    [Theory]
    [InlineData(CpuVendor.Intel)]
    [InlineData(CpuVendor.Amd)]
    public void The_return_from_an_interrupt_to_user_mode_does_the_pending_exit_work(CpuVendor vendor)
    {
        const ulong Value = 0x5ca1ab1e;
        var k = new Kernel(vendor);
        k.RunTo(k.Address("test_getpid"));
        ulong percpu = k.Address("percpu");
        k.WriteQuad(percpu + k.Address("PER_CPU_EXIT_WORK"), k.Address("EXIT_WORK_SET_RCX"));
        k.WriteQuad(percpu + k.Address("PER_CPU_EXIT_WORK_VALUE"), Value);

        k.M.RaiseInterrupt(0x40);
        k.InjectedEventReturns();

        Assert.Equal(Value, k.M.ReadRegister(Register.Rcx));		// the work changed the frame the IRET restored
        Assert.Equal(0UL, k.ReadQuad(percpu + k.Address("PER_CPU_EXIT_WORK")));
        Assert.Equal(0, k.RunToEnd());
    }
}
