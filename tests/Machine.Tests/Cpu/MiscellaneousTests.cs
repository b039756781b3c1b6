using static Iced.Intel.AssemblerRegisters;

namespace Repl.Machine.Tests.Cpu;

public class MiscellaneousTests
{
    [Fact]
    public void In_and_out_reach_a_port_device_with_imm8_and_DX_at_every_size()
    {
        var m = Guest.Long(a =>
        {
            a.@in(al, 0x60);
            a.mov(rbx, rax);
            a.mov(edx, 0x1F0);
            a.@in(ax, dx);
            a.mov(rsi, rax);
            a.mov(rax, -1L);
            a.@in(eax, dx);
            a.@out(0x60, al);
            a.@out(dx, ax);
            a.@out(dx, eax);
            a.hlt();
        });
        var port = new RecordingPort { Next = 0x44332211 };
        m.Bus.MapPorts(0x60, 1, port);
        m.Bus.MapPorts(0x1F0, 1, port);
        m.WriteRegister(Register.Rax, 0xFFFF_FFFF_FFFF_FF00);

        Guest.RunToHalt(m);
        Assert.Equal(0xFFFF_FFFF_FFFF_FF11UL, m.ReadRegister(Register.Rbx)); // IN AL merges
        Assert.Equal(0xFFFF_FFFF_FFFF_2312UL, m.ReadRegister(Register.Rsi)); // IN AX merges
        Assert.Equal(0x4635_2413UL, m.ReadRegister(Register.Rax)); // IN EAX zero-extends
        Assert.Equal("60:1 1f0:2 1f0:4", string.Join(" ", port.Ins.Select(i => $"{i.Port:x}:{i.Size}")));
        Assert.Equal("60:1:13 1f0:2:2413 1f0:4:46352413", string.Join(" ", port.Outs.Select(o => $"{o.Port:x}:{o.Size}:{o.Value:x}")));
    }

    [Fact]
    public void In_with_an_operand_size_prefix_in_32_bit_code_reads_a_word()
    {
        var m = Guest.Protected(a => { a.@in(ax, dx); a.hlt(); });
        var port = new RecordingPort { Next = 0xAABBCCDD };
        m.Bus.MapPorts(0xCFC, 1, port);
        m.WriteRegister(Register.Rdx, 0xCFC);
        m.WriteRegister(Register.Rax, 0x1234_5678);

        Guest.RunToHalt(m);
        Assert.Equal(0x1234_CCDDUL, m.ReadRegister(Register.Rax));
        Assert.Equal((ushort)0xCFC, Assert.Single(port.Ins).Port);
    }

    [Fact]
    public void In_and_out_above_IOPL_raise_GP_without_touching_the_port()
    {
        var m = Guest.Long(a => { a.@in(al, 0x60); a.hlt(); });
        var port = new RecordingPort();
        m.Bus.MapPorts(0x60, 1, port);
        Guest.RunAtCpl3(m, iopl: 2);
        m.WriteRegister(Register.Rax, 0xAB);

        Expect.FaultAtFirstInstruction(m, Vector.GP, 0);
        Assert.Empty(port.Ins);
        Assert.Equal(0xABUL, m.ReadRegister(Register.Rax));

        var o = Guest.Protected(a => { a.@out(dx, al); a.hlt(); });
        o.Bus.MapPorts(0x60, 1, port);
        Guest.RunAtCpl3(o, iopl: 0);
        o.WriteRegister(Register.Rdx, 0x60);
        Assert.Equal(Vector.GP, o.Run(100).Vector);
        Assert.Empty(port.Outs);
    }

    [Fact]
    public void Carry_and_direction_instructions_change_only_their_flag()
    {
        var m = Guest.Long(a =>
        {
            a.xor(eax, eax); // ZF=1, CF=0
            a.stc();
            a.cmc();
            a.cmc();
            a.std();
            a.hlt();
        });
        Guest.RunToHalt(m);
        Assert.True(m.State.CF);
        Assert.True(m.State.ZF);
        Assert.NotEqual(0UL, m.State.Rflags & (ulong)RflagsBit.DF);

        var n = Guest.Long(a => { a.stc(); a.std(); a.clc(); a.cld(); a.hlt(); });
        Guest.RunToHalt(n);
        Assert.False(n.State.CF);
        Assert.Equal(0UL, n.State.Rflags & (ulong)RflagsBit.DF);
    }

