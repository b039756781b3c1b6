using static Iced.Intel.AssemblerRegisters;

namespace Repl.Machine.Tests.Cpu;

public class StackTests
{
    // Every flag POPF can load at CPL 0 (bits 0-14 but the reserved 3, 5 and 15; AC; ID), plus reserved bit 1.
    const ulong AllPopfFlags = 0x0020_0000 | 0x0004_0000 | 0x7FD7;

    [Fact]
    public void Pushfq_pushes_RFLAGS_with_RF_and_VM_cleared()
    {
        var m = Guest.Long(a => { a.pushfq(); a.hlt(); });
        m.State.Rflags = (ulong)(RflagsBit.RF | RflagsBit.VM | RflagsBit.AC | RflagsBit.CF | RflagsBit.IF);

        Guest.RunToHalt(m);
        Assert.Equal(Guest.StackTop - 8, m.ReadRegister(Register.Rsp));
        Assert.Equal((ulong)(RflagsBit.AC | RflagsBit.CF | RflagsBit.IF | RflagsBit.Reserved1), m.Bus.Read(Guest.StackTop - 8, 8));
    }

    [Fact]
    public void Pushf_with_an_operand_size_prefix_pushes_16_bits_but_REX_W_wins_over_it()
    {
        // 66 9C (pushf), 66 48 9C (pushfq), 66 48 50 (push rax).
        var m = Guest.FromBytes(64, 0x66, 0x9C, 0x66, 0x48, 0x9C, 0x66, 0x48, 0x50, 0xF4);
        m.State.Rflags = (ulong)(RflagsBit.AC | RflagsBit.CF);
        m.WriteRegister(Register.Rax, 0x1122_3344_5566_7788);

        Guest.RunToHalt(m);
        Assert.Equal(Guest.StackTop - 2 - 8 - 8, m.ReadRegister(Register.Rsp));
        Assert.Equal(0x0003UL, m.Bus.Read(Guest.StackTop - 2, 2));
        Assert.Equal(0x4_0003UL, m.Bus.Read(Guest.StackTop - 10, 8));
        Assert.Equal(0x1122_3344_5566_7788UL, m.Bus.Read(Guest.StackTop - 18, 8));
    }

    [Fact]
    public void Push_of_a_segment_register_zero_extends_the_selector_in_64_bit_mode()
    {
        var m = Guest.Long(a => { a.push(fs); a.hlt(); });
        m.Bus.Write(Guest.StackTop - 8, 8, ulong.MaxValue);
        m.State.Segments[(int)SegmentRegister.Fs].Selector = 0x2B;

        Guest.RunToHalt(m);
        Assert.Equal(Guest.StackTop - 8, m.ReadRegister(Register.Rsp));
        Assert.Equal(0x2BUL, m.Bus.Read(Guest.StackTop - 8, 8));
    }

    [Fact]
    public void Push_of_a_segment_register_with_a_32_bit_operand_size_writes_only_the_selector()
    {
        var m = Guest.Protected(a => { a.push(cs); a.push(ds); a.hlt(); });
        m.Bus.Write(Guest.StackTop - 8, 8, ulong.MaxValue);

        Guest.RunToHalt(m);
        Assert.Equal(Guest.StackTop - 8, m.ReadRegister(Register.Rsp));
        Assert.Equal(0xFFFF_0008UL, m.Bus.Read(Guest.StackTop - 4, 4));
        Assert.Equal(0xFFFF_0010UL, m.Bus.Read(Guest.StackTop - 8, 4));
    }

    [Fact]
    public void Popfq_at_CPL_0_loads_IOPL_and_IF_clears_RF_and_leaves_VM_VIP_VIF_alone()
    {
        var m = Guest.Long(a => { a.popfq(); a.hlt(); });
        m.State.Rflags = (ulong)(RflagsBit.RF | RflagsBit.VIP | RflagsBit.VIF);
        m.Bus.Write(Guest.StackTop, 8, ulong.MaxValue);

        Assert.Equal(StopKind.StepDone, m.Step().Kind); // only the POPF: the next instruction would single-step
        Assert.Equal(AllPopfFlags | (ulong)(RflagsBit.VIP | RflagsBit.VIF), m.State.Rflags);
        Assert.Equal(Guest.StackTop + 8, m.ReadRegister(Register.Rsp));
    }

    [Fact]
    public void Popf_above_IOPL_silently_keeps_IF_and_IOPL()
    {
        var m = Guest.Long(a => { a.popfq(); a.popfq(); a.int3(); });
        Guest.RunAtCpl3(m, iopl: 1);
        m.State.Rflags |= (ulong)RflagsBit.IF;
        m.Bus.Write(Guest.StackTop, 8, (ulong)RflagsBit.CF);       // tries to clear IF and IOPL
        m.Bus.Write(Guest.StackTop + 8, 8, (ulong)RflagsBit.IOPL); // tries to raise IOPL to 3 and clear IF

        Assert.Equal(Vector.BP, m.Run(100).Vector);
        Assert.Equal((ulong)(RflagsBit.IF | RflagsBit.Reserved1) | 1 << 12, m.State.Rflags);
    }

