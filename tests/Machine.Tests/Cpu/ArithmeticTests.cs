using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Repl.Machine.Tests.Cpu;

/// <summary>MUL, IMUL, DIV, IDIV, sign extensions, XADD and the compare-exchanges: faults and their lack of partial
/// effect, 32-bit code, memory forms and prefixes, and the register-width rules of CMPXCHG.</summary>
public class ArithmeticTests
{
    [Fact]
    public void Div_by_zero_raises_DE_with_no_state_change()
    {
        var m = Guest.Long(a => { a.div(rcx); a.hlt(); });
        m.WriteRegister(Register.Rax, 0x1234);
        m.WriteRegister(Register.Rdx, 0x5678);
        m.WriteRegister(Register.Rcx, 0);
        m.State.Rflags = 0x8D5 | 0x2;
        Expect.FaultWithoutEffect(m, Vector.DE, errorCode: null);
    }

    [Fact]
    public void Div_by_a_zero_memory_byte_raises_DE()
    {
        var m = Guest.Long(a => { a.div(__byte_ptr[rbx]); a.hlt(); });
        m.WriteRegister(Register.Rbx, Guest.Data);
        m.WriteRegister(Register.Rax, 0x0100);
        Expect.FaultWithoutEffect(m, Vector.DE, errorCode: null);
    }

    [Theory]
    [InlineData(64, "div ecx", 1UL, 0UL, 1UL)]                                            // EDX:EAX = 0x1_0000_0000 / 1 needs a 33-bit quotient
    [InlineData(64, "idiv rcx", ulong.MaxValue, 0x8000_0000_0000_0000UL, ulong.MaxValue)] // the most negative 64-bit value / -1
    [InlineData(32, "idiv cl", 0UL, 0xFF80UL, 0xFFUL)]                                    // -128 / -1, in 32-bit code
    public void A_division_whose_quotient_does_not_fit_raises_DE_with_no_state_change(int bitness, string instruction, ulong rdxValue, ulong raxValue, ulong rcxValue)
    {
        Action<Assembler> divide = instruction switch
        {
            "div ecx" => a => a.div(ecx),
            "idiv rcx" => a => a.idiv(rcx),
            "idiv cl" => a => a.idiv(cl),
            _ => throw new ArgumentException(instruction),
        };
        var m = Guest.Create(bitness, a => { divide(a); a.hlt(); });
        m.WriteRegister(Register.Rdx, rdxValue);
        m.WriteRegister(Register.Rax, raxValue);
        m.WriteRegister(Register.Rcx, rcxValue);
        Expect.FaultWithoutEffect(m, Vector.DE, errorCode: null);
    }

    [Fact]
    public void Idiv_can_produce_the_most_negative_quotient()
    {
        // -2^31 / 1 fits; the limit is asymmetric.
        var m = Guest.Long(a => { a.idiv(ecx); a.hlt(); });
        m.WriteRegister(Register.Rdx, 0xFFFF_FFFF);
        m.WriteRegister(Register.Rax, 0x8000_0000);
        m.WriteRegister(Register.Rcx, 1);
        Guest.RunToHalt(m);
        Assert.Equal(0x8000_0000UL, m.ReadRegister(Register.Rax));
        Assert.Equal(0UL, m.ReadRegister(Register.Rdx));
    }

    [Fact]
    public void Idiv_truncates_toward_zero_and_the_remainder_takes_the_dividends_sign()
    {
        var m = Guest.Long(a => { a.mov(rax, -7); a.cqo(); a.mov(rcx, 2); a.idiv(rcx); a.hlt(); });
        Guest.RunToHalt(m);
        Assert.Equal(unchecked((ulong)-3L), m.ReadRegister(Register.Rax));
        Assert.Equal(unchecked((ulong)-1L), m.ReadRegister(Register.Rdx));
    }

