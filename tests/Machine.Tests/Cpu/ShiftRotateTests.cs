using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Repl.Machine.Tests.Cpu;

/// <summary>Shifts and rotates: count masking, the count-of-zero rule, rotation through CF modulo 9 and 17,
/// memory forms in both modes, and the documented choices for undefined results.</summary>
public class ShiftRotateTests
{
    [Theory]
    [InlineData("shl eax, cl", 1UL, 33UL, 2UL)]                      // a 32-bit count is masked to 5 bits: 33 is 1
    [InlineData("shr rax, cl", 0x8000_0000_0000_0000UL, 0x7FUL, 1UL)] // a 64-bit count is masked to 6 bits: 0x7F is 63
    public void A_shift_count_is_masked_to_5_bits_or_to_6_bits_for_a_64_bit_operand(string instruction, ulong value, ulong count, ulong expected)
    {
        Action<Assembler> shift = instruction switch
        {
            "shl eax, cl" => a => a.shl(eax, cl),
            "shr rax, cl" => a => a.shr(rax, cl),
            _ => throw new ArgumentException(instruction),
        };
        var m = Guest.Long(a => { shift(a); a.hlt(); });
        m.WriteRegister(Register.Rax, value);
        m.WriteRegister(Register.Rcx, count);
        Guest.RunToHalt(m);
        Assert.Equal(expected, m.ReadRegister(Register.Rax));
    }

    [Fact]
    public void A_masked_count_of_zero_changes_no_flags_but_still_zero_extends_a_32_bit_register()
    {
        var m = Guest.Long(a => { a.rcl(eax, cl); a.shl(edx, 32); a.hlt(); });
        m.WriteRegister(Register.Rax, 0xDEAD_BEEF_1234_5678);
        m.WriteRegister(Register.Rdx, 0xDEAD_BEEF_8765_4321);
        m.WriteRegister(Register.Rcx, 0x20);
        m.State.Rflags = 0x2 | Guest.ArithmeticFlags;
        Guest.RunToHalt(m);
        Assert.Equal(0x1234_5678UL, m.ReadRegister(Register.Rax));
        Assert.Equal(0x8765_4321UL, m.ReadRegister(Register.Rdx));
        Assert.Equal(Guest.ArithmeticFlags, m.State.Rflags & Guest.ArithmeticFlags);
    }

    [Fact]
    public void A_shift_by_zero_of_read_only_memory_still_faults()
    {
        var m = Guest.Protected(a => { a.shl(__dword_ptr[ebx], cl); a.hlt(); });
        Guest.MakeDataSegmentReadOnly(m);
        m.WriteRegister(Register.Rbx, Guest.Data);
        m.WriteRegister(Register.Rcx, 0);
        Expect.FaultAtFirstInstruction(m, Vector.GP, 0);
    }

    [Fact]
    public void Rcl_of_a_byte_by_9_rotates_through_cf_all_the_way_round()
    {
        var m = Guest.Long(a => { a.rcl(al, 9); a.hlt(); });
        m.WriteRegister(Register.Rax, 0x41);
        m.State.Rflags = 0x2 | (ulong)RflagsBit.CF;
        Guest.RunToHalt(m);
        Assert.Equal(0x41UL, m.ReadRegister(Register.Rax));
        Assert.True(m.State.CF);
    }

    [Fact]
    public void Rcr_of_a_word_takes_its_count_modulo_17()
    {
        // 18 mod 17 = 1: CF (set) enters at bit 15 and bit 0 leaves into CF.
        var m = Guest.Long(a => { a.rcr(cx, 18); a.hlt(); });
        m.WriteRegister(Register.Rcx, 0xFFFF_0000_0000_0002);
        m.State.Rflags = 0x2 | (ulong)RflagsBit.CF;
        Guest.RunToHalt(m);
        Assert.Equal(0xFFFF_0000_0000_8001UL, m.ReadRegister(Register.Rcx));
        Assert.False(m.State.CF);
    }

    [Fact]
    public void Rol_of_a_byte_by_8_keeps_the_value_and_sets_cf_from_bit_0()
    {
        var m = Guest.Long(a => { a.rol(bl, 8); a.hlt(); });
        m.WriteRegister(Register.Rbx, 0x81);
        Guest.RunToHalt(m);
        Assert.Equal(0x81UL, m.ReadRegister(Register.Rbx));
        Assert.True(m.State.CF);
    }

    [Fact]
    public void Rotates_change_only_cf_and_of()
    {
        var m = Guest.Long(a => { a.ror(eax, 1); a.hlt(); });
        m.WriteRegister(Register.Rax, 1);
        m.State.Rflags = 0x2 | (ulong)(RflagsBit.ZF | RflagsBit.PF | RflagsBit.AF);
        Guest.RunToHalt(m);
        Assert.Equal(0x8000_0000UL, m.ReadRegister(Register.Rax));
        Assert.Equal((ulong)(RflagsBit.ZF | RflagsBit.PF | RflagsBit.AF | RflagsBit.CF | RflagsBit.OF), m.State.Rflags & Guest.ArithmeticFlags);
    }

