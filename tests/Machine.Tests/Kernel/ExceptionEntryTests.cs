using System.Text;
using Repl.Machine.Asm;
using Repl.Machine.Kernel;

namespace Repl.Machine.Tests.Kernel;

/// <summary>
/// The entry kernel's exception paths (idtentry.S) where the self-test's printed lines must also hold on QEMU, which
/// differs from the manuals there: here our machine must give the manuals' answer. Also what the transcript cannot
/// show: where a MOV SS-deferred #DB arrived, which stack a nested #DB ran on, the double-fault report.
/// </summary>
public class ExceptionEntryTests
{
    const ulong Budget = 50_000_000;
    const ulong StartKernelMap = 0xffff_ffff_8000_0000;
    const ulong SizeofPtRegs = 168, ExceptionStackSize = 4096;
    const ulong PerCpuDebugKernelRip = 176, PerCpuDebugKernelRsp = 184, PerCpuDebugKernelSwapgs = 192;
    const ulong PerCpuDebugDr6 = 168, PerCpuPreempt = 72, IrqStatReschedUser = 3;
    const ulong PerCpuDebugNested = 208, PerCpuDebugNestedRsp = 216;
    const ulong TssRsp0 = 4, TssIst3 = 36 + 2 * 8, TssIst4 = 36 + 3 * 8;

    static readonly Dictionary<string, long> Defaults = [];
    static readonly AssemblyResult Symbols = EntryKernel.Assemble(Defaults);

    static ulong Sym(string name) => Symbols.AddressOf(name) ?? throw new InvalidOperationException($"no symbol {name}");

    /// <summary>A machine with the kernel loaded and its serial output collected.</summary>
    static (Machine Machine, StringBuilder Serial) Boot(CpuVendor vendor)
    {
        var m = new Machine(new MachineOptions { Vendor = vendor });
        var serial = new StringBuilder();
        m.Com1.Transmitted += b => serial.Append((char)b);
        EntryKernel.Boot(m, Defaults);
        return (m, serial);
    }

    static void AssertSelfTestPassed(StopReason stop, string transcript)
    {
        Assert.True(stop.Kind == StopKind.DebugExit, $"stopped with {stop}; serial: {transcript}");
        Assert.DoesNotContain("FAIL", transcript);
        Assert.DoesNotContain("FATAL", transcript);
        Assert.Equal(1, stop.ExitStatus);
    }

    [Theory]
    [InlineData(CpuVendor.Intel)]
    [InlineData(CpuVendor.Amd)]
    public void Int_n_through_a_dpl_0_gate_gives_the_sdm_error_code_n_times_8_plus_2(CpuVendor vendor)
    {
        var (m, transcript, stop) = EntryKernelTests.Run(vendor, Defaults);
        AssertSelfTestPassed(stop, transcript);

        Assert.Equal(13UL * 8 + 2, ReadQuad(m, Sym("u_int13_error")));
        Assert.Equal(14UL * 8 + 2, ReadQuad(m, Sym("u_int14_error")));
    }

    [Theory]
    [InlineData(CpuVendor.Intel)]
    [InlineData(CpuVendor.Amd)]
    public void A_data_breakpoint_deferred_by_mov_ss_arrives_at_the_entrys_first_instruction_on_the_ist_stack_with_the_user_gs_base(CpuVendor vendor)
    {
        var (m, transcript, stop) = EntryKernelTests.Run(vendor, Defaults);
        AssertSelfTestPassed(stop, transcript);
        ulong percpu = Sym("percpu"), dbStackTop = Sym("db_stack_top");

        Assert.Equal(Sym("entry_SYSCALL_64"), ReadQuad(m, Sym("u_movss_rip_syscall")));
        Assert.Equal(Sym("asm_exc_int3"), ReadQuad(m, Sym("u_movss_rip_int3")));
        Assert.Equal(Int80Target(m), ReadQuad(m, Sym("u_movss_rip_int80")));
        // The last of them (INT 0x80): paranoid_entry found the user's GS base, and the frame sat at the top of the
        // #DB IST stack, whose pointer is back where it was.
        Assert.Equal(1UL, ReadQuad(m, percpu + PerCpuDebugKernelSwapgs));
        Assert.Equal(dbStackTop - SizeofPtRegs, ReadQuad(m, percpu + PerCpuDebugKernelRsp));
        Assert.Equal(dbStackTop, ReadQuad(m, Sym("cpu_tss") + TssIst3));
    }