    [Fact]
    public void Div_of_a_128_bit_dividend_by_a_memory_qword_through_fs()
    {
        var m = Guest.Long(a => { a.div(__qword_ptr.fs[rbx]); a.hlt(); });
        m.State.Segments[(int)SegmentRegister.Fs].Base = Guest.Data - 0x100;
        m.WriteRegister(Register.Rbx, 0x100);
        m.Bus.Write(Guest.Data, 8, 0x1_0000_0000);
        m.WriteRegister(Register.Rdx, 0x1234); // dividend 0x1234_0000000000000005
        m.WriteRegister(Register.Rax, 5);
        Guest.RunToHalt(m);
        Assert.Equal(0x1234_0000_0000UL, m.ReadRegister(Register.Rax));
        Assert.Equal(5UL, m.ReadRegister(Register.Rdx));
    }

    [Fact]
    public void Div_in_32_bit_code_uses_edx_eax_and_a_memory_divisor()
    {
        var m = Guest.Protected(a =>
        {
            a.mov(__dword_ptr[Guest.Data], 10);
            a.mov(edx, 3);
            a.mov(eax, 7);
            a.div(__dword_ptr[Guest.Data]);
            a.hlt();
        });
        Guest.RunToHalt(m);
        ulong dividend = (3UL << 32) | 7;
        Assert.Equal(dividend / 10, m.ReadRegister(Register.Rax));
        Assert.Equal(dividend % 10, m.ReadRegister(Register.Rdx));
    }

    [Fact]
    public void Byte_div_puts_the_remainder_in_ah_and_leaves_the_rest_of_rax()
    {
        var m = Guest.Long(a => { a.div(cl); a.hlt(); });
        m.WriteRegister(Register.Rax, 0xAAAA_0000_0000_0000 | 100);
        m.WriteRegister(Register.Rcx, 7);
        Guest.RunToHalt(m);
        Assert.Equal(0xAAAA_0000_0000_0000UL | (2 << 8) | 14, m.ReadRegister(Register.Rax));
    }

    [Fact]
    public void Mul_of_32_bits_zero_extends_rax_and_rdx_and_sets_cf_of_when_edx_is_used()
    {
        var m = Guest.Long(a => { a.mul(ecx); a.hlt(); });
        m.WriteRegister(Register.Rax, 0xFFFF_FFFF_8000_0000);
        m.WriteRegister(Register.Rdx, 0xFFFF_FFFF_FFFF_FFFF);
        m.WriteRegister(Register.Rcx, 4);
        Guest.RunToHalt(m);
        Assert.Equal(0UL, m.ReadRegister(Register.Rax));
        Assert.Equal(2UL, m.ReadRegister(Register.Rdx));
        Assert.True(m.State.CF);
        Assert.True(m.State.OF);
    }

    [Fact]
    public void Mul_of_64_bits_gives_the_full_128_bit_product()
    {
        var m = Guest.Long(a => { a.mul(__qword_ptr[rbx]); a.hlt(); });
        m.WriteRegister(Register.Rbx, Guest.Data);
        m.Bus.Write(Guest.Data, 8, ulong.MaxValue);
        m.WriteRegister(Register.Rax, ulong.MaxValue);
        Guest.RunToHalt(m);
        Assert.Equal(1UL, m.ReadRegister(Register.Rax));
        Assert.Equal(ulong.MaxValue - 1, m.ReadRegister(Register.Rdx));
    }

    [Fact]
    public void Mul_and_imul_leave_sf_zf_af_pf_as_they_were()
    {
        var m = Guest.Long(a => { a.imul(eax, ecx); a.hlt(); });
        m.State.Rflags = 0x2 | (ulong)(RflagsBit.SF | RflagsBit.ZF | RflagsBit.AF | RflagsBit.PF);
        m.WriteRegister(Register.Rax, 3);
        m.WriteRegister(Register.Rcx, 5);
        Guest.RunToHalt(m);
        Assert.Equal(15UL, m.ReadRegister(Register.Rax));
        Assert.Equal((ulong)(RflagsBit.SF | RflagsBit.ZF | RflagsBit.AF | RflagsBit.PF), m.State.Rflags & Guest.ArithmeticFlags);
    }

    [Fact]
    public void Three_operand_imul_sign_extends_its_imm8_and_reads_memory()
    {
        var m = Guest.Long(a => { a.imul(rdx, __qword_ptr[rbx + 8], -3); a.hlt(); });
        m.WriteRegister(Register.Rbx, Guest.Data);
        m.Bus.Write(Guest.Data + 8, 8, 7);
        Guest.RunToHalt(m);
        Assert.Equal(unchecked((ulong)-21L), m.ReadRegister(Register.Rdx));
        Assert.False(m.State.CF);
    }

