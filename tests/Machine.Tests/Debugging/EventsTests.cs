using Iced.Intel;
using Repl.Machine.Tests.SystemArchitecture;
using static Iced.Intel.AssemblerRegisters;
using static Repl.Machine.Tests.SystemTables;

namespace Repl.Machine.Tests.Debugging;

public class EventsTests
{
    const ulong Kernel = 0x20_0000, Lstar = Kernel, UserCode = 0x40_0000, UserStack = 0x41_0000;
    const ulong UserGsBase = 0x7F00_0000_1000, KernelGsBase = 0xFFFF_8880_0000_0000;
    // SYSCALL loads CS KernelCs and SS KernelDs; SYSRETQ loads CS 0x1B + 16 = UserCs and SS 0x1B + 8 = UserDs.
    const ulong Star = (0x1BUL << 48) | ((ulong)KernelCs << 32);

    /// <summary>Every event the machine raises, in order.</summary>
    static List<IMachineEvent> Record(Machine m)
    {
        var seen = new List<IMachineEvent>();
        var e = m.Events;
        e.InterruptDelivered += x => seen.Add(x);
        e.ControlTransfer += x => seen.Add(x);
        e.Swapgs += x => seen.Add(x);
        e.ControlRegisterWritten += x => seen.Add(x);
        e.MsrWritten += x => seen.Add(x);
        e.ModeChanged += x => seen.Add(x);
        e.SerialOutput += x => seen.Add(x);
        return seen;
    }

    /// <summary>The address of each instruction of <paramref name="code"/> at <see cref="Guest.CodeAddress"/>.</summary>
    static ulong[] InstructionAddresses(byte[] code, int bitness)
    {
        var decoder = Decoder.Create(bitness, code, Guest.CodeAddress);
        var addresses = new List<ulong>();
        while (decoder.IP < Guest.CodeAddress + (ulong)code.Length)
        {
            addresses.Add(decoder.IP);
            decoder.Decode();
        }
        return [.. addresses];
    }

    static void Kernel64(Assembler a)
    {
        a.swapgs();
        a.swapgs();
        a.sysretq();
    }

    /// <summary>User code at CPL 3 doing SYSCALL into a kernel that swaps GS twice and returns with SYSRETQ.</summary>
    static Machine SyscallRoundTrip()
    {
        var m = Guest.Long(a => a.hlt()); // the kernel's code at CodeAddress is not reached
        Install(m);
        m.WritePhysical(UserCode, Guest.Assemble(64, a => { a.syscall(); a.nop(); }, UserCode));
        m.WritePhysical(Kernel, Guest.Assemble(64, Kernel64, Kernel));
        EnterUserMode(m, UserCode, UserStack);
        m.State.Efer |= CpuState.EferSCE;
        m.WriteMsr(Msr.Star, Star);
        m.WriteMsr(Msr.Lstar, Lstar);
        m.WriteMsr(Msr.GsBase, UserGsBase);
        m.WriteMsr(Msr.KernelGsBase, KernelGsBase);
        return m;
    }

    [Fact]
    public void A_system_call_round_trip_raises_SYSCALL_two_SWAPGS_and_SYSRET_with_the_contexts_on_both_sides()
    {
        var m = SyscallRoundTrip();
        var seen = Record(m);

        Assert.Equal(StopKind.StepDone, m.Step(4).Kind);
        var user = new CpuContext(UserCs, UserCode, UserStack, 3, CpuMode.Long64);
        var kernel = new CpuContext(KernelCs, Lstar, UserStack, 0, CpuMode.Long64);
        Assert.Equal<IMachineEvent>(
        [
            new ControlTransfer(0, UserCode, TransferKind.Syscall, user, kernel),
            new SwapgsExecuted(1, Lstar, KernelGsBase, UserGsBase),
            new SwapgsExecuted(2, Lstar + 3, UserGsBase, KernelGsBase),
            new ControlTransfer(3, Lstar + 6, TransferKind.Sysret, kernel with { Rip = Lstar + 6 }, user with { Rip = UserCode + 2 }),
        ], seen);
    }

    [Fact]
    public void A_page_fault_delivery_carries_the_error_code_CR2_and_the_handler_context()
    {
        const ulong Unmapped = 0x100_0000_0000; // beyond the 512 GiB the machine maps
        var m = Guest.Long(a => a.mov(rax, __qword_ptr[rsi]));
        Install(m);
        m.WriteRegister(Register.Rsi, Unmapped);
        var seen = Record(m);

        Assert.Equal(StopKind.Halted, m.Run(10).Kind);
        var from = new CpuContext(KernelCs, Guest.CodeAddress, Guest.StackTop, 0, CpuMode.Long64);
        var to = new CpuContext(KernelCs, Handler(14), Guest.StackTop - 48, 0, CpuMode.Long64);
        Assert.Equal<IMachineEvent>([new InterruptDelivered(0, Guest.CodeAddress, Vector.PF, EventSource.Exception, 0, Unmapped,
            Guest.CodeAddress, from, to)], seen);
    }

