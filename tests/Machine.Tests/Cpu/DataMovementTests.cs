using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Repl.Machine.Tests.Cpu;

public class DataMovementTests
{
    [Fact]
    public void Cmov_with_a_false_condition_still_zero_extends_a_32_bit_destination()
    {
        var m = Guest.Long(a => { a.cmove(eax, ecx); a.hlt(); });
        m.State.Rflags = 0; // ZF clear: no move
        m.WriteRegister(Register.Rax, 0xFFFF_FFFF_1234_5678);
        m.WriteRegister(Register.Rcx, 0x9999);
        Guest.RunToHalt(m);
        Assert.Equal(0x1234_5678UL, m.ReadRegister(Register.Rax));
    }

    [Fact]
    public void Cmov_with_a_false_condition_leaves_16_and_64_bit_destinations_whole()
    {
        var m = Guest.Long(a => { a.cmovne(ax, cx); a.cmovne(rdx, rcx); a.hlt(); });
        m.State.Rflags = (ulong)RflagsBit.ZF;
        m.WriteRegister(Register.Rax, 0xFFFF_FFFF_1234_5678);
        m.WriteRegister(Register.Rdx, 0xAAAA_BBBB_CCCC_DDDD);
        Guest.RunToHalt(m);
        Assert.Equal(0xFFFF_FFFF_1234_5678UL, m.ReadRegister(Register.Rax));
        Assert.Equal(0xAAAA_BBBB_CCCC_DDDDUL, m.ReadRegister(Register.Rdx));
    }

    [Fact]
    public void Cmov_with_a_false_condition_still_reads_its_memory_source_and_faults_before_zero_extending()
    {
        var m = Guest.Long(a => { a.cmove(eax, __dword_ptr[rbx]); a.hlt(); });
        m.State.Rflags = 0;
        m.WriteRegister(Register.Rax, 0xFFFF_FFFF_1234_5678);
        m.WriteRegister(Register.Rbx, Guest.NonCanonical);
        Expect.FaultAtFirstInstruction(m, Vector.GP, 0);
        Assert.Equal(0xFFFF_FFFF_1234_5678UL, m.ReadRegister(Register.Rax));
    }

    [Fact]
    public void Cmov_in_32_bit_code_moves_from_memory_when_the_condition_holds()
    {
        var m = Guest.Protected(a => { a.cmp(ecx, 5); a.cmovl(ax, __word_ptr[ebx]); a.hlt(); });
        m.Bus.Write(Guest.Data, 4, 0xBEEF_CAFE);
        m.WriteRegister(Register.Rax, 0x1111_2222);
        m.WriteRegister(Register.Rbx, Guest.Data);
        m.WriteRegister(Register.Rcx, unchecked((uint)-1));
        Guest.RunToHalt(m);
        Assert.Equal(0x1111_CAFEUL, m.ReadRegister(Register.Rax));
    }

    [Fact]
    public void Setcc_writes_a_byte_of_memory_in_32_bit_code()
    {
        var m = Guest.Protected(a => { a.setb(__byte_ptr[ebx]); a.setae(__byte_ptr[ebx + 1]); a.hlt(); });
        m.Bus.Write(Guest.Data, 4, 0xFFFF_FFFF);
        m.WriteRegister(Register.Rbx, Guest.Data);
        m.State.Rflags |= (ulong)RflagsBit.CF;
        Guest.RunToHalt(m);
        Assert.Equal(0xFFFF_0001UL, m.Bus.Read(Guest.Data, 4));
    }

    [Fact]
    public void Setcc_to_a_read_only_segment_faults_without_writing()
    {
        var m = Guest.Protected(a => { a.sete(__byte_ptr[ebx]); a.hlt(); });
        Guest.MakeDataSegmentReadOnly(m);
        m.WriteRegister(Register.Rbx, Guest.Data);
        Expect.FaultAtFirstInstruction(m, Vector.GP, 0);
        Assert.Equal(0UL, m.Bus.Read(Guest.Data, 1));
    }

    [Fact]
    public void Xlat_indexes_with_AL_unsigned_and_honours_a_segment_override()
    {
        var m = Guest.Long(a => { a.db([0x64, 0xD7]); a.hlt(); }); // xlat fs:[rbx]
        m.State.Segments[(int)SegmentRegister.Fs].Base = 0x30_0000;
        m.Bus.Write(0x30_0180, 1, 0x5A);
        m.WriteRegister(Register.Rbx, 0x100);
        m.WriteRegister(Register.Rax, 0xFFFF_FFFF_FFFF_FF80); // AL = 0x80 adds 128, not -128 nor all of RAX
        Guest.RunToHalt(m);
        Assert.Equal(0xFFFF_FFFF_FFFF_FF5AUL, m.ReadRegister(Register.Rax));
    }

