using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Repl.Machine.Tests.Cpu;

public class DataMovementTests
{
    const ulong Data = 0x20_0000;
    const ulong NonCanonical = 0x8000_0000_0000_0000;
    const ulong Arithmetic = (ulong)RflagsBit.Arithmetic;

    static void RunToHlt(Machine m) => Assert.Equal(StopKind.Halted, m.Run(1000).Kind);

    /// <summary>Runs a program whose first instruction must fault, and checks it stopped there.</summary>
    static void AssertFaultsAtFirstInstruction(Machine m, Vector vector, uint? errorCode = 0)
    {
        var stop = m.Run(1000);
        Assert.Equal(StopKind.Fault, stop.Kind);
        Assert.Equal(vector, stop.Vector);
        Assert.Equal(errorCode, stop.ErrorCode);
        Assert.Equal(Guest.CodeAddress, stop.Rip);
    }

    static ref ulong Gpr(Machine m, Gpr r) => ref m.State.Gpr[(int)r];

    static void MakeDataSegmentReadOnly(Machine m) =>
        m.State.Segments[(int)SegmentRegister.Ds].Attributes &= unchecked((ushort)~SegmentCache.AttrWritable);

    [Fact]
    public void Cmov_with_a_false_condition_still_zero_extends_a_32_bit_destination()
    {
        var m = Guest.Long(a => { a.cmove(eax, ecx); a.hlt(); });
        m.State.Rflags = 0; // ZF clear: no move
        Gpr(m, Repl.Machine.Gpr.Rax) = 0xFFFF_FFFF_1234_5678;
        Gpr(m, Repl.Machine.Gpr.Rcx) = 0x9999;
        RunToHlt(m);
        Assert.Equal(0x1234_5678UL, Gpr(m, Repl.Machine.Gpr.Rax));
    }

    [Fact]
    public void Cmov_with_a_false_condition_leaves_16_and_64_bit_destinations_whole()
    {
        var m = Guest.Long(a => { a.cmovne(ax, cx); a.cmovne(rdx, rcx); a.hlt(); });
        m.State.Rflags = (ulong)RflagsBit.ZF;
        Gpr(m, Repl.Machine.Gpr.Rax) = 0xFFFF_FFFF_1234_5678;
        Gpr(m, Repl.Machine.Gpr.Rdx) = 0xAAAA_BBBB_CCCC_DDDD;
        RunToHlt(m);
        Assert.Equal(0xFFFF_FFFF_1234_5678UL, Gpr(m, Repl.Machine.Gpr.Rax));
        Assert.Equal(0xAAAA_BBBB_CCCC_DDDDUL, Gpr(m, Repl.Machine.Gpr.Rdx));
    }

    [Fact]
    public void Cmov_with_a_false_condition_still_reads_its_memory_source_and_faults_before_zero_extending()
    {
        var m = Guest.Long(a => { a.cmove(eax, __dword_ptr[rbx]); a.hlt(); });
        m.State.Rflags = 0;
        Gpr(m, Repl.Machine.Gpr.Rax) = 0xFFFF_FFFF_1234_5678;
        Gpr(m, Repl.Machine.Gpr.Rbx) = NonCanonical;
        AssertFaultsAtFirstInstruction(m, Vector.GP);
        Assert.Equal(0xFFFF_FFFF_1234_5678UL, Gpr(m, Repl.Machine.Gpr.Rax));
    }

    [Fact]
    public void Cmov_in_32_bit_code_moves_from_memory_when_the_condition_holds()
    {
        var m = Guest.Protected(a => { a.cmp(ecx, 5); a.cmovl(ax, __word_ptr[ebx]); a.hlt(); });
        m.Bus.Write(Data, 4, 0xBEEF_CAFE);
        Gpr(m, Repl.Machine.Gpr.Rax) = 0x1111_2222;
        Gpr(m, Repl.Machine.Gpr.Rbx) = Data;
        Gpr(m, Repl.Machine.Gpr.Rcx) = unchecked((uint)-1);
        RunToHlt(m);
        Assert.Equal(0x1111_CAFEUL, Gpr(m, Repl.Machine.Gpr.Rax));
    }

