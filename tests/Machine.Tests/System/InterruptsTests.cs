using static Iced.Intel.AssemblerRegisters;
using static Repl.Machine.Tests.SystemTables;

namespace Repl.Machine.Tests.SystemArchitecture;

public class InterruptsTests
{
    const ulong If = (ulong)RflagsBit.IF, Rf = (ulong)RflagsBit.RF;

    static Machine WithTables(int bitness, params byte[] code)
    {
        var m = Guest.FromBytes(bitness, code);
        Install(m);
        return m;
    }

    static void AssertHaltedIn(Machine m, int vector, StopReason stop)
    {
        Assert.Equal(StopKind.Halted, stop.Kind);
        Assert.Equal(Handler(vector) + 1, stop.Rip);
    }

    [Fact]
    public void A_page_fault_handler_that_cannot_be_fetched_faults_again_and_again_until_the_budget_ends_the_run()
    {
        // CreateLongMode maps every page for user access, so with SMEP the kernel can fetch neither the program nor
        // its #PF handler: each delivery succeeds, and the next fetch faults again, retiring nothing.
        var m = WithTables(64, 0x90); // nop
        m.State.Cr4 |= CpuState.Cr4Smep;
        ulong rsp = m.State.Gpr[(int)Gpr.Rsp];

        var stop = m.Run(10);

        Assert.Equal(StopKind.InstructionBudget, stop.Kind);
        Assert.Equal(Handler(14), stop.Rip);
        Assert.Equal(0UL, m.State.InstructionsRetired);
        Assert.True(m.State.Gpr[(int)Gpr.Rsp] < rsp - 10 * 40); // eleven frames, one per delivery
    }

    [Fact]
    public void A_divide_error_goes_through_an_interrupt_gate_with_a_five_slot_frame_on_a_16_byte_aligned_stack()
    {
        var m = WithTables(64, 0x31, 0xC9, 0xF7, 0xF1); // xor ecx, ecx; div ecx
        m.State.Gpr[(int)Gpr.Rsp] = Guest.StackTop - 8;
        m.State.Rflags |= If;

        AssertHaltedIn(m, 0, m.Run(10));
        ulong aligned = Guest.StackTop - 16;
        Assert.Equal(aligned - 40, m.State.Gpr[(int)Gpr.Rsp]);
        Assert.Equal([Guest.CodeAddress + 2, KernelCs, Rf | 0x246, Guest.StackTop - 8, KernelDs], Frame(m, 5));
        Assert.Equal(0x46UL, m.State.Rflags); // IF cleared by the interrupt gate, RF cleared
        Assert.Equal(KernelCs, m.State.Cs.Selector);
    }

    [Fact]
    public void An_interrupt_between_iterations_of_REP_STOSB_returns_to_it_with_RF_set()
    {
        var m = Guest.Long(a => { a.rep.stosb(); a.hlt(); });
        Install(m);
        m.State.Gpr[(int)Gpr.Rcx] = 5000;
        m.State.Gpr[(int)Gpr.Rdi] = Guest.Data;
        m.State.Rflags |= If;
        m.Step(); // the first chunk of iterations
        Assert.Equal(Guest.CodeAddress, m.State.Rip);
        m.RaiseInterrupt(0x40);

        AssertHaltedIn(m, 0x40, m.Run(10));
        Assert.Equal([Guest.CodeAddress, KernelCs, Rf | 0x202], Frame(m, 3));
    }

    [Fact]
    public void A_general_protection_fault_pushes_its_error_code_and_a_trap_gate_leaves_IF_set()
    {
        var m = Guest.Long(a => a.mov(rax, __qword_ptr[rbx]));
        Install(m);
        SetGate(m, 13, Handler(13), type: 0xF);
        m.State.Gpr[(int)Gpr.Rbx] = Guest.NonCanonical;
        m.State.Rflags |= If;

        AssertHaltedIn(m, 13, m.Run(10));
        Assert.Equal([0, Guest.CodeAddress, KernelCs, Rf | 0x202, Guest.StackTop, KernelDs], Frame(m, 6));
        Assert.Equal(Guest.StackTop - 48, m.State.Gpr[(int)Gpr.Rsp]);
        Assert.Equal(0x202UL, m.State.Rflags);
    }

