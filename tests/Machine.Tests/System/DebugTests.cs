using static Iced.Intel.AssemblerRegisters;
using static Repl.Machine.Tests.SystemTables;

namespace Repl.Machine.Tests.SystemArchitecture;

public class DebugTests
{
    const ulong Tf = (ulong)RflagsBit.TF, Rf = (ulong)RflagsBit.RF, If = (ulong)RflagsBit.IF;
    const ulong Dr6Init = 0xFFFF_0FF0, Dr6BS = 1 << 14, Dr6BD = 1 << 13;

    /// <summary>DR7 enabling breakpoint <paramref name="n"/> locally with R/W <paramref name="rw"/> and LEN <paramref name="len"/>.</summary>
    static ulong Enable(int n, int rw, int len = 0) => (1UL << (2 * n)) | ((ulong)rw << (16 + 4 * n)) | ((ulong)len << (18 + 4 * n));

    const int Execute = 0, Write = 1, Io = 2, ReadWrite = 3;

    static ulong Dr6(Machine m) => m.State.Dr[6] | Dr6Init;

    static void AssertDebugTrapAt(Machine m, StopReason stop, ulong rip, ulong dr6)
    {
        Assert.Equal(StopKind.Fault, stop.Kind);
        Assert.Equal(Vector.DB, stop.Vector);
        Assert.Equal(rip, stop.Rip);
        Assert.Equal(dr6, Dr6(m));
    }

    [Fact]
    public void Debug_registers_read_back_with_the_fixed_bits_of_DR6_and_DR7()
    {
        var m = Guest.Long(a =>
        {
            a.mov(dr3, rax); a.mov(rbx, dr3);
            a.mov(rcx, dr6); a.mov(rdx, dr7);
            a.mov(dr7, rsi); a.mov(rdi, dr7);
            a.mov(dr6, rsi); a.mov(rbp, dr6);
            a.hlt();
        });
        m.State.Gpr[(int)Gpr.Rax] = 0xFFFF_8000_1234_5678;
        m.State.Gpr[(int)Gpr.Rsi] = 0xFFFF_DFFF; // all but DR7.GD

        Guest.RunToHalt(m);
        Assert.Equal(0xFFFF_8000_1234_5678UL, m.State.Gpr[(int)Gpr.Rbx]);
        Assert.Equal(Dr6Init, m.State.Gpr[(int)Gpr.Rcx]);
        Assert.Equal(0x400UL, m.State.Gpr[(int)Gpr.Rdx]);
        Assert.Equal(0xFFFF_07FFUL, m.State.Gpr[(int)Gpr.Rdi]); // bits 11, 12, 14, 15 read as 0, bit 10 as 1
        Assert.Equal(0xFFFF_CFFFUL, m.State.Gpr[(int)Gpr.Rbp]); // bit 12 reads as 0
    }

    [Fact]
    public void Outside_64_bit_mode_MOV_DR_moves_32_bits_and_an_instruction_breakpoint_is_at_CS_base_plus_EIP()
    {
        var m = Guest.Protected(a => { a.mov(dr0, eax); a.mov(ebx, dr7); a.nop(); a.hlt(); });
        m.State.Segments[(int)SegmentRegister.Cs].Base = 0x1000;
        m.State.Rip = Guest.CodeAddress - 0x1000;
        m.State.Gpr[(int)Gpr.Rax] = Guest.CodeAddress + 6; // the linear address of the NOP
        m.State.Dr[7] = Enable(0, Execute);

        AssertDebugTrapAt(m, m.Run(10), Guest.CodeAddress - 0x1000 + 6, Dr6Init | 1);
        Assert.Equal(Guest.CodeAddress + 6, m.State.Dr[0]);
        Assert.Equal(0x401UL, m.State.Gpr[(int)Gpr.Rbx]);
    }

    [Fact]
    public void A_one_in_the_upper_half_of_DR7_is_a_general_protection_fault()
    {
        var m = Guest.Long(a => a.mov(dr7, rax));
        m.State.Gpr[(int)Gpr.Rax] = 1UL << 32;
        Expect.FaultWithoutEffect(m, Vector.GP, 0);
    }

    [Fact]
    public void MOV_DR_above_CPL_0_is_a_general_protection_fault()
    {
        var m = Guest.Long(a => a.mov(rax, dr0));
        Guest.RunAtCpl3(m);
        Expect.FaultWithoutEffect(m, Vector.GP, 0);
    }