    [Fact]
    public void Setcc_writes_a_byte_of_memory_in_32_bit_code()
    {
        var m = Guest.Protected(a => { a.setb(__byte_ptr[ebx]); a.setae(__byte_ptr[ebx + 1]); a.hlt(); });
        m.Bus.Write(Data, 4, 0xFFFF_FFFF);
        Gpr(m, Repl.Machine.Gpr.Rbx) = Data;
        m.State.Rflags |= (ulong)RflagsBit.CF;
        RunToHlt(m);
        Assert.Equal(0xFFFF_0001UL, m.Bus.Read(Data, 4));
    }

    [Fact]
    public void Setcc_to_a_read_only_segment_faults_without_writing()
    {
        var m = Guest.Protected(a => { a.sete(__byte_ptr[ebx]); a.hlt(); });
        MakeDataSegmentReadOnly(m);
        Gpr(m, Repl.Machine.Gpr.Rbx) = Data;
        AssertFaultsAtFirstInstruction(m, Vector.GP);
        Assert.Equal(0UL, m.Bus.Read(Data, 1));
    }

    [Fact]
    public void Xlat_indexes_with_AL_unsigned_and_honours_a_segment_override()
    {
        var m = Guest.Long(a => { a.db([0x64, 0xD7]); a.hlt(); }); // xlat fs:[rbx]
        m.State.Segments[(int)SegmentRegister.Fs].Base = 0x30_0000;
        m.Bus.Write(0x30_0180, 1, 0x5A);
        Gpr(m, Repl.Machine.Gpr.Rbx) = 0x100;
        Gpr(m, Repl.Machine.Gpr.Rax) = 0xFFFF_FFFF_FFFF_FF80; // AL = 0x80 adds 128, not -128 nor all of RAX
        RunToHlt(m);
        Assert.Equal(0xFFFF_FFFF_FFFF_FF5AUL, Gpr(m, Repl.Machine.Gpr.Rax));
    }

    [Fact]
    public void Xlat_with_an_address_size_prefix_in_32_bit_code_uses_BX_and_the_DS_base()
    {
        var m = Guest.Protected(a => { a.db([0x67, 0xD7]); a.hlt(); }); // xlat [bx]
        m.State.Segments[(int)SegmentRegister.Ds].Base = Data;
        m.Bus.Write(Data + 0x110, 1, 0x77);
        Gpr(m, Repl.Machine.Gpr.Rbx) = 0x0002_0100;
        Gpr(m, Repl.Machine.Gpr.Rax) = 0x1234_5610;
        RunToHlt(m);
        Assert.Equal(0x1234_5677UL, Gpr(m, Repl.Machine.Gpr.Rax));
    }

    [Fact]
    public void Xlat_in_32_bit_code_faults_past_the_overriding_segment_limit()
    {
        var m = Guest.Protected(a => { a.db([0x26, 0xD7]); a.hlt(); }); // xlat es:[ebx]
        m.State.Segments[(int)SegmentRegister.Es].Limit = 0xFF;
        Gpr(m, Repl.Machine.Gpr.Rbx) = 0xF0;
        Gpr(m, Repl.Machine.Gpr.Rax) = 0x20;
        AssertFaultsAtFirstInstruction(m, Vector.GP);
        Assert.Equal(0x20UL, Gpr(m, Repl.Machine.Gpr.Rax));
    }

    [Fact]
    public void Xchg_eax_eax_encoded_87_C0_zero_extends_RAX_but_90_is_a_nop()
    {
        var m = Guest.Long(a => { a.db([0x90, 0x87, 0xC0]); a.hlt(); });
        Gpr(m, Repl.Machine.Gpr.Rax) = 0xFFFF_FFFF_1234_5678;
        Assert.Equal(StopKind.StepDone, m.Step().Kind);
        Assert.Equal(0xFFFF_FFFF_1234_5678UL, Gpr(m, Repl.Machine.Gpr.Rax));
        RunToHlt(m);
        Assert.Equal(0x1234_5678UL, Gpr(m, Repl.Machine.Gpr.Rax));
    }