    [Fact]
    public void Traps_and_interrupts_push_RF_as_it_is_while_faults_push_it_set()
    {
        var m = WithTables(64, 0xCD, 0x40); // int 0x40
        AssertHaltedIn(m, 0x40, m.Run(10));
        Assert.Equal(0x2UL, Frame(m, 3)[2]);

        m = WithTables(64, 0x90, 0xF4);
        m.State.Rflags |= If;
        m.RaiseInterrupt(0x40);
        AssertHaltedIn(m, 0x40, m.Run(10));
        Assert.Equal(0x202UL, Frame(m, 3)[2]);
    }

    [Fact]
    public void INT_n_through_a_gate_more_privileged_than_CPL_raises_GP_with_the_IDT_error_code_at_the_INT()
    {
        var m = WithTables(64, 0xCD, 0x80); // int 0x80 at CPL 3, gate DPL 0
        EnterUserMode(m, Guest.CodeAddress, 0x6_0008);

        AssertHaltedIn(m, 13, m.Run(10));
        Assert.Equal([0x80 * 8 + 2, Guest.CodeAddress, UserCs, Rf | 0x2, 0x6_0008, UserDs], Frame(m, 6));
        Assert.Equal(0x7_0000UL - 48, m.State.Gpr[(int)Gpr.Rsp]); // RSP0 from the TSS
        Assert.Equal(1UL, m.State.InstructionsRetired); // only the handler's HLT: the INT did not complete
    }

    [Fact]
    public void INT3_and_INT_3_trap_with_RIP_after_them_and_are_refused_by_a_DPL_0_gate_at_CPL_3_unlike_INT1()
    {
        var m = WithTables(64, 0xCC);
        AssertHaltedIn(m, 3, m.Run(10));
        Assert.Equal(Guest.CodeAddress + 1, Frame(m, 1)[0]);

        m = WithTables(64, 0xCD, 0x03);
        AssertHaltedIn(m, 3, m.Run(10));
        Assert.Equal(Guest.CodeAddress + 2, Frame(m, 1)[0]);

        m = WithTables(64, 0xCC);
        EnterUserMode(m, Guest.CodeAddress, 0x6_0000);
        AssertHaltedIn(m, 13, m.Run(10));
        Assert.Equal([3 * 8 + 2, Guest.CodeAddress], Frame(m, 2));

        m = WithTables(64, 0xF1); // INT1 is not subject to the gate's DPL
        EnterUserMode(m, Guest.CodeAddress, 0x6_0000);
        AssertHaltedIn(m, 1, m.Run(10));
        Assert.Equal([Guest.CodeAddress + 1, UserCs], Frame(m, 2));
        Assert.Equal(2UL, m.State.InstructionsRetired); // INT1 and the handler's HLT retired
    }

    [Fact]
    public void An_IST_gate_switches_stacks_even_without_a_privilege_change()
    {
        var m = WithTables(64, 0x90, 0xF4);
        SetGate(m, 2, Handler(2), ist: 3);
        SetStack(m, IstOffset(3), 0x5_0008);
        m.InjectNmi();

        AssertHaltedIn(m, 2, m.Run(10));
        Assert.Equal(0x5_0000UL - 40, m.State.Gpr[(int)Gpr.Rsp]);
        Assert.Equal([Guest.CodeAddress, KernelCs, 0x2, Guest.StackTop, KernelDs], Frame(m, 5));
        Assert.True(m.State.NmiBlocked);
    }

    [Fact]
    public void A_not_present_gate_for_an_exception_raises_NP_with_the_IDT_and_EXT_bits()
    {
        var m = WithTables(64, 0x0F, 0x0B); // ud2
        SetGate(m, 6, Handler(6), present: false);

        AssertHaltedIn(m, 11, m.Run(10));
        Assert.Equal([6 * 8 + 2 + 1, Guest.CodeAddress], Frame(m, 2));
    }

    [Fact]
    public void A_fault_while_delivering_an_external_interrupt_has_EXT_set()
    {
        var m = WithTables(64, 0x90, 0xF4);
        SetGate(m, 0x40, Handler(0x40), dpl: 3, present: false);
        m.State.Rflags |= If;
        m.RaiseInterrupt(0x40);

        AssertHaltedIn(m, 11, m.Run(10));
        Assert.Equal(0x40UL * 8 + 2 + 1, Frame(m, 1)[0]);
    }

    [Fact]
    public void A_contributory_fault_while_delivering_GP_becomes_a_double_fault_on_its_IST_stack()
    {
        var m = Guest.Long(a => a.mov(rax, __qword_ptr[rbx]));
        Install(m);
        SetGate(m, 13, Handler(13), present: false);
        SetGate(m, 8, Handler(8), ist: 1);
        SetStack(m, IstOffset(1), 0x4_0000);
        m.State.Gpr[(int)Gpr.Rbx] = Guest.NonCanonical;

        AssertHaltedIn(m, 8, m.Run(10));
        Assert.Equal(0x4_0000UL - 48, m.State.Gpr[(int)Gpr.Rsp]);
        Assert.Equal([0, Guest.CodeAddress, KernelCs, 0x2, Guest.StackTop, KernelDs], Frame(m, 6));
    }

