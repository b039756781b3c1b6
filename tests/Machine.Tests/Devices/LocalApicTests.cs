using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using static Repl.Machine.Tests.SystemTables;

namespace Repl.Machine.Tests.Devices;

public class LocalApicTests
{
    const ulong Base = 0xFEE0_0000;
    const ulong Log = Guest.Data;
    const byte TimerVector = 0x30;
    const ulong If = (ulong)RflagsBit.IF;

    /// <summary>A 64-bit machine with the GDT/IDT/TSS installed (every vector's handler a HLT) running
    /// <paramref name="build"/> with RBX at the APIC base and RDI at <see cref="Log"/>.</summary>
    static Machine Create(Action<Assembler> build)
    {
        var m = Guest.Long(a =>
        {
            a.mov(rbx, Base);
            a.mov(rdi, Log);
            build(a);
        });
        Install(m);
        return m;
    }

    /// <summary>Sets the software enable in SVR (spurious vector FFh).</summary>
    static void SoftwareEnable(Assembler a) => a.mov(__dword_ptr[rbx + LocalApic.Svr], 0x1FF);

    /// <summary>Writes <paramref name="value"/> to an APIC register.</summary>
    static void Write(Assembler a, int register, int value) => a.mov(__dword_ptr[rbx + register], value);

    /// <summary>A handler at <paramref name="address"/> for <paramref name="vector"/>, through a trap gate (IF stays
    /// set in it, so what holds an interrupt off is the APIC's priority alone).</summary>
    static void Handler(Machine m, int vector, ulong address, Action<Assembler> build)
    {
        m.WritePhysical(address, Guest.Assemble(64, build, address));
        SetGate(m, vector, address, type: 0xF);
    }

    static uint Register(Machine m, int register) => (uint)m.Bus.Read(Base + (ulong)register, 4);

    static bool VectorSet(Machine m, int register, int vector) =>
        (Register(m, register + (vector >> 5) * 0x10) & (1u << (vector & 31))) != 0;

    static void AssertHaltedIn(Machine m, int vector, StopReason stop)
    {
        Assert.Equal(StopKind.Halted, stop.Kind);
        Assert.Equal(SystemTables.Handler(vector) + 1, stop.Rip);
    }

    /// <summary>Instructions in the program's prologue (RBX and RDI loads) plus those <paramref name="build"/> emits.</summary>
    static int InstructionCount(Action<Assembler> build)
    {
        var a = new Assembler(64);
        build(a);
        return 2 + a.Instructions.Count;
    }

    [Fact]
    public void Registers_hold_their_reset_values_at_the_default_base()
    {
        var m = Machine.CreateLongMode();

        Assert.Equal(0u, Register(m, LocalApic.Id));
        Assert.Equal(0x0005_0014u, Register(m, LocalApic.Version));
        Assert.Equal(0u, Register(m, LocalApic.Tpr));
        Assert.Equal(0u, Register(m, LocalApic.Ppr));
        Assert.Equal(0u, Register(m, LocalApic.Ldr));
        Assert.Equal(0xFFFF_FFFFu, Register(m, LocalApic.Dfr));
        Assert.Equal(0xFFu, Register(m, LocalApic.Svr));
        for (int lvt = 0; lvt < 6; lvt++)
            Assert.Equal(0x1_0000u, Register(m, LocalApic.LvtBase + lvt * 0x10));
        Assert.Equal(0u, Register(m, LocalApic.TimerInitialCount));
        Assert.Equal(0u, Register(m, LocalApic.TimerCurrentCount));
        Assert.Equal(0u, Register(m, LocalApic.TimerDivide));
    }

    [Fact]
    public void Cpuid_reports_the_apic_and_initial_apic_id_0()
    {
        var (_, ebx, _, edx) = Identification.Cpuid(CpuVendor.Intel, 1, 0);
        Assert.NotEqual(0u, edx & (1 << 9));
        Assert.Equal(0u, ebx >> 24);
    }

