using System.Text;
using static Iced.Intel.AssemblerRegisters;

namespace Repl.Machine.Tests.Cpu;

public class StringTests
{
    const ulong Source = 0x20_0000, Destination = 0x30_0000;

    static byte[] Bytes(Machine m, ulong address, int count)
    {
        var b = new byte[count];
        m.ReadPhysical(address, b);
        return b;
    }

    [Fact]
    public void Rep_movsb_copies_forward_and_leaves_the_pointers_past_the_end()
    {
        var m = Guest.Long(a => { a.rep.movsb(); a.hlt(); });
        m.WritePhysical(Source, "hello world"u8);
        m.WriteRegister(Register.Rsi, Source);
        m.WriteRegister(Register.Rdi, Destination);
        m.WriteRegister(Register.Rcx, 11);

        Guest.RunToHalt(m);
        Assert.Equal("hello world", Encoding.ASCII.GetString(Bytes(m, Destination, 11)));
        Assert.Equal(Source + 11, m.ReadRegister(Register.Rsi));
        Assert.Equal(Destination + 11, m.ReadRegister(Register.Rdi));
        Assert.Equal(0UL, m.ReadRegister(Register.Rcx));
    }

    [Fact]
    public void Rep_movsd_with_DF_set_copies_backward()
    {
        var m = Guest.Long(a => { a.std(); a.rep.movsd(); a.hlt(); });
        m.WritePhysical(Source, [1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]);
        m.WriteRegister(Register.Rsi, Source + 8);
        m.WriteRegister(Register.Rdi, Destination + 8);
        m.WriteRegister(Register.Rcx, 3);

        Guest.RunToHalt(m);
        Assert.Equal([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0], Bytes(m, Destination, 12));
        Assert.Equal(Source - 4, m.ReadRegister(Register.Rsi));
        Assert.Equal(Destination - 4, m.ReadRegister(Register.Rdi));
    }

    [Fact]
    public void Rep_with_a_zero_count_does_nothing_not_even_check_its_operands()
    {
        // a32 rep stosb: ECX is 0 though RCX is not, and RDI is not canonical.
        var m = Guest.FromBytes(64, 0x67, 0xF3, 0xAA, 0xF4);
        m.WriteRegister(Register.Rcx, 0x1_0000_0000);
        m.WriteRegister(Register.Rdi, Guest.NonCanonical);

        Guest.RunToHalt(m);
        Assert.Equal(0x1_0000_0000UL, m.ReadRegister(Register.Rcx));
        Assert.Equal(Guest.NonCanonical, m.ReadRegister(Register.Rdi));
    }

    [Fact]
    public void A_fault_in_the_middle_of_rep_movsb_keeps_the_completed_iterations_and_restarts_the_instruction()
    {
        var m = Guest.Long(a => { a.rep.movsb(); a.hlt(); });
        m.WritePhysical(Source, "0123456789"u8);
        m.WriteRegister(Register.Rsi, Source);
        m.WriteRegister(Register.Rdi, 0x7FFF_FFFF_FFFC); // the fifth byte would be the first non-canonical one
        // Map the top of the lower half (PML4 slot 255) like the bottom, so the first four bytes have a page to go to.
        ulong pml4 = m.State.Cr3;
        m.Bus.Write(pml4 + 255 * 8, 8, m.Bus.Read(pml4, 8));
        m.WriteRegister(Register.Rcx, 10);

        Expect.FaultAtFirstInstruction(m, Vector.GP, 0);
        Assert.Equal(6UL, m.ReadRegister(Register.Rcx));
        Assert.Equal(Source + 4, m.ReadRegister(Register.Rsi));
        Assert.Equal(0x8000_0000_0000UL, m.ReadRegister(Register.Rdi));

        m.WriteRegister(Register.Rdi, Destination);
        Guest.RunToHalt(m);
        Assert.Equal("456789", Encoding.ASCII.GetString(Bytes(m, Destination, 6)));
        Assert.Equal(0UL, m.ReadRegister(Register.Rcx));
    }

