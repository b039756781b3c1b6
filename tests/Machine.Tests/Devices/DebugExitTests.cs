using static Iced.Intel.AssemblerRegisters;

namespace Repl.Machine.Tests.Devices;

public class DebugExitTests
{
    [Fact]
    public void Writing_v_to_port_0xf4_stops_the_machine_with_status_v_shifted_left_plus_one_after_the_out()
    {
        var m = Guest.Protected(a =>
        {
            a.mov(al, 0x10);
            a.@out(0xF4, al);
            a.hlt();
        });

        var stop = m.Run(100);

        Assert.Equal(StopKind.DebugExit, stop.Kind);
        Assert.Equal(0x21, stop.ExitStatus);
        Assert.Equal(Guest.CodeAddress + 4, stop.Rip);
        Assert.Equal(Guest.CodeAddress + 4, m.State.Rip);
        Assert.Equal(2UL, m.State.InstructionsRetired);
    }

    [Fact]
    public void A_doubleword_write_to_the_last_of_the_four_ports_keeps_all_its_bits()
    {
        var m = Guest.Protected(a =>
        {
            a.mov(eax, 0x4000_0003);
            a.mov(dx, 0xF7);
            a.@out(dx, eax);
            a.hlt();
        });

        var stop = m.Run(100);

        Assert.Equal(StopKind.DebugExit, stop.Kind);
        Assert.Equal(unchecked((int)0x8000_0007), stop.ExitStatus);
    }

    [Fact]
    public void A_run_after_a_debug_exit_resumes_at_the_next_instruction()
    {
        var m = Guest.Protected(a =>
        {
            a.@out(0xF4, al);
            a.mov(ebx, 7);
            a.hlt();
        });
        Assert.Equal(StopKind.DebugExit, m.Run(100).Kind);

        Assert.Equal(StopKind.Halted, m.Run(100).Kind);
        Assert.Equal(7UL, m.ReadRegister(Register.Rbx));
    }

    [Fact]
    public void Reading_the_debug_exit_port_answers_zero_and_does_not_stop()
    {
        var m = Guest.Protected(a =>
        {
            a.mov(eax, 0xFFFF_FFFF);
            a.@in(al, 0xF4);
            a.hlt();
        });

        Guest.RunToHalt(m);

        Assert.Equal(0xFFFF_FF00UL, m.ReadRegister(Register.Rax));
    }

    [Fact]
    public void The_first_debug_exit_write_of_a_rep_outs_decides_the_status()
    {
        var m = Guest.Protected(a =>
        {
            a.mov(__dword_ptr[Guest.Data], 0x0302_0105);
            a.mov(esi, (uint)Guest.Data);
            a.mov(ecx, 4);
            a.mov(dx, 0xF4);
            a.rep.outsb();
            a.hlt();
        });

        var stop = m.Run(100);

        Assert.Equal(StopKind.DebugExit, stop.Kind);
        Assert.Equal(0x0B, stop.ExitStatus);
    }
}
