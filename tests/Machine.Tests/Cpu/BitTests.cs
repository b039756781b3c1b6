using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Repl.Machine.Tests.Cpu;

public class BitTests
{
    [Fact]
    public void Bt_with_a_register_offset_selects_a_bit_beyond_the_memory_operand()
    {
        var m = Guest.Long(a => { a.bt(__dword_ptr[rbx], eax); a.hlt(); });
        m.Bus.Write(Guest.Data + 12, 4, 1 << 4); // bit 100 = dword 3, bit 4
        m.WriteRegister(Register.Rbx, Guest.Data);
        m.WriteRegister(Register.Rax, 100);
        Guest.RunToHalt(m);
        Assert.True(m.State.CF);
    }

    [Fact]
    public void Bts_with_a_negative_64_bit_offset_modifies_the_qword_below_the_operand()
    {
        var m = Guest.Long(a => { a.bts(__qword_ptr[rbx], rax); a.hlt(); });
        m.WriteRegister(Register.Rbx, Guest.Data);
        m.WriteRegister(Register.Rax, unchecked((ulong)-65)); // floor(-65 / 64) = -2 qwords, bit 63
        Guest.RunToHalt(m);
        Assert.Equal(0x8000_0000_0000_0000UL, m.Bus.Read(Guest.Data - 16, 8));
        Assert.Equal(0UL, m.Bus.Read(Guest.Data - 8, 8));
        Assert.Equal(0UL, m.Bus.Read(Guest.Data, 8));
        Assert.False(m.State.CF);
    }

    [Fact]
    public void Btc_with_a_16_bit_offset_uses_only_the_low_word_of_the_register_as_a_signed_offset()
    {
        var m = Guest.Long(a => { a.btc(__word_ptr[rbx], cx); a.hlt(); });
        m.Bus.Write(Guest.Data - 2, 2, 1);
        m.WriteRegister(Register.Rbx, Guest.Data);
        m.WriteRegister(Register.Rcx, 0x0000_7FFF_0000_FFF0); // CX = -16: the word below, bit 0
        Guest.RunToHalt(m);
        Assert.Equal(0UL, m.Bus.Read(Guest.Data - 2, 2));
        Assert.Equal(0UL, m.Bus.Read(Guest.Data, 2));
        Assert.True(m.State.CF);
    }

    [Fact]
    public void Bt_with_an_immediate_offset_takes_it_modulo_the_operand_width()
    {
        var m = Guest.Long(a => { a.bt(__word_ptr[rbx], 17); a.hlt(); });
        m.Bus.Write(Guest.Data, 2, 1 << 1);
        m.WriteRegister(Register.Rbx, Guest.Data);
        Guest.RunToHalt(m);
        Assert.True(m.State.CF);
    }

    [Fact]
    public void Bt_with_a_register_base_takes_the_offset_modulo_the_operand_width()
    {
        var m = Guest.Long(a => { a.btr(eax, ecx); a.hlt(); });
        m.WriteRegister(Register.Rax, 0xFFFF_FFFF_0000_0004);
        m.WriteRegister(Register.Rcx, 0x22); // bit 2
        Guest.RunToHalt(m);
        Assert.Equal(0UL, m.ReadRegister(Register.Rax)); // and the 32-bit write zero-extends
        Assert.True(m.State.CF);
    }

    [Fact]
    public void Bts_with_a_negative_offset_in_32_bit_code_reaches_below_the_operand()
    {
        var m = Guest.Protected(a => { a.bts(__dword_ptr[ebx], eax); a.hlt(); });
        m.WriteRegister(Register.Rbx, Guest.Data);
        m.WriteRegister(Register.Rax, unchecked((uint)-33)); // two dwords below, bit 31
        Guest.RunToHalt(m);
        Assert.Equal(0x8000_0000UL, m.Bus.Read(Guest.Data - 8, 4));
        Assert.Equal(0UL, m.Bus.Read(Guest.Data - 4, 4));
    }

    [Fact]
    public void Bt_checks_the_segment_limit_at_the_unit_its_offset_reaches()
    {
        var m = Guest.Protected(a => { a.bt(__dword_ptr[ebx], eax); a.hlt(); });
        m.State.Segments[(int)SegmentRegister.Ds].Limit = (uint)Guest.Data + 0xFFF;
        m.WriteRegister(Register.Rbx, Guest.Data);
        m.WriteRegister(Register.Rax, 0x1000 * 8); // the dword at Data + 0x1000, past the limit
        Expect.FaultAtFirstInstruction(m, Vector.GP, 0);
    }