    [Fact]
    public void DR4_and_DR5_alias_DR6_and_DR7_without_CR4_DE_and_are_undefined_with_it()
    {
        var m = Guest.FromBytes(64, 0x0F, 0x21, 0xE8, 0xF4); // mov rax, dr5
        Guest.RunToHalt(m);
        Assert.Equal(0x400UL, m.State.Gpr[(int)Gpr.Rax]);

        m = Guest.FromBytes(64, 0x0F, 0x21, 0xE8); // mov rax, dr5
        m.State.Cr4 |= CpuState.Cr4DE;
        Expect.FaultWithoutEffect(m, Vector.UD, null);
    }

    [Fact]
    public void General_detect_faults_on_a_MOV_DR_with_BD_set_and_GD_cleared_for_the_handler()
    {
        var m = Guest.Long(a => a.mov(rax, dr0));
        m.State.Dr[7] = CpuState.Dr7GD;

        AssertDebugTrapAt(m, m.Run(10), Guest.CodeAddress, Dr6Init | Dr6BD);
        Assert.Equal(0UL, m.State.Dr[7]);
        Assert.Equal(0UL, m.State.Gpr[(int)Gpr.Rax]);
    }

    [Fact]
    public void A_general_detect_fault_is_delivered_with_RF_set_in_its_frame()
    {
        var m = Guest.Long(a => a.mov(rax, dr7));
        Install(m);
        m.State.Dr[7] = CpuState.Dr7GD;

        Assert.Equal(StopKind.Halted, m.Run(10).Kind);
        Assert.Equal(Handler(1) + 1, m.State.Rip);
        Assert.Equal([Guest.CodeAddress, KernelCs, Rf | 0x2], Frame(m, 3));
    }

    [Fact]
    public void A_software_interrupt_pushes_RF_clear_since_it_is_cleared_as_INT_n_starts()
    {
        var m = Guest.Long(a => a.@int(0x40));
        Install(m);
        m.State.Rflags |= Rf;

        Assert.Equal(StopKind.Halted, m.Run(10).Kind);
        Assert.Equal([Guest.CodeAddress + 2, KernelCs, 0x2], Frame(m, 3));
    }

    [Fact]
    public void Single_step_traps_after_each_instruction_with_BS_and_RIP_past_it()
    {
        var m = Guest.Long(a => { a.mov(eax, 1); a.mov(ebx, 2); a.hlt(); });
        m.State.Rflags |= Tf;

        AssertDebugTrapAt(m, m.Run(10), Guest.CodeAddress + 5, Dr6Init | Dr6BS);
        Assert.Equal(1UL, m.State.Gpr[(int)Gpr.Rax]);
        Assert.Equal(0UL, m.State.Gpr[(int)Gpr.Rbx]);
    }

    [Fact]
    public void A_single_step_trap_is_delivered_with_TF_in_the_frame_and_cleared_in_the_handler()
    {
        var m = Guest.Long(a => { a.nop(); a.hlt(); });
        Install(m);
        m.State.Rflags |= Tf;

        Assert.Equal(StopKind.Halted, m.Run(10).Kind);
        Assert.Equal(Handler(1) + 1, m.State.Rip);
        Assert.Equal([Guest.CodeAddress + 1, KernelCs, Tf | 0x2], Frame(m, 3));
        Assert.Equal(0x2UL, m.State.Rflags);
        Assert.Equal(Dr6Init | Dr6BS, Dr6(m));
    }

    [Fact]
    public void POPF_setting_TF_traps_only_after_the_next_instruction()
    {
        var m = Guest.Long(a => { a.popfq(); a.nop(); a.hlt(); });
        m.Bus.Write(Guest.StackTop, 8, Tf | 0x2);

        AssertDebugTrapAt(m, m.Run(10), Guest.CodeAddress + 2, Dr6Init | Dr6BS);
    }

    [Fact]
    public void POPF_clearing_TF_still_traps_after_itself()
    {
        var m = Guest.Long(a => { a.popfq(); a.nop(); a.hlt(); });
        m.State.Rflags |= Tf;
        m.Bus.Write(Guest.StackTop, 8, 0x2);

        AssertDebugTrapAt(m, m.Run(10), Guest.CodeAddress + 1, Dr6Init | Dr6BS);
        Assert.Equal(0x2UL, m.State.Rflags);
    }

    [Fact]
    public void INT_n_does_not_single_step_into_its_handler()
    {
        var m = Guest.Long(a => { a.@int(0x40); a.hlt(); });
        Install(m);
        m.State.Rflags |= Tf;

        Assert.Equal(StopKind.Halted, m.Run(10).Kind);
        Assert.Equal(Handler(0x40) + 1, m.State.Rip);
        Assert.Equal([Guest.CodeAddress + 2, KernelCs, Tf | 0x2], Frame(m, 3));
        Assert.Equal(Dr6Init, Dr6(m));
    }