    [Fact]
    public void Narrow_reads_return_bytes_of_the_register_and_narrow_writes_are_ignored()
    {
        var m = Machine.CreateLongMode();
        m.Bus.Write(Base + LocalApic.Tpr, 1, 0x20);
        m.Bus.Write(Base + LocalApic.Tpr + 4, 4, 0x20);

        Assert.Equal(0x14UL, m.Bus.Read(Base + LocalApic.Version, 1));
        Assert.Equal(0x05UL, m.Bus.Read(Base + LocalApic.Version + 2, 1));
        Assert.Equal(0x0005_0014UL, m.Bus.Read(Base + LocalApic.Version, 8));
        Assert.Equal(0UL, m.Bus.Read(Base + LocalApic.Version + 4, 4));
        Assert.Equal(0u, Register(m, LocalApic.Tpr));
    }

    [Fact]
    public void Ppr_follows_tpr_and_cr8_is_tpr_priority_class()
    {
        var m = Create(a =>
        {
            Write(a, LocalApic.Tpr, 0x35);
            a.mov(eax, __dword_ptr[rbx + LocalApic.Ppr]);
            a.mov(rcx, cr8);
            a.mov(edx, 7);
            a.mov(cr8, rdx);
            a.mov(esi, __dword_ptr[rbx + LocalApic.Tpr]);
            a.hlt();
        });

        Assert.Equal(StopKind.Halted, m.Run(100).Kind);
        Assert.Equal(0x35UL, m.State.Gpr[(int)Gpr.Rax]);
        Assert.Equal(3UL, m.State.Gpr[(int)Gpr.Rcx]);
        Assert.Equal(0x70UL, m.State.Gpr[(int)Gpr.Rsi]); // a CR8 write clears TPR[3:0]
    }

    [Fact]
    public void A_fixed_self_ipi_is_delivered_and_goes_in_service()
    {
        var m = Create(a =>
        {
            SoftwareEnable(a);
            a.sti();
            Write(a, LocalApic.IcrLow, 0x4_0041); // shorthand self, fixed, vector 41h
            a.nop();
            a.hlt();
        });

        AssertHaltedIn(m, 0x41, m.Run(100));
        Assert.True(VectorSet(m, LocalApic.Isr, 0x41));
        Assert.False(VectorSet(m, LocalApic.Irr, 0x41));
        Assert.Equal(0x40u, Register(m, LocalApic.Ppr));
        Assert.Equal(0x40u, Register(m, LocalApic.Apr));
        Assert.Equal(0u, Register(m, LocalApic.IcrLow) & (1 << 12)); // delivery status: idle
    }

    [Fact]
    public void An_nmi_ipi_to_the_own_physical_id_injects_an_nmi()
    {
        var m = Create(a =>
        {
            Write(a, LocalApic.IcrHigh, 0); // destination: APIC ID 0
            Write(a, LocalApic.IcrLow, 0x400); // no shorthand, physical, NMI
            a.nop();
            a.hlt();
        });

        AssertHaltedIn(m, 2, m.Run(100));
        Assert.True(m.State.NmiBlocked);
    }

    [Fact]
    public void An_ipi_to_another_physical_id_does_not_reach_this_processor()
    {
        var m = Create(a =>
        {
            SoftwareEnable(a);
            a.sti();
            Write(a, LocalApic.IcrHigh, 0x0100_0000); // APIC ID 1
            Write(a, LocalApic.IcrLow, 0x41);
            a.hlt();
        });

        var stop = m.Run(100);
        Assert.Equal(StopKind.Halted, stop.Kind);
        Assert.False(VectorSet(m, LocalApic.Irr, 0x41));
    }

    /// <summary>A program that requests vector 45h with the TPR at 50h and IF set, then goes on with <paramref name="then"/>.</summary>
    static Machine HeldOffByTpr(Action<Assembler> then) => Create(a =>
    {
        SoftwareEnable(a);
        Write(a, LocalApic.Tpr, 0x50);
        a.sti();
        Write(a, LocalApic.IcrLow, 0x4_0045);
        then(a);
    });