    [Fact]
    public void Bts_on_a_read_only_segment_faults_with_memory_and_CF_unchanged()
    {
        var m = Guest.Protected(a => { a.bts(__dword_ptr[ebx], eax); a.hlt(); });
        Guest.MakeDataSegmentReadOnly(m);
        m.State.Rflags |= (ulong)RflagsBit.CF; // the bit is clear, so a completed BTS would clear CF
        m.WriteRegister(Register.Rbx, Guest.Data);
        m.WriteRegister(Register.Rax, 40);
        Expect.FaultAtFirstInstruction(m, Vector.GP, 0);
        Assert.Equal(0UL, m.Bus.Read(Guest.Data + 4, 4));
        Assert.True(m.State.CF);
    }

    [Fact]
    public void Bt_reads_a_read_only_segment()
    {
        var m = Guest.Protected(a => { a.bt(__dword_ptr[ebx], 3); a.hlt(); });
        Guest.MakeDataSegmentReadOnly(m);
        m.Bus.Write(Guest.Data, 4, 8);
        m.WriteRegister(Register.Rbx, Guest.Data);
        Guest.RunToHalt(m);
        Assert.True(m.State.CF);
    }

    [Fact]
    public void Bit_test_instructions_change_only_CF()
    {
        var m = Guest.Long(a => { a.bts(rax, 3); a.hlt(); });
        const ulong others = (ulong)(RflagsBit.ZF | RflagsBit.SF | RflagsBit.OF | RflagsBit.PF | RflagsBit.AF);
        m.State.Rflags = others;
        m.WriteRegister(Register.Rax, 8);
        Guest.RunToHalt(m);
        Assert.Equal(others | (ulong)RflagsBit.CF, m.State.Rflags & Guest.ArithmeticFlags);
    }

    [Fact]
    public void Lock_is_allowed_on_bts_to_memory_but_not_on_bt()
    {
        var locked = Guest.Long(a => { a.@lock.bts(__dword_ptr[rbx], 5); a.hlt(); });
        locked.WriteRegister(Register.Rbx, Guest.Data);
        Guest.RunToHalt(locked);
        Assert.Equal(32UL, locked.Bus.Read(Guest.Data, 4));

        var m = Guest.Long(a => { a.db([0xF0, 0x0F, 0xA3, 0x03]); a.hlt(); }); // lock bt [rbx], eax
        m.WriteRegister(Register.Rbx, Guest.Data);
        Expect.FaultAtFirstInstruction(m, Vector.UD, errorCode: null);
    }

    [Fact]
    public void Bsf_of_zero_sets_ZF_and_leaves_all_64_bits_of_a_32_bit_destination()
    {
        var m = Guest.Long(a => { a.bsf(eax, ecx); a.hlt(); });
        m.WriteRegister(Register.Rax, 0xAAAA_BBBB_CCCC_DDDD);
        m.WriteRegister(Register.Rcx, 0xFFFF_FFFF_0000_0000); // ECX is zero
        Guest.RunToHalt(m);
        Assert.Equal(0xAAAA_BBBB_CCCC_DDDDUL, m.ReadRegister(Register.Rax));
        Assert.True(m.State.ZF);
    }

    [Fact]
    public void Bsr_of_a_nonzero_32_bit_source_zero_extends_the_index()
    {
        var m = Guest.Long(a => { a.bsr(eax, __dword_ptr[rbx]); a.hlt(); });
        m.Bus.Write(Guest.Data, 4, 0x0001_0000);
        m.WriteRegister(Register.Rax, 0xAAAA_BBBB_CCCC_DDDD);
        m.WriteRegister(Register.Rbx, Guest.Data);
        Guest.RunToHalt(m);
        Assert.Equal(16UL, m.ReadRegister(Register.Rax));
        Assert.False(m.State.ZF);
    }