    [Fact]
    public void Popf_at_CPL_3_with_IOPL_3_changes_IF_but_not_IOPL()
    {
        var m = Guest.Long(a => { a.popfq(); a.int3(); });
        Guest.RunAtCpl3(m, iopl: 3);
        m.State.Rflags |= (ulong)RflagsBit.IF;
        m.Bus.Write(Guest.StackTop, 8, (ulong)RflagsBit.AC); // IF and IOPL 0

        Assert.Equal(Vector.BP, m.Run(100).Vector);
        Assert.Equal((ulong)(RflagsBit.IOPL | RflagsBit.AC | RflagsBit.Reserved1), m.State.Rflags);
    }

    [Fact]
    public void Popf_with_16_bit_operand_size_loads_only_the_low_half()
    {
        var m = Guest.FromBytes(64, 0x66, 0x9D, 0xF4);
        m.State.Rflags = (ulong)(RflagsBit.AC | RflagsBit.ID);
        m.Bus.Write(Guest.StackTop, 8, ulong.MaxValue);

        Assert.Equal(StopKind.StepDone, m.Step().Kind); // only the POPF: the next instruction would single-step
        Assert.Equal((ulong)(RflagsBit.AC | RflagsBit.ID) | 0x7FD7, m.State.Rflags);
        Assert.Equal(Guest.StackTop + 2, m.ReadRegister(Register.Rsp));
    }

    [Fact]
    public void Popfd_in_32_bit_code_pops_four_bytes()
    {
        var m = Guest.Protected(a => { a.popfd(); a.hlt(); });
        m.Bus.Write(Guest.StackTop, 8, 0xFFFF_FFFF_0000_0001);

        Guest.RunToHalt(m);
        Assert.Equal((ulong)(RflagsBit.CF | RflagsBit.Reserved1), m.State.Rflags);
        Assert.Equal(Guest.StackTop + 4, m.ReadRegister(Register.Rsp));
    }

    [Fact]
    public void Enter_with_nesting_level_3_copies_two_frame_pointers_and_leave_undoes_it()
    {
        var m = Guest.Long(a => { a.enter(0x20, 3); a.int3(); a.leave(); a.hlt(); });
        const ulong outer = 0x7_0000;
        m.WriteRegister(Register.Rbp, outer);
        m.Bus.Write(outer - 8, 8, 0x1111);
        m.Bus.Write(outer - 16, 8, 0x2222);

        Assert.Equal(Vector.BP, m.Run(100).Vector);
        Assert.Equal(outer, m.Bus.Read(Guest.StackTop - 8, 8));
        Assert.Equal(0x1111UL, m.Bus.Read(Guest.StackTop - 16, 8));
        Assert.Equal(0x2222UL, m.Bus.Read(Guest.StackTop - 24, 8));
        Assert.Equal(Guest.StackTop - 8, m.Bus.Read(Guest.StackTop - 32, 8));
        Assert.Equal(Guest.StackTop - 8, m.ReadRegister(Register.Rbp));
        Assert.Equal(Guest.StackTop - 32 - 0x20, m.ReadRegister(Register.Rsp));

        Guest.RunToHalt(m);
        Assert.Equal(outer, m.ReadRegister(Register.Rbp));
        Assert.Equal(Guest.StackTop, m.ReadRegister(Register.Rsp));
    }

    [Fact]
    public void Enter_with_level_1_pushes_only_the_new_frame_pointer_after_rBP()
    {
        var m = Guest.Protected(a => { a.enter(8, 1); a.hlt(); });
        m.WriteRegister(Register.Rbp, 0x7_0000);

        Guest.RunToHalt(m);
        Assert.Equal(0x7_0000UL, m.Bus.Read(Guest.StackTop - 4, 4));
        Assert.Equal(Guest.StackTop - 4, m.Bus.Read(Guest.StackTop - 8, 4));
        Assert.Equal(Guest.StackTop - 4, m.ReadRegister(Register.Rbp));
        Assert.Equal(Guest.StackTop - 8 - 8, m.ReadRegister(Register.Rsp));
    }

    [Fact]
    public void Enter_with_16_bit_operand_size_in_32_bit_code_moves_words_and_sets_only_BP()
    {
        // 66 C8 04 00 02: enter 4, 2 with a 16-bit operand size (on a 32-bit stack).
        var m = Guest.FromBytes(32, 0x66, 0xC8, 0x04, 0x00, 0x02, 0xF4);
        m.WriteRegister(Register.Rbp, 0x7_0000);
        m.Bus.Write(0x6_FFFE, 2, 0xBEEF);

        Guest.RunToHalt(m);
        Assert.Equal(0x0000UL, m.Bus.Read(Guest.StackTop - 2, 2)); // BP
        Assert.Equal(0xBEEFUL, m.Bus.Read(Guest.StackTop - 4, 2)); // copied from [EBP - 2]
        Assert.Equal(0xFFFEUL, m.Bus.Read(Guest.StackTop - 6, 2)); // the new frame pointer, 16 bits
        Assert.Equal(0x7_FFFEUL, m.ReadRegister(Register.Rbp));
        Assert.Equal(Guest.StackTop - 6 - 4, m.ReadRegister(Register.Rsp));
    }