    /// <summary>INT 0x80 goes where its gate says when user mode may use it (entry_64_compat.S's), else it is a #GP.</summary>
    static ulong Int80Target(Machine m)
    {
        var gate = new byte[16];
        m.ReadPhysical(Sym("idt_table") + 0x80 * 16, gate);
        int dpl = gate[5] >> 5 & 3;
        ulong handler = BitConverter.ToUInt16(gate, 0) | (ulong)BitConverter.ToUInt16(gate, 6) << 16 | (ulong)BitConverter.ToUInt32(gate, 8) << 32;
        return dpl == 3 ? handler : Sym("asm_exc_general_protection");
    }

    [Fact]
    public void A_db_nested_in_the_db_handler_runs_one_exception_stack_lower_and_leaves_the_outer_frame_intact()
    {
        var (m, serial) = Boot(CpuVendor.Intel);
        ulong percpu = Sym("percpu"), dbStackTop = Sym("db_stack_top");
        // To the first #DB of the MOV SS checks, once the user has armed its own breakpoint (DR7).
        foreach (string stopAt in new[] { "test_movss_db", "exc_debug_kernel" })
        {
            m.Cpu.Breakpoints.Add(Sym(stopAt));
            var stop = m.Run(Budget);
            Assert.True(stop.Kind == StopKind.Breakpoint, $"stopped with {stop}; serial: {serial}");
            m.Cpu.Breakpoints.Clear();
        }
        // A write breakpoint on the outer handler's record of where it arrived (through the GS alias, as it writes it):
        // DR1, L1, RW1 = 01 (writes), LEN1 = 11 (8 bytes).
        m.State.Dr[1] = StartKernelMap + percpu + PerCpuDebugKernelRip;
        m.State.Dr[7] |= 1UL << 2 | 1UL << 20 | 3UL << 22;

        AssertSelfTestPassed(m.Run(Budget), serial.ToString());

        // At least once in each MOV SS case (set_debugreg(6), which clears the watched record, adds its own).
        Assert.InRange(ReadQuad(m, percpu + PerCpuDebugNested), 3UL, 10UL);
        Assert.Equal(dbStackTop - ExceptionStackSize - SizeofPtRegs, ReadQuad(m, percpu + PerCpuDebugNestedRsp));
        Assert.Equal(dbStackTop, ReadQuad(m, Sym("cpu_tss") + TssIst3));
    }

    [Theory]
    [InlineData(CpuVendor.Intel)]
    [InlineData(CpuVendor.Amd)]
    public void The_kernels_gs_base_is_negative_its_alias_at_start_kernel_map(CpuVendor vendor)
    {
        var (m, transcript, stop) = EntryKernelTests.Run(vendor, Defaults);
        AssertSelfTestPassed(stop, transcript);

        // The run ends in sys_exit, in the kernel.
        Assert.Equal(StartKernelMap + Sym("percpu"), m.ReadMsr(Msr.GsBase));
    }

    [Fact]
    public void A_fault_that_cannot_be_delivered_is_a_double_fault_reported_from_its_ist_stack()
    {
        var (m, serial) = Boot(CpuVendor.Intel);
        m.Cpu.Breakpoints.Add(Sym("selftest_main"));
        Assert.Equal(StopKind.Breakpoint, m.Run(Budget).Kind);
        m.Cpu.Breakpoints.Clear();
        // TSS.RSP0 unmapped: the first fault from user mode (the self-test's #UD) cannot push its frame (#PF), nor can
        // that #PF: a double fault, which IST 1 still delivers.
        var rsp0 = BitConverter.GetBytes(0x0000_1000_0000_0000UL);
        m.WritePhysical(Sym("cpu_tss") + TssRsp0, rsp0);

        var stop = m.Run(Budget);

        Assert.Equal(StopKind.DebugExit, stop.Kind);
        Assert.Equal(0x7f << 1 | 1, stop.ExitStatus);
        Assert.Contains("PASS getpid\n", serial.ToString());
        Assert.Matches("FATAL double fault RSP 0x[0-9a-f]{16} at RIP 0x[0-9a-f]{16}\n$", serial.ToString());
    }