    [Fact]
    public void A_segment_limit_fault_in_the_middle_of_rep_stosd_in_32_bit_code_keeps_the_completed_iterations()
    {
        var m = Guest.Protected(a => { a.rep.stosd(); a.hlt(); });
        m.State.Segments[(int)SegmentRegister.Es].Limit = 0x20_000F;
        m.WriteRegister(Register.Rdi, 0x20_0000);
        m.WriteRegister(Register.Rcx, 8);
        m.WriteRegister(Register.Rax, 0xAABB_CCDD);

        var stop = m.Run(100);
        Assert.Equal(StopKind.Fault, stop.Kind);
        Assert.Equal(Vector.GP, stop.Vector);
        Assert.Equal(Guest.CodeAddress, stop.Rip);
        Assert.Equal(4UL, m.ReadRegister(Register.Rcx));
        Assert.Equal(0x20_0010UL, m.ReadRegister(Register.Rdi));
        Assert.Equal(0xAABB_CCDDU, BitConverter.ToUInt32(Bytes(m, 0x20_000C, 4)));
        Assert.Equal(0U, BitConverter.ToUInt32(Bytes(m, 0x20_0010, 4)));
    }

    [Fact]
    public void Sixteen_bit_address_size_wraps_SI_DI_and_CX_and_keeps_their_upper_halves()
    {
        // a16 rep movsb in 32-bit code.
        var m = Guest.FromBytes(32, 0x67, 0xF3, 0xA4, 0xF4);
        m.WritePhysical(0xFFFE, [0xA1, 0xA2]);
        m.WritePhysical(0x0000, [0xA3, 0xA4]);
        m.WriteRegister(Register.Rsi, 0x1234_FFFE);
        m.WriteRegister(Register.Rdi, 0x5678_0100);
        m.WriteRegister(Register.Rcx, 0xABCD_0004);

        Guest.RunToHalt(m);
        Assert.Equal([0xA1, 0xA2, 0xA3, 0xA4], Bytes(m, 0x100, 4));
        Assert.Equal(0x1234_0002UL, m.ReadRegister(Register.Rsi));
        Assert.Equal(0x5678_0104UL, m.ReadRegister(Register.Rdi));
        Assert.Equal(0xABCD_0000UL, m.ReadRegister(Register.Rcx));
    }

    [Fact]
    public void Thirty_two_bit_address_size_in_64_bit_mode_uses_ESI_EDI_ECX_and_zero_extends_them()
    {
        var m = Guest.FromBytes(64, 0x67, 0xF3, 0xA4, 0xF4);
        m.WritePhysical(Source, "abc"u8);
        m.WriteRegister(Register.Rsi, 0xFFFF_FFFF_0000_0000 | Source);
        m.WriteRegister(Register.Rdi, 0x1_0000_0000 | Destination);
        m.WriteRegister(Register.Rcx, 0x1_0000_0003);

        Guest.RunToHalt(m);
        Assert.Equal("abc", Encoding.ASCII.GetString(Bytes(m, Destination, 3)));
        Assert.Equal(Source + 3, m.ReadRegister(Register.Rsi));
        Assert.Equal(Destination + 3, m.ReadRegister(Register.Rdi));
        Assert.Equal(0UL, m.ReadRegister(Register.Rcx));
    }

    [Fact]
    public void Repe_cmpsb_stops_after_the_first_difference_with_the_flags_of_source_minus_destination()
    {
        var m = Guest.Long(a => { a.repe.cmpsb(); a.hlt(); });
        m.WritePhysical(Source, "abcXe"u8);
        m.WritePhysical(Destination, "abcYe"u8);
        m.WriteRegister(Register.Rsi, Source);
        m.WriteRegister(Register.Rdi, Destination);
        m.WriteRegister(Register.Rcx, 5);

        Guest.RunToHalt(m);
        Assert.Equal(1UL, m.ReadRegister(Register.Rcx));
        Assert.Equal(Source + 4, m.ReadRegister(Register.Rsi));
        Assert.Equal(Destination + 4, m.ReadRegister(Register.Rdi));
        Assert.False(m.State.ZF);
        Assert.True(m.State.CF); // 'X' - 'Y' borrows
    }

    [Fact]
    public void Repne_scasb_stops_at_the_matching_byte()
    {
        var m = Guest.Long(a => { a.xor(eax, eax); a.repne.scasb(); a.hlt(); });
        m.WritePhysical(Destination, "hello\0"u8);
        m.WriteRegister(Register.Rdi, Destination);
        m.WriteRegister(Register.Rcx, ulong.MaxValue);

        Guest.RunToHalt(m);
        Assert.True(m.State.ZF);
        Assert.Equal(Destination + 6, m.ReadRegister(Register.Rdi));
        Assert.Equal(ulong.MaxValue - 6, m.ReadRegister(Register.Rcx));
    }