    [Fact]
    public void Enter_faults_before_writing_anything_when_its_final_stack_pointer_is_outside_SS()
    {
        var m = Guest.Protected(a => { a.enter(0x20, 0); a.hlt(); });
        m.State.Segments[(int)SegmentRegister.Ss].Limit = 0xFFFF;
        m.WriteRegister(Register.Rsp, 0x10);
        m.WriteRegister(Register.Rbp, 0x1234);
        m.Bus.Write(0xC, 4, 0xCAFE);

        var stop = m.Run(100);
        Assert.Equal(StopKind.Fault, stop.Kind);
        Assert.Equal(Vector.SS, stop.Vector);
        Assert.Equal(0U, stop.ErrorCode);
        Assert.Equal(0x10UL, m.ReadRegister(Register.Rsp));
        Assert.Equal(0x1234UL, m.ReadRegister(Register.Rbp));
        Assert.Equal(0xCAFEUL, m.Bus.Read(0xC, 4));
    }

    [Fact]
    public void Leave_faults_with_nothing_changed_when_the_saved_frame_pointer_is_outside_SS()
    {
        var m = Guest.Protected(a => { a.leave(); a.hlt(); });
        m.State.Segments[(int)SegmentRegister.Ss].Limit = 0xFFFF;
        m.WriteRegister(Register.Rbp, 0xFFFE);

        var stop = m.Run(100);
        Assert.Equal(Vector.SS, stop.Vector);
        Assert.Equal(Guest.StackTop, m.ReadRegister(Register.Rsp));
        Assert.Equal(0xFFFEUL, m.ReadRegister(Register.Rbp));
    }

    [Fact]
    public void Pushad_pushes_the_original_ESP_and_popad_skips_it()
    {
        var m = Guest.Protected(a =>
        {
            a.mov(eax, 1); a.mov(ecx, 2); a.mov(edx, 3); a.mov(ebx, 4);
            a.mov(ebp, 6); a.mov(esi, 7); a.mov(edi, 8);
            a.pushad();
            a.int3();
            a.popad();
            a.hlt();
        });
        Assert.Equal(Vector.BP, m.Run(100).Vector);
        Assert.Equal(Guest.StackTop - 32, m.ReadRegister(Register.Rsp));
        ulong[] expected = [8, 7, 6, Guest.StackTop, 4, 3, 2, 1]; // EDI at the top of the stack, EAX at the bottom
        for (int k = 0; k < 8; k++)
            Assert.Equal(expected[k], m.Bus.Read(Guest.StackTop - 32 + (ulong)k * 4, 4));

        for (int r = 0; r < 8; r++)
            if (r != (int)Gpr.Rsp)
                m.State.Gpr[r] = 0xDEAD;
        m.Bus.Write(Guest.StackTop - 20, 4, 0x1234); // the saved ESP is not loaded
        Guest.RunToHalt(m);
        Assert.Equal(Guest.StackTop, m.ReadRegister(Register.Rsp));
        Assert.Equal([1UL, 2, 3, 4, Guest.StackTop, 6, 7, 8], Enumerable.Range(0, 8).Select(r => m.State.Gpr[r]));
    }

    [Fact]
    public void Pusha_with_an_operand_size_prefix_pushes_words()
    {
        var m = Guest.FromBytes(32, 0x66, 0x60, 0xF4);
        m.WriteRegister(Register.Rax, 0x1_ABCD);

        Guest.RunToHalt(m);
        Assert.Equal(Guest.StackTop - 16, m.ReadRegister(Register.Rsp));
        Assert.Equal(0xABCDUL, m.Bus.Read(Guest.StackTop - 2, 2));
        Assert.Equal(Guest.StackTop & 0xFFFF, m.Bus.Read(Guest.StackTop - 10, 2));
    }

    [Fact]
    public void Pushad_faults_before_writing_anything_when_the_stack_runs_out()
    {
        var m = Guest.Protected(a => { a.pushad(); a.hlt(); });
        m.State.Segments[(int)SegmentRegister.Ss].Limit = 0xFFFF;
        m.WriteRegister(Register.Rsp, 0x10); // room for four of the eight
        m.WriteRegister(Register.Rax, 0x5555);

        var stop = m.Run(100);
        Assert.Equal(Vector.SS, stop.Vector);
        Assert.Equal(0x10UL, m.ReadRegister(Register.Rsp));
        Assert.Equal(0UL, m.Bus.Read(0xC, 4));
    }

    [Fact]
    public void Pusha_and_popa_are_invalid_in_64_bit_mode()
    {
        Assert.Equal(Vector.UD, Guest.FromBytes(64, 0x60).Run(10).Vector);
        Assert.Equal(Vector.UD, Guest.FromBytes(64, 0x61).Run(10).Vector);
    }
}