    [Fact]
    public void A_benign_exception_whose_delivery_faults_has_the_second_fault_delivered_instead()
    {
        var m = WithTables(64, 0x0F, 0x0B);
        SetGate(m, 6, Handler(6), type: 0x5); // a task gate does not exist in the IA-32e IDT
        AssertHaltedIn(m, 13, m.Run(10));
        Assert.Equal(6UL * 8 + 2 + 1, Frame(m, 1)[0]);
    }

    [Fact]
    public void A_fault_while_delivering_a_double_fault_is_a_triple_fault_that_names_the_vectors()
    {
        var m = WithTables(64, 0x31, 0xC9, 0xF7, 0xF1);
        m.State.Idtr.Limit = 0;
        CpuState before = m.State;

        var stop = m.Run(10);
        Assert.Equal(StopKind.TripleFault, stop.Kind);
        Assert.Equal(Guest.CodeAddress + 2, stop.Rip);
        Assert.Equal("#GP while delivering #DE, then #GP while delivering #DF", stop.Detail);
        Assert.Equal(before.Gpr[(int)Gpr.Rsp], m.State.Gpr[(int)Gpr.Rsp]);
    }

    [Fact]
    public void A_caught_vector_stops_the_run_before_delivery_with_the_state_untouched()
    {
        var m = Guest.Long(a => a.mov(rax, __qword_ptr[rbx]));
        Install(m);
        m.Cpu.CatchExceptions.Add(Vector.GP);
        m.State.Gpr[(int)Gpr.Rbx] = Guest.NonCanonical;
        Expect.FaultWithoutEffect(m, Vector.GP, 0);
        Assert.Equal(KernelDs, m.State.Segments[(int)SegmentRegister.Ss].Selector);
    }

    [Fact]
    public void An_NMI_is_blocked_from_its_delivery_until_the_next_IRET()
    {
        var m = WithTables(64, 0x90, 0x90, 0x90, 0xF4);
        ulong nmi = 0x31_8000;
        m.WritePhysical(nmi, [0x48, 0xFF, 0xC3, 0x48, 0xCF]); // inc rbx; iretq
        SetGate(m, 2, nmi);

        m.InjectNmi();
        m.Step(); // delivers the NMI and runs INC RBX
        Assert.Equal(1UL, m.State.Gpr[(int)Gpr.Rbx]);
        m.InjectNmi();
        m.Step(); // blocked: IRETQ runs
        Assert.True(m.State.NmiPending);
        Assert.Equal(Guest.CodeAddress, m.State.Rip);
        m.Step(); // unblocked by the IRET: delivered before the NOP
        Assert.Equal(2UL, m.State.Gpr[(int)Gpr.Rbx]);
        Assert.False(m.State.NmiPending);
    }

    [Fact]
    public void External_interrupts_wait_for_IF_and_for_the_instruction_after_STI()
    {
        var m = WithTables(64, 0x90, 0xFB, 0x90, 0x90, 0xF4); // nop; sti; nop; nop; hlt
        m.RaiseInterrupt(0x40);
        m.RaiseInterrupt(0x30);

        AssertHaltedIn(m, 0x40, m.Run(10)); // the higher vector first
        Assert.Equal(Guest.CodeAddress + 3, Frame(m, 1)[0]); // after STI and one more instruction
        Assert.Equal(3UL + 1, m.State.InstructionsRetired);
    }

    [Fact]
    public void STI_with_IF_already_set_opens_no_shadow()
    {
        var m = WithTables(64, 0xFB, 0x90, 0xF4); // sti; nop; hlt
        m.State.Rflags |= If;
        m.Step();
        m.RaiseInterrupt(0x40);
        AssertHaltedIn(m, 0x40, m.Run(10));
        Assert.Equal(Guest.CodeAddress + 1, Frame(m, 1)[0]);
    }

    [Fact]
    public void INT_n_of_an_exception_vector_pushes_no_error_code()
    {
        var m = WithTables(64, 0xCD, 0x0D); // int 13
        AssertHaltedIn(m, 13, m.Run(10));
        Assert.Equal(Guest.StackTop - 40, m.State.Gpr[(int)Gpr.Rsp]);
        Assert.Equal([Guest.CodeAddress + 2, KernelCs], Frame(m, 2));
    }