    [Fact]
    public void Xchg_with_REX_B_and_0x90_exchanges_r8_with_rax()
    {
        var m = Guest.Long(a => { a.db([0x49, 0x90]); a.hlt(); }); // xchg r8, rax
        Gpr(m, Repl.Machine.Gpr.Rax) = 1;
        Gpr(m, Repl.Machine.Gpr.R8) = 2;
        RunToHlt(m);
        Assert.Equal(2UL, Gpr(m, Repl.Machine.Gpr.Rax));
        Assert.Equal(1UL, Gpr(m, Repl.Machine.Gpr.R8));
    }

    [Fact]
    public void Xchg_of_byte_registers_swaps_AL_and_AH()
    {
        var m = Guest.Long(a => { a.xchg(al, ah); a.hlt(); });
        Gpr(m, Repl.Machine.Gpr.Rax) = 0xFFFF_0000_0000_1234;
        RunToHlt(m);
        Assert.Equal(0xFFFF_0000_0000_3412UL, Gpr(m, Repl.Machine.Gpr.Rax));
    }

    [Fact]
    public void Xchg_with_memory_swaps_both_ways()
    {
        var m = Guest.Protected(a => { a.xchg(__word_ptr[ebx], cx); a.hlt(); });
        m.Bus.Write(Data, 4, 0xAAAA_BBBB);
        Gpr(m, Repl.Machine.Gpr.Rbx) = Data;
        Gpr(m, Repl.Machine.Gpr.Rcx) = 0x1111_2222;
        RunToHlt(m);
        Assert.Equal(0xAAAA_2222UL, m.Bus.Read(Data, 4));
        Assert.Equal(0x1111_BBBBUL, Gpr(m, Repl.Machine.Gpr.Rcx));
    }

    [Fact]
    public void Xchg_with_a_read_only_memory_operand_faults_with_the_register_unchanged()
    {
        var m = Guest.Protected(a => { a.xchg(__dword_ptr[ebx], ecx); a.hlt(); });
        MakeDataSegmentReadOnly(m);
        m.Bus.Write(Data, 4, 0xAAAA_BBBB);
        Gpr(m, Repl.Machine.Gpr.Rbx) = Data;
        Gpr(m, Repl.Machine.Gpr.Rcx) = 0x1111_2222;
        AssertFaultsAtFirstInstruction(m, Vector.GP);
        Assert.Equal(0xAAAA_BBBBUL, m.Bus.Read(Data, 4));
        Assert.Equal(0x1111_2222UL, Gpr(m, Repl.Machine.Gpr.Rcx));
    }

    [Fact]
    public void Bswap_of_a_16_bit_register_clears_its_low_word_and_a_32_bit_one_zero_extends()
    {
        var m = Guest.Long(a => { a.db([0x66, 0x0F, 0xC8]); a.bswap(ecx); a.bswap(rdx); a.hlt(); }); // bswap ax
        Gpr(m, Repl.Machine.Gpr.Rax) = 0x1122_3344_5566_7788;
        Gpr(m, Repl.Machine.Gpr.Rcx) = 0x1122_3344_5566_7788;
        Gpr(m, Repl.Machine.Gpr.Rdx) = 0x1122_3344_5566_7788;
        RunToHlt(m);
        Assert.Equal(0x1122_3344_5566_0000UL, Gpr(m, Repl.Machine.Gpr.Rax));
        Assert.Equal(0x8877_6655UL, Gpr(m, Repl.Machine.Gpr.Rcx));
        Assert.Equal(0x8877_6655_4433_2211UL, Gpr(m, Repl.Machine.Gpr.Rdx));
    }