    [Fact]
    public void Shl_by_one_of_memory_in_32_bit_code_sets_of_on_a_sign_change()
    {
        var m = Guest.Protected(a => { a.shl(__dword_ptr[Guest.Data], 1); a.hlt(); });
        m.Bus.Write(Guest.Data, 4, 0x4000_0000);
        Guest.RunToHalt(m);
        Assert.Equal(0x8000_0000UL, m.Bus.Read(Guest.Data, 4));
        Assert.True(m.State.OF);
        Assert.False(m.State.CF);
        Assert.True(m.State.SF);
    }

    [Fact]
    public void Sar_of_a_memory_qword_through_gs_copies_the_sign()
    {
        var m = Guest.Long(a => { a.sar(__qword_ptr.gs[rbx], 63); a.hlt(); });
        m.State.Segments[(int)SegmentRegister.Gs].Base = Guest.Data;
        m.WriteRegister(Register.Rbx, 8);
        m.Bus.Write(Guest.Data + 8, 8, 0x8000_0000_0000_0000);
        Guest.RunToHalt(m);
        Assert.Equal(ulong.MaxValue, m.Bus.Read(Guest.Data + 8, 8));
        Assert.False(m.State.CF); // the last bit out was bit 62
    }

    [Fact]
    public void Shr_of_a_byte_by_more_than_8_leaves_zero_and_clears_cf()
    {
        var m = Guest.Long(a => { a.shr(ah, cl); a.hlt(); });
        m.WriteRegister(Register.Rax, 0xFF00);
        m.WriteRegister(Register.Rcx, 9);
        Guest.RunToHalt(m);
        Assert.Equal(0UL, m.ReadRegister(Register.Rax));
        Assert.False(m.State.CF);
        Assert.True(m.State.ZF);
    }

    [Fact]
    public void Shld_and_shrd_of_memory_with_cl_and_imm8()
    {
        var m = Guest.Long(a =>
        {
            a.shld(__qword_ptr[rdi], rsi, cl);
            a.shrd(__dword_ptr[rdi + 8], esi, 4);
            a.hlt();
        });
        m.WriteRegister(Register.Rdi, Guest.Data);
        m.WriteRegister(Register.Rsi, 0xF000_0000_0000_000F);
        m.WriteRegister(Register.Rcx, 4);
        m.Bus.Write(Guest.Data, 8, 0x0123_4567_89AB_CDEF);
        m.Bus.Write(Guest.Data + 8, 8, 0x1111_1111_8765_4321);
        Guest.RunToHalt(m);
        Assert.Equal(0x1234_5678_9ABC_DEFFUL, m.Bus.Read(Guest.Data, 8));
        Assert.Equal(0x1111_1111_F876_5432UL, m.Bus.Read(Guest.Data + 8, 8));
    }

    [Fact]
    public void Sixteen_bit_shld_past_16_rotates_the_source_as_documented()
    {
        // Undefined in the manuals; the machine rotates the source by count - 16 and clears CF.
        var m = Guest.Protected(a => { a.shld(ax, dx, 17); a.shrd(bx, dx, 24); a.hlt(); });
        m.WriteRegister(Register.Rax, 0x1234);
        m.WriteRegister(Register.Rbx, 0x1234);
        m.WriteRegister(Register.Rdx, 0xABCD);
        Guest.RunToHalt(m);
        Assert.Equal(0x579BUL, m.ReadRegister(Register.Rax));
        Assert.Equal(0xCDABUL, m.ReadRegister(Register.Rbx));
        Assert.False(m.State.CF);
    }

    [Fact]
    public void Sixteen_bit_shld_by_exactly_16_gives_the_source()
    {
        var m = Guest.Long(a => { a.shld(ax, dx, cl); a.hlt(); });
        m.WriteRegister(Register.Rax, 0xFFFF_0000_0000_1235);
        m.WriteRegister(Register.Rdx, 0xABCD);
        m.WriteRegister(Register.Rcx, 16);
        Guest.RunToHalt(m);
        Assert.Equal(0xFFFF_0000_0000_ABCDUL, m.ReadRegister(Register.Rax));
        Assert.True(m.State.CF); // the last bit out is bit 0 of the destination
    }

    [Fact]
    public void Sal_is_shl()
    {
        // C0 /6 decodes as SAL; it must not fall through to #UD.
        var m = Guest.FromBytes(64, 0xC0, 0xF0, 0x03, 0xF4); // sal al, 3; hlt
        m.WriteRegister(Register.Rax, 0x21);
        Guest.RunToHalt(m);
        Assert.Equal(0x08UL, m.ReadRegister(Register.Rax));
        Assert.True(m.State.CF);
    }
}