    [Fact]
    public void A_vector_whose_class_does_not_exceed_the_tpr_waits_until_cr8_lowers_it()
    {
        var m = HeldOffByTpr(a =>
        {
            a.mov(__byte_ptr[rdi], 1); // runs: 45h is held off
            a.xor(eax, eax);
            a.mov(cr8, rax);
            a.mov(__byte_ptr[rdi], 2); // does not run: 45h is delivered first
            a.hlt();
        });

        AssertHaltedIn(m, 0x45, m.Run(100));
        Assert.Equal(1UL, m.Bus.Read(Log, 1));
    }

    [Fact]
    public void A_debugger_lowering_cr8_lets_a_held_off_vector_through()
    {
        var m = HeldOffByTpr(a => a.hlt());
        Assert.Equal(StopKind.Halted, m.Run(100).Kind);

        m.WriteRegister(Repl.Machine.Register.Cr8, 0);

        AssertHaltedIn(m, 0x45, m.Run(100));
    }

    [Fact]
    public void Eoi_lets_a_lower_pending_vector_through_after_the_higher_one()
    {
        var m = Create(a =>
        {
            SoftwareEnable(a);
            Write(a, LocalApic.IcrLow, 0x4_0051);
            Write(a, LocalApic.IcrLow, 0x4_0062);
            a.sti();
            a.nop();
            a.hlt();
        });
        Handler(m, 0x62, 0x32_0000, a =>
        {
            a.mov(__byte_ptr[rdi], 0x62);
            a.inc(rdi);
            a.mov(__dword_ptr[rbx + LocalApic.Eoi], 0);
            a.mov(__byte_ptr[rdi], 0xE2); // after 51h, which the EOI let in
            a.inc(rdi);
            a.iretq();
        });
        Handler(m, 0x51, 0x32_1000, a =>
        {
            a.mov(__byte_ptr[rdi], 0x51);
            a.inc(rdi);
            a.mov(__dword_ptr[rbx + LocalApic.Eoi], 0);
            a.iretq();
        });

        var stop = m.Run(200);

        Assert.Equal(StopKind.Halted, stop.Kind);
        var log = new byte[3];
        m.ReadPhysical(Log, log);
        Assert.Equal([0x62, 0x51, 0xE2], log);
        Assert.Equal(0u, Register(m, LocalApic.Isr + 0x20) | Register(m, LocalApic.Isr + 0x30));
        Assert.Equal(0u, Register(m, LocalApic.Ppr));
    }

    [Fact]
    public void An_illegal_vector_sets_the_send_and_receive_errors_that_an_esr_write_latches()
    {
        var m = Create(a =>
        {
            SoftwareEnable(a);
            Write(a, LocalApic.IcrLow, 0x4_0005);
            a.mov(eax, __dword_ptr[rbx + LocalApic.Esr]);
            Write(a, LocalApic.Esr, 0);
            a.mov(ecx, __dword_ptr[rbx + LocalApic.Esr]);
            a.hlt();
        });

        Assert.Equal(StopKind.Halted, m.Run(100).Kind);
        Assert.Equal(0UL, m.State.Gpr[(int)Gpr.Rax]);
        Assert.Equal(0x60UL, m.State.Gpr[(int)Gpr.Rcx]);
        Assert.False(VectorSet(m, LocalApic.Irr, 5));
    }

    static void ArmOneShot(Assembler a, int count)
    {
        SoftwareEnable(a);
        Write(a, LocalApic.TimerDivide, 0xB); // divide by 1
        Write(a, LocalApic.LvtBase, TimerVector);
        a.sti();
        Write(a, LocalApic.TimerInitialCount, count);
    }