    [Fact]
    public void Cli_and_sti_follow_IOPL_at_CPL_3()
    {
        var m = Guest.Long(a => { a.cli(); a.sti(); a.hlt(); });
        Guest.RunAtCpl3(m, iopl: 0);
        m.State.Rflags |= (ulong)RflagsBit.IF;
        var stop = m.Run(100);
        Assert.Equal(Vector.GP, stop.Vector);
        Assert.Equal(Guest.CodeAddress, stop.Rip);
        Assert.NotEqual(0UL, m.State.Rflags & (ulong)RflagsBit.IF);

        Guest.RunAtCpl3(m, iopl: 3);
        Assert.Equal(StopKind.StepDone, m.Step(1).Kind); // CLI
        Assert.Equal(0UL, m.State.Rflags & (ulong)RflagsBit.IF);
        Assert.Equal(StopKind.StepDone, m.Step(1).Kind); // STI
        Assert.NotEqual(0UL, m.State.Rflags & (ulong)RflagsBit.IF);
    }

    [Fact]
    public void Cli_and_sti_at_CPL_0_ignore_IOPL()
    {
        var m = Guest.Protected(a => { a.sti(); a.hlt(); });
        Guest.RunToHalt(m);
        Assert.NotEqual(0UL, m.State.Rflags & (ulong)RflagsBit.IF);
    }

    [Fact]
    public void Int3_stops_with_BP_and_RIP_after_the_instruction()
    {
        var m = Guest.Long(a => { a.nop(); a.int3(); a.hlt(); });
        var stop = m.Run(100);
        Assert.Equal(StopKind.Fault, stop.Kind);
        Assert.Equal(Vector.BP, stop.Vector);
        Assert.Null(stop.ErrorCode);
        Assert.Equal(Guest.CodeAddress + 2, stop.Rip);
        Assert.Equal(Guest.CodeAddress + 2, m.State.Rip);
        Assert.Equal(2UL, m.State.InstructionsRetired);
    }

    [Fact]
    public void Int_n_stops_with_its_vector_after_the_instruction_and_never_an_error_code()
    {
        var m = Guest.Long(a => { a.@int(0x80); a.@int(13); a.hlt(); });
        var stop = m.Run(100);
        Assert.Equal((Vector)0x80, stop.Vector);
        Assert.Equal(Guest.CodeAddress + 2, stop.Rip);

        stop = m.Run(100);
        Assert.Equal(Vector.GP, stop.Vector);
        Assert.Null(stop.ErrorCode);
        Assert.Equal(Guest.CodeAddress + 4, stop.Rip);
    }

    [Fact]
    public void Into_traps_only_when_OF_is_set()
    {
        var m = Guest.Protected(a =>
        {
            a.mov(al, 0x7F);
            a.add(al, 0); // OF=0
            a.into();
            a.add(al, 1); // OF=1
            a.into();
            a.hlt();
        });
        var stop = m.Run(100);
        Assert.Equal(StopKind.Fault, stop.Kind);
        Assert.Equal(Vector.OF, stop.Vector);
        Assert.Equal(Guest.CodeAddress + 2 + 2 + 1 + 2 + 1, stop.Rip);
        Assert.Equal(5UL, m.State.InstructionsRetired);
    }

    [Fact]
    public void Into_is_invalid_in_64_bit_mode()
    {
        var m = Guest.FromBytes(64, 0xCE, 0xF4);
        var stop = m.Run(100);
        Assert.Equal(Vector.UD, stop.Vector);
        Assert.Equal(Guest.CodeAddress, stop.Rip);
    }

    [Fact]
    public void Int1_raises_DB_after_itself()
    {
        var m = Guest.FromBytes(32, 0xF1, 0xF4);
        var stop = m.Run(100);
        Assert.Equal(Vector.DB, stop.Vector);
        Assert.Equal(Guest.CodeAddress + 1, stop.Rip);
    }
}