    [Fact]
    public void POP_SS_in_protected_mode_holds_off_an_external_interrupt_for_one_instruction()
    {
        var m = Guest.Protected(a => { a.push(KernelDs); a.pop(ss); a.nop(); a.hlt(); });
        InstallProtected(m);
        m.State.Rflags |= If;
        m.Step(2);
        m.RaiseInterrupt(0x40);
        var stop = m.Run(10);
        Assert.Equal(Handler(0x40) + 1, stop.Rip);
        Assert.Equal(Guest.CodeAddress + 2 + 1 + 1, m.Bus.Read(m.State.Gpr[(int)Gpr.Rsp], 4)); // after the NOP
    }

    [Fact]
    public void MOV_SS_holds_off_an_NMI_until_the_next_instruction_completes()
    {
        var m = WithTables(64, 0x8E, 0xD0, 0x90, 0xF4); // mov ss, ax; nop; hlt
        m.State.Gpr[(int)Gpr.Rax] = KernelDs;
        m.Step();
        m.InjectNmi();

        AssertHaltedIn(m, 2, m.Run(10));
        Assert.Equal(Guest.CodeAddress + 3, Frame(m, 1)[0]);
    }

    [Fact]
    public void HLT_with_interrupts_off_stops_but_with_IF_set_a_later_interrupt_wakes_it()
    {
        var m = WithTables(64, 0xF4);
        m.RaiseInterrupt(0x41);
        var stop = m.Run(10);
        Assert.Equal(StopKind.Halted, stop.Kind); // IF clear: nothing but an NMI could wake it
        Assert.Equal(Guest.CodeAddress + 1, stop.Rip);

        m = WithTables(64, 0xFB, 0xF4, 0xF4); // sti; hlt; hlt
        stop = m.Run(10);
        Assert.Equal(Guest.CodeAddress + 2, stop.Rip);
        m.RaiseInterrupt(0x41);
        AssertHaltedIn(m, 0x41, m.Run(10));
        Assert.Equal(Guest.CodeAddress + 2, Frame(m, 1)[0]);
    }

    [Fact]
    public void Stepping_onto_a_HLT_that_nothing_can_wake_reports_the_halt()
    {
        var m = WithTables(64, 0x90, 0xF4);
        Assert.Equal(StopKind.StepDone, m.Step().Kind);
        var stop = m.Step();
        Assert.Equal(StopKind.Halted, stop.Kind);
        Assert.Equal(Guest.CodeAddress + 2, stop.Rip);
    }

    sealed class Timer(global::Repl.Machine.Cpu cpu, ulong at) : ITimeSource
    {
        public ulong? NextEventAt { get; private set; } = at;

        public void AdvanceTo(ulong now)
        {
            NextEventAt = null;
            cpu.RaiseInterrupt(0x42);
        }
    }

    [Fact]
    public void A_halted_processor_jumps_virtual_time_to_the_next_timer_event()
    {
        var m = WithTables(64, 0xFB, 0xF4);
        m.Cpu.TimeSource = new Timer(m.Cpu, 1000);

        AssertHaltedIn(m, 0x42, m.Run(10));
        Assert.Equal(1001UL, m.State.InstructionsRetired); // the handler's HLT retired at time 1000
    }

    [Fact]
    public void An_interrupt_acknowledged_is_reported_to_the_interrupt_controller()
    {
        var m = WithTables(64, 0xFB, 0x90, 0xF4);
        var acknowledged = new List<byte>();
        m.Cpu.InterruptAcknowledged = acknowledged.Add;
        m.RaiseInterrupt(0x51);
        AssertHaltedIn(m, 0x51, m.Run(10));
        Assert.Equal([(byte)0x51], acknowledged);
    }
}

public class ProtectedModeInterruptsTests
{
    static Machine Create(params byte[] code)
    {
        var m = Guest.FromBytes(32, code);
        InstallProtected(m);
        return m;
    }

    static uint[] Frame32(Machine m, int count)
    {
        ulong esp = m.State.Gpr[(int)Gpr.Rsp];
        return Enumerable.Range(0, count).Select(k => (uint)m.Bus.Read(esp + (ulong)k * 4, 4)).ToArray();
    }