    [Fact]
    public void Sixteen_bit_imul_keeps_the_upper_bits_and_reports_signed_overflow()
    {
        var m = Guest.Long(a => { a.imul(ax, cx, 0x200); a.hlt(); });
        m.WriteRegister(Register.Rax, 0xDEAD_BEEF_0000_0000);
        m.WriteRegister(Register.Rcx, 0x100);
        Guest.RunToHalt(m);
        Assert.Equal(0xDEAD_BEEF_0000_0000UL, m.ReadRegister(Register.Rax)); // 0x100 * 0x200 = 0x20000 truncates to 0
        Assert.True(m.State.CF);
        Assert.True(m.State.OF);
    }

    [Fact]
    public void One_operand_imul_of_bytes_writes_ax()
    {
        var m = Guest.Protected(a => { a.imul(bl); a.hlt(); });
        m.WriteRegister(Register.Rax, 0x1234_00FF); // AL = -1
        m.WriteRegister(Register.Rbx, 0x80);        // BL = -128
        Guest.RunToHalt(m);
        Assert.Equal(0x1234_0080UL, m.ReadRegister(Register.Rax)); // AX = 128 needs more than AL
        Assert.True(m.State.CF);
    }

    [Theory]
    [InlineData(64, "cbw", 0xFFFF_FFFF_FFFF_0080UL, 0xFFFF_FFFF_FFFF_FF80UL, 0x1111_1111_1111_1111UL)]
    [InlineData(64, "cwde", 0xFFFF_FFFF_0000_8000UL, 0x0000_0000_FFFF_8000UL, 0x1111_1111_1111_1111UL)]
    [InlineData(64, "cdqe", 0x0000_0000_8000_0000UL, 0xFFFF_FFFF_8000_0000UL, 0x1111_1111_1111_1111UL)]
    [InlineData(64, "cwd", 0x8000UL, 0x8000UL, 0x1111_1111_1111_FFFFUL)]
    [InlineData(64, "cdq", 0x8000_0000UL, 0x8000_0000UL, 0xFFFF_FFFFUL)]
    [InlineData(64, "cqo", 0x8000_0000_0000_0000UL, 0x8000_0000_0000_0000UL, ulong.MaxValue)]
    [InlineData(32, "cwde", 0x7FFFUL, 0x7FFFUL, 0x1111_1111_1111_1111UL)]
    [InlineData(32, "cbw", 0x1234_5680UL, 0x1234_FF80UL, 0x1111_1111_1111_1111UL)]
    [InlineData(32, "cdq", 0x8000_0000UL, 0x8000_0000UL, 0xFFFF_FFFFUL)]
    public void Sign_extensions_of_the_accumulator(int bitness, string mnemonic, ulong rax, ulong expectedRax, ulong expectedRdx)
    {
        Action<Assembler> build = mnemonic switch
        {
            "cbw" => a => a.cbw(),
            "cwde" => a => a.cwde(),
            "cdqe" => a => a.cdqe(),
            "cwd" => a => a.cwd(),
            "cdq" => a => a.cdq(),
            _ => a => a.cqo(),
        };
        var m = Guest.Create(bitness, a => { build(a); a.hlt(); });
        m.WriteRegister(Register.Rax, rax);
        m.WriteRegister(Register.Rdx, 0x1111_1111_1111_1111);
        Guest.RunToHalt(m);
        Assert.Equal(expectedRax, m.ReadRegister(Register.Rax));
        Assert.Equal(expectedRdx, m.ReadRegister(Register.Rdx));
    }

    [Fact]
    public void Locked_xadd_on_memory_returns_the_old_value_and_stores_the_sum()
    {
        var m = Guest.Long(a => { a.@lock.xadd(__dword_ptr[rbx], ecx); a.hlt(); });
        m.WriteRegister(Register.Rbx, Guest.Data);
        m.Bus.Write(Guest.Data, 8, 0xAAAA_AAAA_FFFF_FFFF);
        m.WriteRegister(Register.Rcx, 0xFFFF_FFFF_0000_0002);
        Guest.RunToHalt(m);
        Assert.Equal(0xAAAA_AAAA_0000_0001UL, m.Bus.Read(Guest.Data, 8));
        Assert.Equal(0xFFFF_FFFFUL, m.ReadRegister(Register.Rcx));
        Assert.True(m.State.CF);
    }