    [Fact]
    public void A_one_shot_timer_interrupts_exactly_its_count_of_instructions_after_it_is_armed()
    {
        Action<Assembler> prologue = a =>
        {
            ArmOneShot(a, 100);
            a.mov(eax, __dword_ptr[rbx + LocalApic.TimerCurrentCount]);
        };
        var m = Create(a =>
        {
            prologue(a);
            for (int i = 0; i < 200; i++)
                a.nop();
            a.hlt();
        });
        ulong nops = Guest.CodeAddress + (ulong)Guest.Assemble(64, a =>
        {
            a.mov(rbx, Base);
            a.mov(rdi, Log);
            prologue(a);
        }).Length;

        AssertHaltedIn(m, TimerVector, m.Run(1000));
        Assert.Equal(100UL, m.State.Gpr[(int)Gpr.Rax]); // the count starts after the arming instruction
        Assert.Equal(nops + 99, Frame(m, 1)[0]); // the read and 99 NOPs ran: 100 instructions
        Assert.Equal(0u, Register(m, LocalApic.TimerCurrentCount));
        Assert.True(VectorSet(m, LocalApic.Isr, TimerVector));
    }

    [Fact]
    public void The_current_count_falls_by_one_every_divisor_instructions_while_masked()
    {
        var m = Create(a =>
        {
            SoftwareEnable(a);
            Write(a, LocalApic.TimerDivide, 1); // divide by 4
            Write(a, LocalApic.LvtBase, (int)LocalApic.LvtMasked | TimerVector);
            Write(a, LocalApic.TimerInitialCount, 100);
            for (int i = 0; i < 41; i++)
                a.nop();
            a.mov(eax, __dword_ptr[rbx + LocalApic.TimerCurrentCount]);
            a.hlt();
        });

        Assert.Equal(StopKind.Halted, m.Run(100).Kind);
        Assert.Equal(90UL, m.State.Gpr[(int)Gpr.Rax]); // 41 instructions retired since the count started: 10 ticks
        Assert.False(VectorSet(m, LocalApic.Irr, TimerVector));
    }

    [Fact]
    public void A_periodic_timer_interrupts_every_count_times_divisor_instructions()
    {
        Action<Assembler> arm = a =>
        {
            SoftwareEnable(a);
            Write(a, LocalApic.TimerDivide, 0); // divide by 2
            Write(a, LocalApic.LvtBase, TimerVector | (1 << 17));
            a.sti();
            Write(a, LocalApic.TimerInitialCount, 50);
        };
        var m = Create(a =>
        {
            arm(a);
            var spin = a.CreateLabel();
            a.Label(ref spin);
            a.jmp(spin);
        });
        Handler(m, TimerVector, 0x32_0000, a =>
        {
            a.rdtsc(); // the TSC is the retired-instruction count
            a.mov(__dword_ptr[rdi], eax);
            a.add(rdi, 4);
            a.mov(__dword_ptr[rbx + LocalApic.Eoi], 0);
            a.iretq();
        });
        int armedAt = InstructionCount(arm) - 1;

        Assert.Equal(StopKind.InstructionBudget, m.Run((ulong)armedAt + 350).Kind);
        uint[] times = [(uint)m.Bus.Read(Log, 4), (uint)m.Bus.Read(Log + 4, 4), (uint)m.Bus.Read(Log + 8, 4)];
        ulong first = (ulong)armedAt + 1 + 100;
        Assert.Equal([first, first + 100, first + 200], times.Select(t => (ulong)t));
    }

    [Fact]
    public void Hlt_jumps_virtual_time_and_the_tsc_to_the_timer_expiry()
    {
        Action<Assembler> arm = a => ArmOneShot(a, 1_000_000);
        var m = Create(a =>
        {
            arm(a);
            a.hlt();
        });
        Handler(m, TimerVector, 0x32_0000, a =>
        {
            a.rdtsc();
            a.hlt();
        });
        ulong armedAt = (ulong)InstructionCount(arm) - 1;

        var stop = m.Run(100);

        Assert.Equal(StopKind.Halted, stop.Kind);
        Assert.Equal(0x32_0000UL + 3, stop.Rip);
        ulong due = armedAt + 1 + 1_000_000;
        Assert.Equal(due, m.State.Gpr[(int)Gpr.Rax]);
        Assert.Equal(due + 2, m.State.InstructionsRetired); // RDTSC and HLT in the handler
    }