    [Fact]
    public void An_external_interrupt_is_observed_at_the_boundary_it_is_taken_with_no_error_code()
    {
        var m = Guest.Long(a => { a.nop(); a.hlt(); });
        Install(m);
        m.State.Rflags |= (ulong)RflagsBit.IF;
        m.Step();
        m.RaiseInterrupt(0x40);
        var seen = Record(m);

        Assert.Equal(StopKind.Halted, m.Run(10).Kind);
        var from = new CpuContext(KernelCs, Guest.CodeAddress + 1, Guest.StackTop, 0, CpuMode.Long64);
        var to = new CpuContext(KernelCs, Handler(0x40), Guest.StackTop - 40, 0, CpuMode.Long64);
        Assert.Equal<IMachineEvent>([new InterruptDelivered(1, Guest.CodeAddress + 1, (Vector)0x40, EventSource.ExternalInterrupt,
            null, null, Guest.CodeAddress + 1, from, to)], seen);
    }

    [Fact]
    public void IRETQ_to_user_mode_and_INT_0x80_back_are_a_transfer_and_a_software_interrupt()
    {
        var m = Guest.FromBytes(64, 0x48, 0xCF); // iretq
        Install(m);
        ulong frame = Guest.StackTop - 40;
        ulong[] slots = [UserCode, UserCs, 0x202, UserStack, UserDs];
        for (int k = 0; k < slots.Length; k++)
            m.Bus.Write(frame + (ulong)k * 8, 8, slots[k]);
        m.State.Gpr[(int)Gpr.Rsp] = frame;
        m.WritePhysical(UserCode, [0xCD, 0x80]); // int 0x80
        SetGate(m, 0x80, Handler(0x80), dpl: 3);
        var seen = Record(m);

        Assert.Equal(StopKind.Halted, m.Run(10).Kind);
        var user = new CpuContext(UserCs, UserCode, UserStack, 3, CpuMode.Long64);
        Assert.Equal<IMachineEvent>(
        [
            new ControlTransfer(0, Guest.CodeAddress, TransferKind.Iret, new(KernelCs, Guest.CodeAddress, frame, 0, CpuMode.Long64), user),
            new InterruptDelivered(1, UserCode, (Vector)0x80, EventSource.SoftwareInterrupt, null, null, UserCode + 2, user,
                new(KernelCs, Handler(0x80), 0x7_0000 - 40, 0, CpuMode.Long64)),
        ], seen);
    }

    [Fact]
    public void A_CR3_write_reports_the_old_and_new_roots_and_CR2_and_CR8_writes_their_values()
    {
        var m = Guest.Long(a => { a.mov(cr3, rax); a.mov(cr2, rax); a.mov(cr8, rbx); });
        ulong root = m.State.Cr3;
        m.WriteRegister(Register.Rax, root | 8); // PWT
        m.WriteRegister(Register.Rbx, 5);
        m.State.Cr2 = 0xDEAD_0000;
        var seen = Record(m);

        m.Step(3);
        Assert.Equal<IMachineEvent>(
        [
            new ControlRegisterWritten(0, Guest.CodeAddress, 3, root, root | 8),
            new ControlRegisterWritten(1, Guest.CodeAddress + 3, 2, 0xDEAD_0000, root | 8),
            new ControlRegisterWritten(2, Guest.CodeAddress + 6, 8, 0, 5),
        ], seen);
    }

    [Fact]
    public void WRMSR_reports_what_the_register_stores_which_keeps_EFER_LMA()
    {
        var m = Guest.Long(a => { a.wrmsr(); a.mov(ecx, (uint)Msr.Efer); a.wrmsr(); });
        m.WriteRegister(Register.Rcx, (ulong)Msr.Lstar);
        m.WriteRegister(Register.Rdx, 0xFFFF_FFFF);
        m.WriteRegister(Register.Rax, 0x8100_0000);
        var seen = Record(m);

        m.Step(2);
        m.WriteRegister(Register.Rdx, 0);
        m.WriteRegister(Register.Rax, CpuState.EferSCE | CpuState.EferLME);
        m.Step();
        Assert.Equal<IMachineEvent>(
        [
            new MsrWritten(0, Guest.CodeAddress, Msr.Lstar, 0, 0xFFFF_FFFF_8100_0000),
            new MsrWritten(2, Guest.CodeAddress + 7, Msr.Efer, CpuState.EferLME | CpuState.EferLMA,
                CpuState.EferSCE | CpuState.EferLME | CpuState.EferLMA),
        ], seen);
    }