    [Fact]
    public void Bsr_of_a_zero_16_bit_memory_source_in_32_bit_code_leaves_the_destination()
    {
        var m = Guest.Protected(a => { a.bsr(ax, __word_ptr[ebx]); a.hlt(); });
        m.Bus.Write(Guest.Data, 4, 0xFFFF_0000); // the word is zero, the bytes after it are not
        m.WriteRegister(Register.Rax, 0x1234_5678);
        m.WriteRegister(Register.Rbx, Guest.Data);
        Guest.RunToHalt(m);
        Assert.Equal(0x1234_5678UL, m.ReadRegister(Register.Rax));
        Assert.True(m.State.ZF);
    }

    [Fact]
    public void Bsf_with_a_faulting_memory_source_changes_nothing()
    {
        var m = Guest.Long(a => { a.bsf(rax, __qword_ptr[rbx]); a.hlt(); });
        m.WriteRegister(Register.Rax, 0x55);
        m.WriteRegister(Register.Rbx, Guest.NonCanonical);
        ulong flags = m.State.Rflags;
        Expect.FaultAtFirstInstruction(m, Vector.GP, 0);
        Assert.Equal(0x55UL, m.ReadRegister(Register.Rax));
        Assert.Equal(flags, m.State.Rflags);
    }

    [Fact]
    public void Tzcnt_and_lzcnt_of_a_zero_16_bit_source_give_16_and_set_CF()
    {
        var m = Guest.Long(a => { a.tzcnt(ax, cx); a.lzcnt(dx, cx); a.hlt(); });
        m.WriteRegister(Register.Rax, 0x1111_2222_3333_4444);
        m.WriteRegister(Register.Rcx, 0xFFFF_0000); // CX is zero
        m.WriteRegister(Register.Rdx, 0x5555_0000_0000_0000);
        Guest.RunToHalt(m);
        Assert.Equal(0x1111_2222_3333_0010UL, m.ReadRegister(Register.Rax));
        Assert.Equal(0x5555_0000_0000_0010UL, m.ReadRegister(Register.Rdx));
        Assert.True(m.State.CF);
        Assert.False(m.State.ZF);
    }

    [Fact]
    public void Lzcnt_counts_within_the_operand_width_in_32_bit_code()
    {
        var m = Guest.Protected(a => { a.lzcnt(eax, ecx); a.popcnt(edx, ecx); a.hlt(); });
        m.WriteRegister(Register.Rcx, 0x0000_F000);
        Guest.RunToHalt(m);
        Assert.Equal(16UL, m.ReadRegister(Register.Rax));
        Assert.Equal(4UL, m.ReadRegister(Register.Rdx));
    }

    [Fact]
    public void Mulx_with_both_destinations_the_same_register_keeps_the_high_half()
    {
        var m = Guest.Long(a => { a.mulx(rax, rax, rcx); a.hlt(); });
        m.WriteRegister(Register.Rdx, ulong.MaxValue);
        m.WriteRegister(Register.Rcx, 2); // product 1_FFFF_FFFF_FFFF_FFFE
        m.State.Rflags = (ulong)(RflagsBit.CF | RflagsBit.ZF);
        Guest.RunToHalt(m);
        Assert.Equal(1UL, m.ReadRegister(Register.Rax));
        Assert.Equal((ulong)(RflagsBit.CF | RflagsBit.ZF), m.State.Rflags & Guest.ArithmeticFlags);
    }

    [Fact]
    public void Mulx_in_32_bit_code_ignores_VEX_W_and_multiplies_EDX()
    {
        // mulx eax, ecx, ebx with VEX.W1, which 32-bit code ignores.
        var m = Guest.Protected(a => { a.db([0xC4, 0xE2, 0xF3, 0xF6, 0xC3]); a.hlt(); });
        m.WriteRegister(Register.Rdx, 0x8000_0000);
        m.WriteRegister(Register.Rbx, 4);
        m.WriteRegister(Register.Rcx, 0x1234);
        Guest.RunToHalt(m);
        Assert.Equal(2UL, m.ReadRegister(Register.Rax));
        Assert.Equal(0UL, m.ReadRegister(Register.Rcx));
    }

    [Fact]
    public void Bextr_with_an_immediate_control_is_TBM_and_raises_UD_as_undefined()
    {
        // XOP bextr eax, ecx, 0x804: TBM, which CPUID does not report.
        var m = Guest.Long(a => { a.db([0x8F, 0xEA, 0x78, 0x10, 0xC1, 0x04, 0x08, 0x00, 0x00]); a.hlt(); });
        Expect.FaultAtFirstInstruction(m, Vector.UD, errorCode: null);
        Assert.Empty(m.Cpu.UnimplementedExecuted);
    }