    [Fact]
    public void Hlt_stops_as_halted_once_the_timer_vector_is_requested_but_held_off_by_the_tpr()
    {
        var m = Create(a =>
        {
            SoftwareEnable(a);
            Write(a, LocalApic.Tpr, 0xF0);
            Write(a, LocalApic.TimerDivide, 0xB);
            Write(a, LocalApic.LvtBase, TimerVector | (1 << 17));
            a.sti();
            Write(a, LocalApic.TimerInitialCount, 1000);
            a.hlt();
        });

        var stop = m.Run(100);

        Assert.Equal(StopKind.Halted, stop.Kind); // in the program: the periodic expiries cannot wake it
        Assert.True(VectorSet(m, LocalApic.Irr, TimerVector));
        Assert.False(VectorSet(m, LocalApic.Isr, TimerVector));
    }

    [Fact]
    public void A_software_disabled_apic_keeps_its_lvt_entries_masked()
    {
        var m = Create(a =>
        {
            Write(a, LocalApic.TimerDivide, 0xB);
            Write(a, LocalApic.LvtBase, TimerVector);
            a.mov(eax, __dword_ptr[rbx + LocalApic.LvtBase]);
            a.sti();
            Write(a, LocalApic.TimerInitialCount, 10);
            for (int i = 0; i < 20; i++)
                a.nop();
            a.hlt();
        });

        var stop = m.Run(100);

        Assert.Equal(StopKind.Halted, stop.Kind); // in the program: no timer interrupt, nothing to wake HLT
        Assert.Equal(0x1_0030UL, m.State.Gpr[(int)Gpr.Rax]);
        Assert.False(VectorSet(m, LocalApic.Irr, TimerVector));
    }

    [Fact]
    public void Clearing_the_software_enable_masks_an_armed_timer()
    {
        var m = Create(a =>
        {
            ArmOneShot(a, 10);
            Write(a, LocalApic.Svr, 0xFF);
            for (int i = 0; i < 20; i++)
                a.nop();
            a.hlt();
        });

        Assert.Equal(StopKind.Halted, m.Run(100).Kind);
        Assert.Equal(0x1_0030u, Register(m, LocalApic.LvtBase));
        Assert.False(VectorSet(m, LocalApic.Irr, TimerVector));
    }

    [Fact]
    public void Ia32_apic_base_moves_the_register_window_and_clearing_its_enable_removes_it()
    {
        var m = Create(a =>
        {
            a.mov(ecx, (uint)Msr.ApicBase);
            a.mov(eax, 0xFED0_0900); // base FED00000h, enabled, BSP
            a.xor(edx, edx);
            a.wrmsr();
            a.mov(rsi, 0xFED0_0000);
            a.mov(r8d, __dword_ptr[rsi + LocalApic.Version]);
            a.mov(r9d, __dword_ptr[rbx + LocalApic.Version]);
            a.mov(eax, 0xFED0_0100); // globally disabled
            a.wrmsr();
            a.mov(r10d, __dword_ptr[rsi + LocalApic.Version]);
            a.hlt();
        });

        Assert.Equal(StopKind.Halted, m.Run(100).Kind);
        Assert.Equal(0x0005_0014UL, m.State.Gpr[(int)Gpr.R8]);
        Assert.Equal(0xFFFF_FFFFUL, m.State.Gpr[(int)Gpr.R9]); // nothing answers at the old base any more
        Assert.Equal(0xFFFF_FFFFUL, m.State.Gpr[(int)Gpr.R10]);
    }
}