    [Fact]
    public void Xadd_of_a_register_with_itself_leaves_the_sum()
    {
        var m = Guest.Long(a => { a.xadd(eax, eax); a.hlt(); });
        m.WriteRegister(Register.Rax, 21);
        Guest.RunToHalt(m);
        Assert.Equal(42UL, m.ReadRegister(Register.Rax));
    }

    [Fact]
    public void Cmpxchg_that_succeeds_writes_the_destination_and_leaves_all_of_rax()
    {
        var m = Guest.Long(a => { a.cmpxchg(ecx, edx); a.hlt(); });
        m.WriteRegister(Register.Rax, 0xAAAA_AAAA_0000_0005);
        m.WriteRegister(Register.Rcx, 0xCCCC_CCCC_0000_0005);
        m.WriteRegister(Register.Rdx, 0xDDDD_DDDD_0000_0007);
        Guest.RunToHalt(m);
        Assert.True(m.State.ZF);
        Assert.Equal(0xAAAA_AAAA_0000_0005UL, m.ReadRegister(Register.Rax));
        Assert.Equal(7UL, m.ReadRegister(Register.Rcx));
    }

    [Fact]
    public void Cmpxchg_that_fails_zero_extends_eax_and_leaves_a_register_destination_alone()
    {
        var m = Guest.Long(a => { a.cmpxchg(ecx, edx); a.hlt(); });
        m.WriteRegister(Register.Rax, 0xAAAA_AAAA_0000_0005);
        m.WriteRegister(Register.Rcx, 0xCCCC_CCCC_0000_0006);
        m.WriteRegister(Register.Rdx, 0xDDDD_DDDD_0000_0007);
        Guest.RunToHalt(m);
        Assert.False(m.State.ZF);
        Assert.True(m.State.CF); // CMP EAX, ECX: 5 - 6 borrows
        Assert.Equal(6UL, m.ReadRegister(Register.Rax));
        Assert.Equal(0xCCCC_CCCC_0000_0006UL, m.ReadRegister(Register.Rcx));
    }

    [Fact]
    public void Cmpxchg_on_memory_in_32_bit_code()
    {
        var m = Guest.Protected(a =>
        {
            a.mov(__dword_ptr[Guest.Data], 5);
            a.mov(eax, 5);
            a.mov(ecx, 9);
            a.@lock.cmpxchg(__dword_ptr[Guest.Data], ecx); // succeeds: memory = 9
            a.mov(edx, 1);
            a.cmpxchg(__dword_ptr[Guest.Data], edx);       // fails: EAX = 9
            a.hlt();
        });
        Guest.RunToHalt(m);
        Assert.Equal(9UL, m.Bus.Read(Guest.Data, 8) & 0xFFFF_FFFF);
        Assert.Equal(9UL, m.ReadRegister(Register.Rax));
        Assert.False(m.State.ZF);
    }

    [Fact]
    public void Cmpxchg_that_fails_still_needs_a_writable_destination()
    {
        // The destination always receives a write cycle, so a read-only data segment is #GP(0) even on failure.
        var m = Guest.Protected(a => { a.cmpxchg(__dword_ptr[ebx], ecx); a.hlt(); });
        Guest.MakeDataSegmentReadOnly(m);
        m.WriteRegister(Register.Rbx, Guest.Data);
        m.Bus.Write(Guest.Data, 4, 1);
        m.WriteRegister(Register.Rax, 2);
        Expect.FaultWithoutEffect(m, Vector.GP, 0);
    }