    [Fact]
    public void A_divide_error_at_the_same_level_pushes_EFLAGS_CS_EIP_in_four_byte_slots_without_aligning()
    {
        var m = Create(0x31, 0xC9, 0xF7, 0xF1);
        m.State.Gpr[(int)Gpr.Rsp] = Guest.StackTop - 2;
        var stop = m.Run(10);
        Assert.Equal(StopKind.Halted, stop.Kind);
        Assert.Equal(Handler(0) + 1, stop.Rip);
        Assert.Equal(Guest.StackTop - 2 - 12, m.State.Gpr[(int)Gpr.Rsp]);
        Assert.Equal([(uint)Guest.CodeAddress + 2, KernelCs, 0x10046u], Frame32(m, 3)); // RF set: a fault
    }

    [Fact]
    public void INT_0x80_from_CPL_3_switches_to_SS0_ESP0_of_the_TSS_and_IRETD_returns()
    {
        const ulong Kernel = 0x31_8000;
        var m = Create(0xCD, 0x80, 0xF4); // int 0x80; hlt (a #GP at CPL 3)
        m.WritePhysical(Kernel, [0x41, 0xCF]); // inc ecx; iretd
        SetGate32(m, 0x80, (uint)Kernel, type: 0xF, dpl: 3);
        m.State.Segments[(int)SegmentRegister.Cs] = global::Repl.Machine.Cpu.FromDescriptor(UserCs32, ReadDescriptor(m, UserCs32));
        m.State.Segments[(int)SegmentRegister.Ss] = global::Repl.Machine.Cpu.FromDescriptor(UserDs, ReadDescriptor(m, UserDs));
        m.State.Gpr[(int)Gpr.Rsp] = 0x6_0000;

        m.Step(2); // INT 0x80, INC ECX
        Assert.Equal(0, m.State.Cpl);
        Assert.Equal(KernelDs, m.State.Segments[(int)SegmentRegister.Ss].Selector);
        Assert.Equal(0x7_0000UL - 20, m.State.Gpr[(int)Gpr.Rsp]);
        Assert.Equal([(uint)Guest.CodeAddress + 2, UserCs32, 0x2u, 0x6_0000u, UserDs], Frame32(m, 5));

        m.Step(); // IRETD to CPL 3
        Assert.Equal(3, m.State.Cpl);
        Assert.Equal(Guest.CodeAddress + 2, m.State.Rip);
        Assert.Equal(0x6_0000UL, m.State.Gpr[(int)Gpr.Rsp]);
        Assert.Equal(UserDs, m.State.Segments[(int)SegmentRegister.Ss].Selector);
        Assert.Equal(1UL, m.State.Gpr[(int)Gpr.Rcx]);
    }

    [Fact]
    public void A_TSS_whose_SS0_is_not_a_kernel_data_segment_raises_TS_with_that_selector()
    {
        var m = Create(0xCD, 0x80);
        SetGate32(m, 0x80, (uint)Handler(0x80), dpl: 3);
        m.Bus.Write(Tss + 8, 2, UserDs);
        m.State.Segments[(int)SegmentRegister.Cs] = global::Repl.Machine.Cpu.FromDescriptor(UserCs32, ReadDescriptor(m, UserCs32));
        m.Cpu.CatchExceptions.Add(Vector.TS);
        var stop = m.Run(10);
        Assert.Equal(Vector.TS, stop.Vector);
        Assert.Equal((uint)(UserDs & ~3), stop.ErrorCode);
        Assert.Equal(Guest.CodeAddress, stop.Rip);
    }

    [Fact]
    public void A_delivery_that_keeps_raising_alignment_checks_stops_the_run_instead_of_looping()
    {
        var m = Create(0x0F, 0x0B); // ud2 at CPL 3, whose handlers run at CPL 3 on a misaligned stack
        SetGate32(m, 6, (uint)Handler(6), selector: UserCs32);
        SetGate32(m, 17, (uint)Handler(17), selector: UserCs32);
        m.State.Segments[(int)SegmentRegister.Cs] = global::Repl.Machine.Cpu.FromDescriptor(UserCs32, ReadDescriptor(m, UserCs32));
        m.State.Segments[(int)SegmentRegister.Ss] = global::Repl.Machine.Cpu.FromDescriptor(UserDs, ReadDescriptor(m, UserDs));
        m.State.Gpr[(int)Gpr.Rsp] = 0x6_0001;
        m.State.Cr0 |= CpuState.Cr0AM;
        m.State.Rflags |= (ulong)RflagsBit.AC;

        var stop = m.Run(10);
        Assert.Equal(StopKind.Fault, stop.Kind);
        Assert.Equal(Vector.AC, stop.Vector);
        Assert.Contains("keeps raising", stop.Detail);
    }
}