    [Fact]
    public void A_machine_check_from_user_mode_comes_on_its_ist_stack_with_the_kernels_gs_base_and_is_reported()
    {
        var (m, serial) = Boot(CpuVendor.Intel);
        m.Cpu.Breakpoints.Add(Sym("selftest_main"));
        Assert.Equal(StopKind.Breakpoint, m.Run(Budget).Kind);
        m.Cpu.Breakpoints.Clear();
        // Vector 18 through its gate (IST 4, paranoid_entry) at the user's first instruction, as an #MC would come.
        m.RaiseInterrupt(18);

        var stop = m.Run(Budget);

        Assert.Equal(StopKind.DebugExit, stop.Kind);
        Assert.Equal(0x7f << 1 | 1, stop.ExitStatus);
        Assert.Equal($"FATAL machine check RSP 0x00007ffffffff000 at RIP 0x{Sym("selftest_main"):x16}\n", serial.ToString());
        Assert.Equal(StartKernelMap + Sym("percpu"), m.ReadMsr(Msr.GsBase));   // the user's 0 was swapped out
        Assert.Equal(Sym("mce_stack_top"), ReadQuad(m, Sym("cpu_tss") + TssIst4));
    }

    /// <summary>
    /// An instruction breakpoint on kernel code (set_debugreg refuses one; here it is written straight into DR0/DR7,
    /// as a bug there would leave it): the #DB comes back to the same instruction, and only the RF that
    /// exc_debug_kernel sets in the frame lets it run instead of faulting again for ever.
    /// </summary>
    [Fact]
    public void An_instruction_breakpoint_on_do_syscall_64_fires_but_cannot_loop_as_exc_debug_kernel_sets_rf()
    {
        const long Calls = 3;
        var defines = new Dictionary<string, long> { ["BENCH_GETPID"] = Calls };
        var m = new Machine(new MachineOptions { Vendor = CpuVendor.Intel });
        EntryKernel.Boot(m, defines);
        var symbols = EntryKernel.Assemble(defines);
        ulong Address(string name) => symbols.AddressOf(name) ?? throw new InvalidOperationException($"no symbol {name}");
        m.State.Dr[0] = Address("do_syscall_64");
        m.State.Dr[7] = 1;                  // L0, R/W0 = 00 (instruction), LEN0 = 00

        var stop = m.Run(5_000_000);        // the getpid loop and exit need a few thousand; a looping #DB never stops

        Assert.Equal(StopKind.DebugExit, stop.Kind);
        Assert.Equal(0 << 1 | 1, stop.ExitStatus);  // exit(0) after the calls
        Assert.Equal(1UL, ReadQuad(m, Address("percpu") + PerCpuDebugDr6) & 1);   // B0: the breakpoint did fire
        Assert.Equal(Address("do_syscall_64"), ReadQuad(m, Address("percpu") + PerCpuDebugKernelRip));
    }

    /// <summary>
    /// A fault from user mode returns through the same work as an interrupt's return (prepare_exit_to_usermode): a
    /// reschedule a tick asked for while the user ran is honoured on the way to the user's fault handler.
    /// </summary>
    [Fact]
    public void A_user_fault_returns_through_the_reschedule_and_exit_work_of_every_return_to_user_mode()
    {
        var (m, _) = Boot(CpuVendor.Intel);
        m.Cpu.Breakpoints.Add(Sym("test_fault_ud"));
        Assert.Equal(StopKind.Breakpoint, m.Run(Budget).Kind);
        m.Cpu.Breakpoints.Clear();
        ulong preempt = Sym("percpu") + PerCpuPreempt, reschedUser = Sym("irq_stats") + IrqStatReschedUser * 8;
        ulong reschedBefore = ReadQuad(m, reschedUser);
        m.WritePhysical(preempt, BitConverter.GetBytes(1UL));     // need_resched, as a tick sets it
        m.Cpu.Breakpoints.Add(Sym("u_fault_handler"));

        Assert.Equal(StopKind.Breakpoint, m.Run(Budget).Kind);   // the UD2's #UD, delivered by error_return's IRET

        Assert.Equal(0UL, ReadQuad(m, preempt));
        Assert.Equal(reschedBefore + 1, ReadQuad(m, reschedUser));
    }

    static ulong ReadQuad(Machine m, ulong physical) => EntryKernelTests.ReadQuad(m, physical);
}