    [Fact]
    public void Repne_on_movs_repeats_by_count_alone()
    {
        // F2 A4 with ZF clear then set by the data: only RCX ends it.
        var m = Guest.FromBytes(64, 0xF2, 0xA4, 0xF4);
        m.WritePhysical(Source, [0, 0, 0]);
        m.WriteRegister(Register.Rsi, Source);
        m.WriteRegister(Register.Rdi, Destination);
        m.WriteRegister(Register.Rcx, 3);

        Guest.RunToHalt(m);
        Assert.Equal(0UL, m.ReadRegister(Register.Rcx));
        Assert.Equal(Source + 3, m.ReadRegister(Register.Rsi));
    }

    [Fact]
    public void Lodsd_zero_extends_into_RAX_and_stosw_stores_AX_without_a_count()
    {
        var m = Guest.Long(a => { a.lodsd(); a.stosw(); a.hlt(); });
        m.WritePhysical(Source, [0x11, 0x22, 0x33, 0x44]);
        m.WriteRegister(Register.Rax, ulong.MaxValue);
        m.WriteRegister(Register.Rsi, Source);
        m.WriteRegister(Register.Rdi, Destination);
        m.WriteRegister(Register.Rcx, 0);

        Guest.RunToHalt(m);
        Assert.Equal(0x4433_2211UL, m.ReadRegister(Register.Rax));
        Assert.Equal([0x11, 0x22, 0], Bytes(m, Destination, 3));
        Assert.Equal(Source + 4, m.ReadRegister(Register.Rsi));
        Assert.Equal(Destination + 2, m.ReadRegister(Register.Rdi));
    }

    [Fact]
    public void The_source_segment_can_be_overridden_but_the_destination_is_always_ES()
    {
        // fs movsb; fs stosb (the override cannot move the destination off ES).
        var m = Guest.FromBytes(32, 0x64, 0xA4, 0x64, 0xAA, 0xF4);
        m.State.Segments[(int)SegmentRegister.Fs].Base = 0x1000;
        m.State.Segments[(int)SegmentRegister.Es].Base = 0x2000;
        m.WritePhysical(0x1010, [0x5A]);
        m.WritePhysical(0x0010, [0x11]);
        m.WriteRegister(Register.Rsi, 0x10);
        m.WriteRegister(Register.Rdi, 0x20);
        m.WriteRegister(Register.Rax, 0x77);

        Guest.RunToHalt(m);
        Assert.Equal([0x5A, 0x77], Bytes(m, 0x2020, 2));
        Assert.Equal([0, 0], Bytes(m, 0x1020, 2));
    }

    [Fact]
    public void Rep_outsb_sends_each_byte_to_DX_and_rep_insw_stores_what_the_port_returns()
    {
        var m = Guest.Long(a => { a.rep.outsb(); a.mov(ecx, 2); a.rep.insw(); a.hlt(); });
        var port = new RecordingPort();
        m.Bus.MapPorts(0x3F8, 8, port);
        m.WritePhysical(Source, "abc"u8);
        m.WriteRegister(Register.Rsi, Source);
        m.WriteRegister(Register.Rdi, Destination);
        m.WriteRegister(Register.Rdx, 0x3F8);
        m.WriteRegister(Register.Rcx, 3);

        Guest.RunToHalt(m);
        Assert.Equal("3f8:1:a 3f8:1:b 3f8:1:c", string.Join(" ", port.Outs.Select(o => $"{o.Port:x}:{o.Size}:{(char)o.Value}")));
        Assert.Equal("3f8:2 3f8:2", string.Join(" ", port.Ins.Select(i => $"{i.Port:x}:{i.Size}")));
        Assert.Equal([0x01, 0x02, 0x02, 0x03], Bytes(m, Destination, 4));
        Assert.Equal(Destination + 4, m.ReadRegister(Register.Rdi));
    }