    [Fact]
    public void Cmpxchg8b_in_32_bit_code_succeeds_and_then_fails()
    {
        var m = Guest.Protected(a =>
        {
            a.cmpxchg8b(__qword_ptr[esi]); // EDX:EAX matches: memory = ECX:EBX
            a.mov(eax, 0);
            a.mov(edx, 0);
            a.@lock.cmpxchg8b(__qword_ptr[esi]); // mismatch: EDX:EAX = memory
            a.hlt();
        });
        m.WriteRegister(Register.Rsi, Guest.Data);
        m.Bus.Write(Guest.Data, 8, 0x1111_2222_3333_4444);
        m.WriteRegister(Register.Rdx, 0x1111_2222);
        m.WriteRegister(Register.Rax, 0x3333_4444);
        m.WriteRegister(Register.Rcx, 0x5555_6666);
        m.WriteRegister(Register.Rbx, 0x7777_8888);
        Guest.RunToHalt(m);
        Assert.Equal(0x5555_6666_7777_8888UL, m.Bus.Read(Guest.Data, 8));
        Assert.Equal(0x7777_8888UL, m.ReadRegister(Register.Rax));
        Assert.Equal(0x5555_6666UL, m.ReadRegister(Register.Rdx));
        Assert.False(m.State.ZF);
    }

    [Fact]
    public void Cmpxchg8b_that_fails_in_64_bit_mode_zero_extends_rax_and_rdx()
    {
        var m = Guest.Long(a => { a.cmpxchg8b(__qword_ptr[rsi]); a.hlt(); });
        m.WriteRegister(Register.Rsi, Guest.Data);
        m.Bus.Write(Guest.Data, 8, 0x0011_2233_4455_6677);
        m.WriteRegister(Register.Rax, 0xAAAA_AAAA_AAAA_AAAA);
        m.WriteRegister(Register.Rdx, 0xDDDD_DDDD_DDDD_DDDD);
        m.State.Rflags = 0x2 | (ulong)RflagsBit.CF;
        Guest.RunToHalt(m);
        Assert.Equal(0x4455_6677UL, m.ReadRegister(Register.Rax));
        Assert.Equal(0x0011_2233UL, m.ReadRegister(Register.Rdx));
        Assert.Equal((ulong)RflagsBit.CF, m.State.Rflags & Guest.ArithmeticFlags); // only ZF changes
    }

    [Fact]
    public void Cmpxchg16b_swaps_sixteen_aligned_bytes()
    {
        var m = Guest.Long(a => { a.@lock.cmpxchg16b(__xmmword_ptr[rdi]); a.hlt(); });
        m.WriteRegister(Register.Rdi, Guest.Data);
        m.Bus.Write(Guest.Data, 8, 1);
        m.Bus.Write(Guest.Data + 8, 8, 2);
        m.WriteRegister(Register.Rax, 1);
        m.WriteRegister(Register.Rdx, 2);
        m.WriteRegister(Register.Rbx, 0xB);
        m.WriteRegister(Register.Rcx, 0xC);
        Guest.RunToHalt(m);
        Assert.True(m.State.ZF);
        Assert.Equal(0xBUL, m.Bus.Read(Guest.Data, 8));
        Assert.Equal(0xCUL, m.Bus.Read(Guest.Data + 8, 8));
        Assert.Equal(1UL, m.ReadRegister(Register.Rax));
    }

    [Fact]
    public void Cmpxchg16b_on_a_misaligned_operand_raises_GP0_with_no_state_change()
    {
        var m = Guest.Long(a => { a.cmpxchg16b(__xmmword_ptr[rdi]); a.hlt(); });
        m.WriteRegister(Register.Rdi, Guest.Data + 8);
        m.Bus.Write(Guest.Data + 8, 8, 1);
        m.Bus.Write(Guest.Data + 16, 8, 2);
        m.WriteRegister(Register.Rax, 1);
        m.WriteRegister(Register.Rdx, 2);
        m.WriteRegister(Register.Rbx, 0xB);
        Expect.FaultWithoutEffect(m, Vector.GP, 0);
        Assert.Equal(1UL, m.Bus.Read(Guest.Data + 8, 8));
    }

    [Fact]
    public void Cmpxchg8b_with_a_register_operand_is_UD()
    {
        var m = Guest.FromBytes(64, 0x0F, 0xC7, 0xC8, 0xF4); // 0F C7 /1 with mod = 11, then HLT
        Expect.FaultWithoutEffect(m, Vector.UD, errorCode: null);
        Assert.Empty(m.Cpu.UnimplementedExecuted);
    }
}