    [Fact]
    public void Xlat_with_an_address_size_prefix_in_32_bit_code_uses_BX_and_the_DS_base()
    {
        var m = Guest.Protected(a => { a.db([0x67, 0xD7]); a.hlt(); }); // xlat [bx]
        m.State.Segments[(int)SegmentRegister.Ds].Base = Guest.Data;
        m.Bus.Write(Guest.Data + 0x110, 1, 0x77);
        m.WriteRegister(Register.Rbx, 0x0002_0100);
        m.WriteRegister(Register.Rax, 0x1234_5610);
        Guest.RunToHalt(m);
        Assert.Equal(0x1234_5677UL, m.ReadRegister(Register.Rax));
    }

    [Fact]
    public void Xlat_in_32_bit_code_faults_past_the_overriding_segment_limit()
    {
        var m = Guest.Protected(a => { a.db([0x26, 0xD7]); a.hlt(); }); // xlat es:[ebx]
        m.State.Segments[(int)SegmentRegister.Es].Limit = 0xFF;
        m.WriteRegister(Register.Rbx, 0xF0);
        m.WriteRegister(Register.Rax, 0x20);
        Expect.FaultAtFirstInstruction(m, Vector.GP, 0);
        Assert.Equal(0x20UL, m.ReadRegister(Register.Rax));
    }

    [Fact]
    public void Xchg_eax_eax_encoded_87_C0_zero_extends_RAX_but_90_is_a_nop()
    {
        var m = Guest.Long(a => { a.db([0x90, 0x87, 0xC0]); a.hlt(); });
        m.WriteRegister(Register.Rax, 0xFFFF_FFFF_1234_5678);
        Assert.Equal(StopKind.StepDone, m.Step().Kind);
        Assert.Equal(0xFFFF_FFFF_1234_5678UL, m.ReadRegister(Register.Rax));
        Guest.RunToHalt(m);
        Assert.Equal(0x1234_5678UL, m.ReadRegister(Register.Rax));
    }

    [Fact]
    public void Xchg_with_REX_B_and_0x90_exchanges_r8_with_rax()
    {
        var m = Guest.Long(a => { a.db([0x49, 0x90]); a.hlt(); }); // xchg r8, rax
        m.WriteRegister(Register.Rax, 1);
        m.WriteRegister(Register.R8, 2);
        Guest.RunToHalt(m);
        Assert.Equal(2UL, m.ReadRegister(Register.Rax));
        Assert.Equal(1UL, m.ReadRegister(Register.R8));
    }

    [Fact]
    public void Xchg_of_byte_registers_swaps_AL_and_AH()
    {
        var m = Guest.Long(a => { a.xchg(al, ah); a.hlt(); });
        m.WriteRegister(Register.Rax, 0xFFFF_0000_0000_1234);
        Guest.RunToHalt(m);
        Assert.Equal(0xFFFF_0000_0000_3412UL, m.ReadRegister(Register.Rax));
    }

    [Fact]
    public void Xchg_with_memory_swaps_both_ways()
    {
        var m = Guest.Protected(a => { a.xchg(__word_ptr[ebx], cx); a.hlt(); });
        m.Bus.Write(Guest.Data, 4, 0xAAAA_BBBB);
        m.WriteRegister(Register.Rbx, Guest.Data);
        m.WriteRegister(Register.Rcx, 0x1111_2222);
        Guest.RunToHalt(m);
        Assert.Equal(0xAAAA_2222UL, m.Bus.Read(Guest.Data, 4));
        Assert.Equal(0x1111_BBBBUL, m.ReadRegister(Register.Rcx));
    }

    [Fact]
    public void Xchg_with_a_read_only_memory_operand_faults_with_the_register_unchanged()
    {
        var m = Guest.Protected(a => { a.xchg(__dword_ptr[ebx], ecx); a.hlt(); });
        Guest.MakeDataSegmentReadOnly(m);
        m.Bus.Write(Guest.Data, 4, 0xAAAA_BBBB);
        m.WriteRegister(Register.Rbx, Guest.Data);
        m.WriteRegister(Register.Rcx, 0x1111_2222);
        Expect.FaultAtFirstInstruction(m, Vector.GP, 0);
        Assert.Equal(0xAAAA_BBBBUL, m.Bus.Read(Guest.Data, 4));
        Assert.Equal(0x1111_2222UL, m.ReadRegister(Register.Rcx));
    }

    [Fact]
    public void Bswap_of_a_16_bit_register_clears_its_low_word_and_a_32_bit_one_zero_extends()
    {
        var m = Guest.Long(a => { a.db([0x66, 0x0F, 0xC8]); a.bswap(ecx); a.bswap(rdx); a.hlt(); }); // bswap ax
        m.WriteRegister(Register.Rax, 0x1122_3344_5566_7788);
        m.WriteRegister(Register.Rcx, 0x1122_3344_5566_7788);
        m.WriteRegister(Register.Rdx, 0x1122_3344_5566_7788);
        Guest.RunToHalt(m);
        Assert.Equal(0x1122_3344_5566_0000UL, m.ReadRegister(Register.Rax));
        Assert.Equal(0x8877_6655UL, m.ReadRegister(Register.Rcx));
        Assert.Equal(0x8877_6655_4433_2211UL, m.ReadRegister(Register.Rdx));
    }