    [Fact]
    public void The_long_mode_switch_raises_the_CR_and_EFER_writes_and_a_mode_change_at_CR0_PG_and_at_the_far_jump()
    {
        const ulong Code64 = Guest.CodeAddress + 0x100;
        void Build(Assembler a)
        {
            a.mov(eax, cr4);
            a.or(eax, 1 << 5);
            a.mov(cr4, eax);              // 2: CR4.PAE
            a.mov(cr3, ebx);              // 3
            a.mov(ecx, (uint)Msr.Efer);
            a.rdmsr();
            a.or(eax, (int)CpuState.EferLME);
            a.wrmsr();                    // 7: EFER.LME
            a.mov(eax, cr0);
            a.or(eax, 1u << 31);
            a.mov(cr0, eax);              // 10: CR0.PG activates IA-32e mode: compatibility mode
            a.jmp(KernelCs, (uint)Code64); // 11: to 64-bit code
        }
        var m = Guest.Protected(Build);
        Install(m);
        m.State = CpuState.Flat32() with { Gdtr = m.State.Gdtr, Idtr = m.State.Idtr, Tr = m.State.Tr };
        m.State.Rip = Guest.CodeAddress;
        var t = new PageTables(m);
        t.Map(Guest.CodeAddress, Guest.CodeAddress, PageTables.Present);
        t.Map(Gdt, Gdt, PageTables.Present | PageTables.Writable);
        m.WriteRegister(Register.Rbx, t.Root);
        m.WritePhysical(Code64, [0xF4]);
        ulong cr0Before = m.State.Cr0;
        var seen = Record(m);

        Assert.Equal(StopKind.Halted, m.Run(20).Kind);
        Assert.Equal(Code64 + 1, m.State.Rip);
        ulong Rip(int index) => InstructionAddresses(Guest.Assemble(32, Build), 32)[index];
        Assert.Equal<IMachineEvent>(
        [
            new ControlRegisterWritten(2, Rip(2), 4, 0, CpuState.Cr4Pae),
            new ControlRegisterWritten(3, Rip(3), 3, 0, t.Root),
            new MsrWritten(7, Rip(7), Msr.Efer, 0, CpuState.EferLME),
            new ControlRegisterWritten(10, Rip(10), 0, cr0Before, cr0Before | CpuState.Cr0PG),
            new ModeChanged(10, Rip(10), CpuMode.Protected32, CpuMode.Compatibility32),
            new ModeChanged(11, Rip(11), CpuMode.Compatibility32, CpuMode.Long64),
        ], seen);
    }

    [Fact]
    public void Serial_output_is_observed_with_the_port_the_byte_and_the_OUT_instruction()
    {
        var m = Guest.Long(a => { a.mov(dx, Uart16550.Com1); a.mov(al, (byte)'K'); a.@out(dx, al); });
        var seen = Record(m);
        var wire = new List<byte>();
        m.Com1.Transmitted += wire.Add;

        m.Step(3);
        Assert.Equal<IMachineEvent>([new SerialOutput(2, Guest.CodeAddress + 6, Uart16550.Com1, (byte)'K')], seen);
        Assert.Equal([(byte)'K'], wire);
    }

    [Fact]
    public void A_listener_catching_SYSCALL_stops_the_run_at_the_entry_point_and_the_run_resumes_from_there()
    {
        var m = SyscallRoundTrip();
        m.Events.ControlTransfer += e =>
        {
            if (e.Kind == TransferKind.Syscall)
                m.Events.RequestStop(e);
        };

        var stop = m.Run(100);
        Assert.Equal(StopKind.EventCaught, stop.Kind);
        Assert.Equal(Lstar, stop.Rip);
        Assert.Equal(1UL, m.State.InstructionsRetired);
        Assert.Contains("SYSCALL at 0x400000", stop.Detail);

        Assert.Equal(StopKind.StepDone, m.Step(4).Kind);
        Assert.Equal(UserCode + 3, m.State.Rip);
    }

    [Fact]
    public void A_listener_can_stop_a_run_once_an_exception_is_delivered_before_its_handler_runs()
    {
        var m = Guest.Long(a => a.ud2());
        Install(m);
        m.Events.InterruptDelivered += m.Events.RequestStop;

        var stop = m.Run(100);
        Assert.Equal(StopKind.EventCaught, stop.Kind);
        Assert.Equal(Handler(6), stop.Rip);
        Assert.Equal(Handler(6), m.State.Rip);
        Assert.Equal(0UL, m.State.InstructionsRetired);
    }

    [Fact]
    public void Without_listeners_nothing_is_observed_and_the_run_ends_as_with_them()
    {
        var quiet = SyscallRoundTrip();
        var observed = SyscallRoundTrip();
        Record(observed);
        Assert.Null(quiet.Cpu.Sink);
        Assert.NotNull(observed.Cpu.Sink);

        Action<SwapgsExecuted> handler = _ => { };
        quiet.Events.Swapgs += handler;
        quiet.Events.Swapgs -= handler;
        Assert.Null(quiet.Cpu.Sink);

        Assert.Equal(quiet.Step(4), observed.Step(4));
        Assert.Equal(quiet.State.Rip, observed.State.Rip);
        Assert.Equal(quiet.State.InstructionsRetired, observed.State.InstructionsRetired);
        Assert.Equal(quiet.State.Segments[(int)SegmentRegister.Gs].Base, observed.State.Segments[(int)SegmentRegister.Gs].Base);
        Assert.Equal(quiet.State.Cs, observed.State.Cs);
    }
}