    [Fact]
    public void IRET_restoring_TF_traps_after_the_first_instruction_it_returns_to()
    {
        var m = Guest.Long(a => { a.iretq(); a.nop(); a.nop(); a.hlt(); });
        ulong[] frame = [Guest.CodeAddress + 2, 0x08, Tf | 0x2, Guest.StackTop, 0x10];
        for (int k = 0; k < frame.Length; k++)
            m.Bus.Write(Guest.StackTop - 40 + (ulong)(8 * k), 8, frame[k]);
        m.State.Gpr[(int)Gpr.Rsp] = Guest.StackTop - 40;
        Install(m);
        Guest.CatchAll(m);

        AssertDebugTrapAt(m, m.Run(10), Guest.CodeAddress + 3, Dr6Init | Dr6BS);
    }

    [Fact]
    public void A_REP_string_instruction_single_steps_each_iteration()
    {
        var m = Guest.Long(a => { a.rep.stosb(); a.hlt(); });
        m.State.Gpr[(int)Gpr.Rcx] = 3;
        m.State.Gpr[(int)Gpr.Rdi] = Guest.Data;
        m.State.Rflags |= Tf;

        AssertDebugTrapAt(m, m.Run(10), Guest.CodeAddress, Dr6Init | Dr6BS);
        Assert.Equal(2UL, m.State.Gpr[(int)Gpr.Rcx]);
    }

    [Fact]
    public void MOV_SS_holds_a_single_step_trap_until_after_the_next_instruction()
    {
        var m = Guest.Long(a => { a.mov(ss, ax); a.nop(); a.hlt(); });
        Install(m);
        Guest.CatchAll(m);
        m.State.Gpr[(int)Gpr.Rax] = KernelDs;
        m.State.Rflags |= Tf;

        AssertDebugTrapAt(m, m.Run(10), Guest.CodeAddress + 4, Dr6Init | Dr6BS); // 66 8E D0, then the NOP
    }

    [Fact]
    public void ICEBP_raises_a_debug_trap_without_setting_BS()
    {
        var m = Guest.FromBytes(64, 0xF1, 0xF4);

        var stop = m.Run(10);
        AssertDebugTrapAt(m, stop, Guest.CodeAddress + 1, Dr6Init);
    }

    [Fact]
    public void An_instruction_breakpoint_faults_before_the_instruction_and_RF_suppresses_it_once()
    {
        var m = Guest.Long(a => { a.mov(eax, 1); a.mov(ebx, 2); a.hlt(); });
        m.State.Dr[1] = Guest.CodeAddress + 5;
        m.State.Dr[7] = Enable(1, Execute);

        AssertDebugTrapAt(m, m.Run(10), Guest.CodeAddress + 5, Dr6Init | 2);
        Assert.Equal(0UL, m.State.Gpr[(int)Gpr.Rbx]);

        m.State.Rflags |= Rf; // as the handler's IRET would restore it
        Guest.RunToHalt(m);
        Assert.Equal(2UL, m.State.Gpr[(int)Gpr.Rbx]);
        Assert.Equal(0UL, m.State.Rflags & Rf);
    }

    [Fact]
    public void An_instruction_breakpoint_is_delivered_with_RF_clear_in_the_frame()
    {
        var m = Guest.Long(a => { a.nop(); a.hlt(); });
        Install(m);
        m.State.Dr[0] = Guest.CodeAddress;
        m.State.Dr[7] = Enable(0, Execute);

        Assert.Equal(StopKind.Halted, m.Run(10).Kind);
        Assert.Equal(Handler(1) + 1, m.State.Rip);
        Assert.Equal([Guest.CodeAddress, KernelCs, 0x2], Frame(m, 3));
        Assert.Equal(Dr6Init | 1, Dr6(m));
    }

    [Fact]
    public void A_disabled_breakpoint_does_not_fire()
    {
        var m = Guest.Long(a => { a.nop(); a.hlt(); });
        m.State.Dr[0] = Guest.CodeAddress;
        m.State.Dr[7] = Enable(0, Execute) & ~3UL;
        Guest.RunToHalt(m);
        Assert.Equal(Dr6Init, Dr6(m));
    }