    [Fact]
    public void Movbe_loads_and_stores_with_the_bytes_reversed()
    {
        var m = Guest.Long(a => { a.movbe(ax, __word_ptr[rbx]); a.movbe(__qword_ptr[rbx + 8], rcx); a.hlt(); });
        m.Bus.Write(Guest.Data, 2, 0x1234);
        m.WriteRegister(Register.Rax, 0xFFFF_FFFF_FFFF_FFFF);
        m.WriteRegister(Register.Rbx, Guest.Data);
        m.WriteRegister(Register.Rcx, 0x0102_0304_0506_0708);
        Guest.RunToHalt(m);
        Assert.Equal(0xFFFF_FFFF_FFFF_3412UL, m.ReadRegister(Register.Rax));
        Assert.Equal(0x0807_0605_0403_0201UL, m.Bus.Read(Guest.Data + 8, 8));
    }

    [Fact]
    public void Movbe_store_to_a_read_only_segment_faults_without_writing()
    {
        var m = Guest.Protected(a => { a.movbe(__dword_ptr[ebx], ecx); a.hlt(); });
        Guest.MakeDataSegmentReadOnly(m);
        m.WriteRegister(Register.Rbx, Guest.Data);
        m.WriteRegister(Register.Rcx, 0x0102_0304);
        Expect.FaultAtFirstInstruction(m, Vector.GP, 0);
        Assert.Equal(0UL, m.Bus.Read(Guest.Data, 4));
    }

    [Fact]
    public void Movbe_between_registers_is_an_invalid_opcode()
    {
        var m = Guest.Long(a => { a.db([0x0F, 0x38, 0xF0, 0xC1]); a.hlt(); });
        Expect.FaultAtFirstInstruction(m, Vector.UD, errorCode: null);
    }

    [Fact]
    public void Movsxd_sign_extends_with_REX_W_and_is_a_plain_move_without_it()
    {
        var m = Guest.Long(a =>
        {
            a.movsxd(rax, ecx);
            a.db([0x63, 0xD1]);       // movsxd edx, ecx
            a.db([0x66, 0x63, 0xF1]); // movsxd si, cx
            a.hlt();
        });
        m.WriteRegister(Register.Rcx, 0x0000_0000_8000_8000);
        m.WriteRegister(Register.Rdx, ulong.MaxValue);
        m.WriteRegister(Register.Rsi, ulong.MaxValue);
        Guest.RunToHalt(m);
        Assert.Equal(0xFFFF_FFFF_8000_8000UL, m.ReadRegister(Register.Rax));
        Assert.Equal(0x8000_8000UL, m.ReadRegister(Register.Rdx));
        Assert.Equal(0xFFFF_FFFF_FFFF_8000UL, m.ReadRegister(Register.Rsi));
    }

    [Fact]
    public void Movsx_and_movzx_extend_bytes_and_words_in_32_bit_code()
    {
        var m = Guest.Protected(a =>
        {
            a.movsx(ecx, ah);
            a.movzx(edx, ah);
            a.movsx(si, __byte_ptr[ebx]);
            a.movzx(edi, __word_ptr[ebx]);
            a.hlt();
        });
        m.Bus.Write(Guest.Data, 2, 0x80FE);
        m.WriteRegister(Register.Rax, 0x9000);
        m.WriteRegister(Register.Rbx, Guest.Data);
        m.WriteRegister(Register.Rsi, 0x1234_5678);
        Guest.RunToHalt(m);
        Assert.Equal(0xFFFF_FF90UL, m.ReadRegister(Register.Rcx));
        Assert.Equal(0x90UL, m.ReadRegister(Register.Rdx));
        Assert.Equal(0x1234_FFFEUL, m.ReadRegister(Register.Rsi));
        Assert.Equal(0x80FEUL, m.ReadRegister(Register.Rdi));
    }

    [Fact]
    public void Sahf_loads_five_flags_from_AH_keeping_OF_and_lahf_reads_them_back_in_64_bit_mode()
    {
        var m = Guest.Long(a => { a.sahf(); a.mov(ah, 0); a.lahf(); a.hlt(); });
        m.State.Rflags = (ulong)RflagsBit.OF;
        m.WriteRegister(Register.Rax, 0xFF00);
        Guest.RunToHalt(m);
        Assert.Equal((ulong)(RflagsBit.OF | RflagsBit.SF | RflagsBit.ZF | RflagsBit.AF | RflagsBit.PF | RflagsBit.CF),
            m.State.Rflags & Guest.ArithmeticFlags);
        Assert.Equal(0xD700UL, m.ReadRegister(Register.Rax));
    }
}