    [Fact]
    public void Ins_checks_its_destination_before_it_reads_the_port()
    {
        var m = Guest.Protected(a => { a.insb(); a.hlt(); });
        var port = new RecordingPort();
        m.Bus.MapPorts(0x60, 1, port);
        m.State.Segments[(int)SegmentRegister.Es].Limit = 0xFFFF;
        m.WriteRegister(Register.Rdx, 0x60);
        m.WriteRegister(Register.Rdi, 0x1_0000);

        var stop = m.Run(100);
        Assert.Equal(StopKind.Fault, stop.Kind);
        Assert.Equal(Vector.GP, stop.Vector);
        Assert.Empty(port.Ins);
        Assert.Equal(0x1_0000UL, m.ReadRegister(Register.Rdi));
    }

    [Fact]
    public void A_misaligned_ins_with_alignment_checking_raises_AC_before_reading_the_port()
    {
        var m = Guest.Long(a => { a.insw(); a.hlt(); });
        var port = new RecordingPort();
        m.Bus.MapPorts(0x60, 1, port);
        Guest.RunAtCpl3(m, iopl: 3);
        m.State.Cr0 |= CpuState.Cr0AM;
        m.State.Rflags |= (ulong)RflagsBit.AC;
        m.WriteRegister(Register.Rdx, 0x60);
        m.WriteRegister(Register.Rdi, Destination + 1);

        var stop = m.Run(100);
        Assert.Equal(Vector.AC, stop.Vector);
        Assert.Equal(0U, stop.ErrorCode);
        Assert.Empty(port.Ins);
        Assert.Equal(Destination + 1, m.ReadRegister(Register.Rdi));
    }

    [Fact]
    public void Outs_above_IOPL_raises_GP_with_nothing_changed_and_at_IOPL_3_goes_through()
    {
        var m = Guest.Long(a => { a.outsb(); a.hlt(); });
        var port = new RecordingPort();
        m.Bus.MapPorts(0x80, 1, port);
        Guest.RunAtCpl3(m, iopl: 0);
        m.WriteRegister(Register.Rsi, Source);
        m.WriteRegister(Register.Rdx, 0x80);

        var stop = m.Run(100);
        Assert.Equal(StopKind.Fault, stop.Kind);
        Assert.Equal(Vector.GP, stop.Vector);
        Assert.Equal(0U, stop.ErrorCode);
        Assert.Empty(port.Outs);
        Assert.Equal(Source, m.ReadRegister(Register.Rsi));

        Guest.RunAtCpl3(m, iopl: 3);
        Assert.Equal(StopKind.Fault, m.Run(100).Kind); // HLT at CPL 3
        Assert.Single(port.Outs);
        Assert.Equal(Source + 1, m.ReadRegister(Register.Rsi));
    }

    [Fact]
    public void A_long_rep_run_retires_in_chunks_so_a_budget_or_stop_request_can_interrupt_it()
    {
        var m = Guest.Long(a => { a.rep.stosb(); a.hlt(); });
        const ulong count = 1UL << 40, start = 0x40_0000_0000; // mapped, but beyond RAM: the writes go nowhere
        m.WriteRegister(Register.Rdi, start);
        m.WriteRegister(Register.Rcx, count);

        var stop = m.Run(3);
        Assert.Equal(StopKind.InstructionBudget, stop.Kind);
        Assert.Equal(Guest.CodeAddress, stop.Rip);
        Assert.Equal(count - 3 * (ulong)Repl.Machine.Cpu.StringChunkIterations, m.ReadRegister(Register.Rcx));
        Assert.Equal(start + 3 * (ulong)Repl.Machine.Cpu.StringChunkIterations, m.ReadRegister(Register.Rdi));
    }

    [Fact]
    public void A_rep_run_longer_than_a_chunk_completes_and_counts_one_retirement_per_chunk()
    {
        var m = Guest.Long(a => { a.mov(al, 0xEE); a.rep.stosb(); a.hlt(); });
        const int count = 10_000;
        m.WriteRegister(Register.Rdi, Destination);
        m.WriteRegister(Register.Rcx, count);

        Guest.RunToHalt(m);
        Assert.All(Bytes(m, Destination, count), b => Assert.Equal(0xEE, b));
        Assert.Equal(0, Bytes(m, Destination + count, 1)[0]);
        Assert.Equal(0UL, m.ReadRegister(Register.Rcx));
        Assert.Equal(1UL + 3 + 1, m.State.InstructionsRetired); // mov, three chunks, hlt
    }
}