    [Fact]
    public void A_write_breakpoint_traps_after_a_write_to_any_byte_of_its_range_but_not_after_a_read()
    {
        var m = Guest.Long(a => { a.mov(eax, __dword_ptr[rbx]); a.mov(__word_ptr[rbx + 2], ax); a.hlt(); });
        m.State.Gpr[(int)Gpr.Rbx] = Guest.Data;
        m.State.Dr[2] = Guest.Data + 3;
        m.State.Dr[7] = Enable(2, Write, len: 1); // two bytes: Data+2 and Data+3

        AssertDebugTrapAt(m, m.Run(10), Guest.CodeAddress + 6, Dr6Init | 4);
    }

    [Fact]
    public void A_data_breakpoint_hit_by_a_REP_string_instruction_traps_after_that_iteration()
    {
        var m = Guest.Long(a => { a.rep.stosb(); a.hlt(); });
        m.State.Gpr[(int)Gpr.Rcx] = 4;
        m.State.Gpr[(int)Gpr.Rdi] = Guest.Data;
        m.State.Dr[0] = Guest.Data + 1;
        m.State.Dr[7] = Enable(0, Write);

        AssertDebugTrapAt(m, m.Run(10), Guest.CodeAddress, Dr6Init | 1);
        Assert.Equal(2UL, m.State.Gpr[(int)Gpr.Rcx]);
    }

    [Fact]
    public void A_read_write_breakpoint_of_eight_bytes_traps_after_a_read_of_its_last_byte()
    {
        var m = Guest.Long(a => { a.mov(al, __byte_ptr[rbx + 7]); a.mov(al, __byte_ptr[rbx + 8]); a.hlt(); });
        m.State.Gpr[(int)Gpr.Rbx] = Guest.Data;
        m.State.Dr[3] = Guest.Data + 5; // aligned down to Data by LEN = 8 bytes
        m.State.Dr[7] = Enable(3, ReadWrite, len: 2);

        AssertDebugTrapAt(m, m.Run(10), Guest.CodeAddress + 3, Dr6Init | 8);
        Guest.RunToHalt(m);
    }

    [Fact]
    public void An_IO_breakpoint_traps_after_OUT_with_CR4_DE_and_never_without_it()
    {
        var m = Guest.Long(a => { a.@out(0x80, al); a.hlt(); });
        m.State.Dr[0] = 0x80;
        m.State.Dr[7] = Enable(0, Io);
        Guest.RunToHalt(m);

        m = Guest.Long(a => { a.@out(0x80, al); a.hlt(); });
        m.State.Cr4 |= CpuState.Cr4DE;
        m.State.Dr[0] = 0x80;
        m.State.Dr[7] = Enable(0, Io);
        AssertDebugTrapAt(m, m.Run(10), Guest.CodeAddress + 2, Dr6Init | 1);
    }

    [Fact]
    public void A_single_step_trap_is_taken_before_a_pending_NMI()
    {
        var m = Guest.Long(a => { a.nop(); a.hlt(); });
        m.State.Rflags |= Tf;
        m.State.NmiBlocked = true; // released below, once the nop has run
        Assert.Equal(StopKind.StepDone, m.Step().Kind);
        m.State.NmiBlocked = false;
        m.InjectNmi();

        AssertDebugTrapAt(m, m.Run(10), Guest.CodeAddress + 1, Dr6Init | Dr6BS);
        Assert.True(m.State.NmiPending);
    }