    [Fact]
    public void Bextr_and_bzhi_read_their_control_from_the_low_bytes()
    {
        var m = Guest.Long(a => { a.bextr(rax, rbx, rcx); a.bzhi(edx, ebx, ecx); a.hlt(); });
        m.WriteRegister(Register.Rbx, 0xFEDC_BA98_7654_3210);
        m.WriteRegister(Register.Rcx, 0xFFFF_0000_0000_0C08); // 12 bits from bit 8; BZHI index 8
        Guest.RunToHalt(m);
        Assert.Equal(0x432UL, m.ReadRegister(Register.Rax));
        Assert.Equal(0x10UL, m.ReadRegister(Register.Rdx));
        Assert.False(m.State.CF);
    }

    [Fact]
    public void Bzhi_with_an_index_past_the_operand_sets_CF_and_keeps_the_source()
    {
        var m = Guest.Protected(a => { a.bzhi(eax, ebx, ecx); a.hlt(); });
        m.WriteRegister(Register.Rbx, 0x8765_4321);
        m.WriteRegister(Register.Rcx, 32);
        Guest.RunToHalt(m);
        Assert.Equal(0x8765_4321UL, m.ReadRegister(Register.Rax));
        Assert.True(m.State.CF);
    }

    [Fact]
    public void Shift_counts_of_shlx_sarx_shrx_and_rorx_are_taken_modulo_the_operand_width()
    {
        var m = Guest.Long(a =>
        {
            a.shlx(eax, ebx, ecx);
            a.sarx(rdx, rbx, rsi);
            a.shrx(edi, ebx, ecx);
            a.rorx(r8d, ebx, 36);
            a.hlt();
        });
        m.WriteRegister(Register.Rbx, 0x8000_0000_8000_0001);
        m.WriteRegister(Register.Rcx, 33); // 1 for 32 bits
        m.WriteRegister(Register.Rsi, 65); // 1 for 64 bits
        Guest.RunToHalt(m);
        Assert.Equal(2UL, m.ReadRegister(Register.Rax));
        Assert.Equal(0xC000_0000_4000_0000UL, m.ReadRegister(Register.Rdx));
        Assert.Equal(0x4000_0000UL, m.ReadRegister(Register.Rdi));
        Assert.Equal(0x1800_0000UL, m.ReadRegister(Register.R8));
    }

    [Fact]
    public void Pext_gathers_what_pdep_scattered()
    {
        var m = Guest.Long(a => { a.pdep(rax, rbx, rcx); a.pext(rdx, rax, rcx); a.hlt(); });
        m.WriteRegister(Register.Rbx, 0b1011);
        m.WriteRegister(Register.Rcx, 0xF000_0000_0000_0F00);
        Guest.RunToHalt(m);
        Assert.Equal(0x0000_0000_0000_0B00UL, m.ReadRegister(Register.Rax));
        Assert.Equal(0b1011UL, m.ReadRegister(Register.Rdx));
    }

    [Fact]
    public void Blsr_in_32_bit_code_sets_CF_for_a_zero_source()
    {
        var m = Guest.Protected(a => { a.blsr(eax, __dword_ptr[ebx]); a.hlt(); });
        m.WriteRegister(Register.Rax, 0x77);
        m.WriteRegister(Register.Rbx, Guest.Data);
        Guest.RunToHalt(m);
        Assert.Equal(0UL, m.ReadRegister(Register.Rax));
        Assert.True(m.State.CF);
        Assert.True(m.State.ZF);
    }

    [Fact]
    public void Andn_with_a_faulting_memory_source_changes_neither_destination_nor_flags()
    {
        var m = Guest.Long(a => { a.andn(rax, rcx, __qword_ptr[rsp + rbx]); a.hlt(); });
        m.WriteRegister(Register.Rax, 0x1234);
        m.WriteRegister(Register.Rbx, Guest.NonCanonical);
        m.State.Rflags = (ulong)(RflagsBit.CF | RflagsBit.OF);
        ulong flags = m.State.Rflags;
        Expect.FaultAtFirstInstruction(m, Vector.SS, 0); // an RSP base makes it a stack-segment access
        Assert.Equal(0x1234UL, m.ReadRegister(Register.Rax));
        Assert.Equal(flags, m.State.Rflags);
    }
}