    [Fact]
    public void Movbe_loads_and_stores_with_the_bytes_reversed()
    {
        var m = Guest.Long(a => { a.movbe(ax, __word_ptr[rbx]); a.movbe(__qword_ptr[rbx + 8], rcx); a.hlt(); });
        m.Bus.Write(Data, 2, 0x1234);
        Gpr(m, Repl.Machine.Gpr.Rax) = 0xFFFF_FFFF_FFFF_FFFF;
        Gpr(m, Repl.Machine.Gpr.Rbx) = Data;
        Gpr(m, Repl.Machine.Gpr.Rcx) = 0x0102_0304_0506_0708;
        RunToHlt(m);
        Assert.Equal(0xFFFF_FFFF_FFFF_3412UL, Gpr(m, Repl.Machine.Gpr.Rax));
        Assert.Equal(0x0807_0605_0403_0201UL, m.Bus.Read(Data + 8, 8));
    }

    [Fact]
    public void Movbe_store_to_a_read_only_segment_faults_without_writing()
    {
        var m = Guest.Protected(a => { a.movbe(__dword_ptr[ebx], ecx); a.hlt(); });
        MakeDataSegmentReadOnly(m);
        Gpr(m, Repl.Machine.Gpr.Rbx) = Data;
        Gpr(m, Repl.Machine.Gpr.Rcx) = 0x0102_0304;
        AssertFaultsAtFirstInstruction(m, Vector.GP);
        Assert.Equal(0UL, m.Bus.Read(Data, 4));
    }

    [Fact]
    public void Movbe_between_registers_is_an_invalid_opcode()
    {
        var m = Guest.Long(a => { a.db([0x0F, 0x38, 0xF0, 0xC1]); a.hlt(); });
        AssertFaultsAtFirstInstruction(m, Vector.UD, null);
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
        Gpr(m, Repl.Machine.Gpr.Rcx) = 0x0000_0000_8000_8000;
        Gpr(m, Repl.Machine.Gpr.Rdx) = ulong.MaxValue;
        Gpr(m, Repl.Machine.Gpr.Rsi) = ulong.MaxValue;
        RunToHlt(m);
        Assert.Equal(0xFFFF_FFFF_8000_8000UL, Gpr(m, Repl.Machine.Gpr.Rax));
        Assert.Equal(0x8000_8000UL, Gpr(m, Repl.Machine.Gpr.Rdx));
        Assert.Equal(0xFFFF_FFFF_FFFF_8000UL, Gpr(m, Repl.Machine.Gpr.Rsi));
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
        m.Bus.Write(Data, 2, 0x80FE);
        Gpr(m, Repl.Machine.Gpr.Rax) = 0x9000;
        Gpr(m, Repl.Machine.Gpr.Rbx) = Data;
        Gpr(m, Repl.Machine.Gpr.Rsi) = 0x1234_5678;
        RunToHlt(m);
        Assert.Equal(0xFFFF_FF90UL, Gpr(m, Repl.Machine.Gpr.Rcx));
        Assert.Equal(0x90UL, Gpr(m, Repl.Machine.Gpr.Rdx));
        Assert.Equal(0x1234_FFFEUL, Gpr(m, Repl.Machine.Gpr.Rsi));
        Assert.Equal(0x80FEUL, Gpr(m, Repl.Machine.Gpr.Rdi));
    }

    [Fact]
    public void Sahf_loads_five_flags_from_AH_keeping_OF_and_lahf_reads_them_back_in_64_bit_mode()
    {
        var m = Guest.Long(a => { a.sahf(); a.mov(ah, 0); a.lahf(); a.hlt(); });
        m.State.Rflags = (ulong)RflagsBit.OF;
        Gpr(m, Repl.Machine.Gpr.Rax) = 0xFF00;
        RunToHlt(m);
        Assert.Equal((ulong)(RflagsBit.OF | RflagsBit.SF | RflagsBit.ZF | RflagsBit.AF | RflagsBit.PF | RflagsBit.CF),
            m.State.Rflags & Arithmetic);
        Assert.Equal(0xD700UL, Gpr(m, Repl.Machine.Gpr.Rax));
    }
}