    [Fact]
    public void An_NMI_pending_with_a_single_step_trap_is_delivered_before_the_first_instruction_of_the_DB_handler()
    {
        var m = Guest.Long(a => { a.nop(); a.hlt(); });
        Install(m);
        m.State.Rflags |= Tf;
        m.State.NmiBlocked = true; // released below, once the nop has run
        Assert.Equal(StopKind.StepDone, m.Step().Kind);
        m.State.NmiBlocked = false;
        m.InjectNmi();

        Assert.Equal(StopKind.Halted, m.Run(10).Kind);
        Assert.Equal(Handler(2) + 1, m.State.Rip);
        Assert.Equal([Handler(1), KernelCs, 0x2, Guest.StackTop - 40, KernelDs], Frame(m, 5));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SYSCALL_single_steps_into_the_kernel_only_when_FMASK_leaves_TF_set(bool fmaskClearsTf)
    {
        var m = Guest.Long(a => { a.syscall(); a.hlt(); });
        Install(m);
        Guest.CatchAll(m);
        m.State.Efer |= CpuState.EferSCE;
        m.WriteMsr(Msr.Star, (ulong)KernelCs << 32);
        m.WriteMsr(Msr.Lstar, Handler(0x41));
        m.WriteMsr(Msr.Fmask, fmaskClearsTf ? Tf : 0);
        m.State.Rflags |= Tf;

        var stop = m.Run(10);
        if (fmaskClearsTf)
        {
            Assert.Equal(StopKind.Halted, stop.Kind);
            Assert.Equal(Handler(0x41) + 1, m.State.Rip);
        }
        else
            AssertDebugTrapAt(m, stop, Handler(0x41), Dr6Init | Dr6BS);
    }

    [Fact]
    public void A_single_step_trap_between_REP_iterations_is_delivered_with_RF_set_at_the_REP()
    {
        var m = Guest.Long(a => { a.rep.stosb(); a.hlt(); });
        Install(m);
        m.State.Gpr[(int)Gpr.Rcx] = 3;
        m.State.Gpr[(int)Gpr.Rdi] = Guest.Data;
        m.State.Rflags |= Tf;

        Assert.Equal(StopKind.Halted, m.Run(10).Kind);
        Assert.Equal(Handler(1) + 1, m.State.Rip);
        Assert.Equal([Guest.CodeAddress, KernelCs, Rf | Tf | 0x2], Frame(m, 3));
    }

    [Fact]
    public void CPUID_reports_the_debugging_extensions()
    {
        var (_, _, _, edx) = Identification.Cpuid(CpuVendor.Intel, 1, 0);
        Assert.NotEqual(0u, edx & 1 << 2);
    }

    /// <summary>User code at CPL 3 with a read breakpoint on the word that <c>mov ss, [rbx]</c> loads, SYSCALL enabled
    /// (LSTAR at the handler of vector 0x41) and an INT 0x80 gate of DPL 3; user and kernel GS bases differ.</summary>
    static Machine MovSsBreakpoint(Action<Iced.Intel.Assembler> next)
    {
        var m = Guest.Long(a => { a.mov(ss, __word_ptr[rbx]); next(a); });
        Install(m);
        SetGate(m, 0x80, Handler(0x80), dpl: 3);
        m.State.Efer |= CpuState.EferSCE;
        m.WriteMsr(Msr.Star, (ulong)KernelCs << 32);
        m.WriteMsr(Msr.Lstar, Handler(0x41));
        m.WriteMsr(Msr.Fmask, If | Tf);
        m.State.Segments[(int)SegmentRegister.Gs].Base = 0x1111;
        m.State.KernelGsBase = 0x2222;
        EnterUserMode(m, Guest.CodeAddress, Guest.StackTop);
        m.State.Rflags |= If;
        m.Bus.Write(Guest.Data, 2, UserDs);
        m.State.Gpr[(int)Gpr.Rbx] = Guest.Data;
        m.State.Dr[0] = Guest.Data;
        m.State.Dr[7] = Enable(0, ReadWrite, len: 1);
        return m;
    }

    [Fact]
    public void A_data_breakpoint_on_MOV_SS_followed_by_SYSCALL_is_delivered_in_the_kernel_with_the_user_stack_and_GS()
    {
        var m = MovSsBreakpoint(a => a.syscall());

        Assert.Equal(StopKind.Halted, m.Run(10).Kind);
        Assert.Equal(Handler(1) + 1, m.State.Rip);
        // The #DB interrupts the first instruction of the SYSCALL entry, at CPL 0 on the user's stack pointer.
        Assert.Equal([Handler(0x41), KernelCs, 0x2, Guest.StackTop, KernelDs], Frame(m, 5));
        Assert.Equal(Guest.StackTop - 40, m.State.Gpr[(int)Gpr.Rsp]);
        Assert.Equal(0x1111UL, m.State.Segments[(int)SegmentRegister.Gs].Base); // no SWAPGS has run yet
        Assert.Equal(Dr6Init | 1, Dr6(m));
    }

    [Fact]
    public void A_data_breakpoint_on_MOV_SS_followed_by_INT_n_is_delivered_at_the_first_instruction_of_the_handler()
    {
        var m = MovSsBreakpoint(a => a.@int(0x80));

        Assert.Equal(StopKind.Halted, m.Run(10).Kind);
        Assert.Equal(Handler(1) + 1, m.State.Rip);
        ulong intFrame = 0x7_0000 - 40;
        Assert.Equal([Handler(0x80), KernelCs, 0x2, intFrame, 0], Frame(m, 5));
        Assert.Equal(Guest.CodeAddress + 4, m.Bus.Read(intFrame, 8)); // INT 0x80's own frame, returning to user mode
        Assert.Equal(0x1111UL, m.State.Segments[(int)SegmentRegister.Gs].Base);
    }
}
