using static Iced.Intel.AssemblerRegisters;

namespace Repl.Machine.Tests.Cpu;

/// <summary>Shifts and rotates: count masking, the count-of-zero rule, rotation through CF modulo 9 and 17,
/// memory forms in both modes, and the documented choices for undefined results.</summary>
public class ShiftRotateTests
{
    const ulong Data = 0x20_0000;
    const ulong AllArithmetic = (ulong)RflagsBit.Arithmetic;

    static void Set(Machine m, Register r, ulong value) => m.WriteRegister(r, value);

    static ulong Get(Machine m, Register r) => m.ReadRegister(r);

    static void AssertHalts(Machine m) => Assert.Equal(StopKind.Halted, m.Run(100).Kind);

    [Fact]
    public void A_32_bit_shift_count_is_masked_to_5_bits()
    {
        var m = Guest.Long(a => { a.shl(eax, cl); a.hlt(); });
        Set(m, Register.Rax, 1);
        Set(m, Register.Rcx, 33);
        AssertHalts(m);
        Assert.Equal(2UL, Get(m, Register.Rax));
    }

    [Fact]
    public void A_64_bit_shift_count_is_masked_to_6_bits()
    {
        var m = Guest.Long(a => { a.shr(rax, cl); a.hlt(); });
        Set(m, Register.Rax, 0x8000_0000_0000_0000);
        Set(m, Register.Rcx, 0x7F);
        AssertHalts(m);
        Assert.Equal(1UL, Get(m, Register.Rax));
    }

    [Fact]
    public void A_masked_count_of_zero_changes_no_flags_but_still_zero_extends_a_32_bit_register()
    {
        var m = Guest.Long(a => { a.rcl(eax, cl); a.shl(edx, 32); a.hlt(); });
        Set(m, Register.Rax, 0xDEAD_BEEF_1234_5678);
        Set(m, Register.Rdx, 0xDEAD_BEEF_8765_4321);
        Set(m, Register.Rcx, 0x20);
        m.State.Rflags = 0x2 | AllArithmetic;
        AssertHalts(m);
        Assert.Equal(0x1234_5678UL, Get(m, Register.Rax));
        Assert.Equal(0x8765_4321UL, Get(m, Register.Rdx));
        Assert.Equal(AllArithmetic, m.State.Rflags & AllArithmetic);
    }

    [Fact]
    public void A_shift_by_zero_of_read_only_memory_still_faults()
    {
        var m = Guest.Protected(a => { a.shl(__dword_ptr[ebx], cl); a.hlt(); });
        m.State.Segments[(int)SegmentRegister.Ds].Attributes &= unchecked((ushort)~SegmentCache.AttrWritable);
        Set(m, Register.Rbx, Data);
        Set(m, Register.Rcx, 0);
        var stop = m.Run(10);
        Assert.Equal(StopKind.Fault, stop.Kind);
        Assert.Equal(Vector.GP, stop.Vector);
        Assert.Equal(0u, stop.ErrorCode);
        Assert.Equal(Guest.CodeAddress, stop.Rip);
    }

    [Fact]
    public void Rcl_of_a_byte_by_9_rotates_through_cf_all_the_way_round()
    {
        var m = Guest.Long(a => { a.rcl(al, 9); a.hlt(); });
        Set(m, Register.Rax, 0x41);
        m.State.Rflags = 0x2 | (ulong)RflagsBit.CF;
        AssertHalts(m);
        Assert.Equal(0x41UL, Get(m, Register.Rax));
        Assert.True(m.State.CF);
    }

    [Fact]
    public void Rcr_of_a_word_takes_its_count_modulo_17()
    {
        // 18 mod 17 = 1: CF (set) enters at bit 15 and bit 0 leaves into CF.
        var m = Guest.Long(a => { a.rcr(cx, 18); a.hlt(); });
        Set(m, Register.Rcx, 0xFFFF_0000_0000_0002);
        m.State.Rflags = 0x2 | (ulong)RflagsBit.CF;
        AssertHalts(m);
        Assert.Equal(0xFFFF_0000_0000_8001UL, Get(m, Register.Rcx));
        Assert.False(m.State.CF);
    }

    [Fact]
    public void Rol_of_a_byte_by_8_keeps_the_value_and_sets_cf_from_bit_0()
    {
        var m = Guest.Long(a => { a.rol(bl, 8); a.hlt(); });
        Set(m, Register.Rbx, 0x81);
        AssertHalts(m);
        Assert.Equal(0x81UL, Get(m, Register.Rbx));
        Assert.True(m.State.CF);
    }

    [Fact]
    public void Rotates_change_only_cf_and_of()
    {
        var m = Guest.Long(a => { a.ror(eax, 1); a.hlt(); });
        Set(m, Register.Rax, 1);
        m.State.Rflags = 0x2 | (ulong)(RflagsBit.ZF | RflagsBit.PF | RflagsBit.AF);
        AssertHalts(m);
        Assert.Equal(0x8000_0000UL, Get(m, Register.Rax));
        Assert.Equal((ulong)(RflagsBit.ZF | RflagsBit.PF | RflagsBit.AF | RflagsBit.CF | RflagsBit.OF), m.State.Rflags & AllArithmetic);
    }

    [Fact]
    public void Shl_by_one_of_memory_in_32_bit_code_sets_of_on_a_sign_change()
    {
        var m = Guest.Protected(a => { a.shl(__dword_ptr[Data], 1); a.hlt(); });
        m.Bus.Write(Data, 4, 0x4000_0000);
        AssertHalts(m);
        Assert.Equal(0x8000_0000UL, m.Bus.Read(Data, 4));
        Assert.True(m.State.OF);
        Assert.False(m.State.CF);
        Assert.True(m.State.SF);
    }

    [Fact]
    public void Sar_of_a_memory_qword_through_gs_copies_the_sign()
    {
        var m = Guest.Long(a => { a.sar(__qword_ptr.gs[rbx], 63); a.hlt(); });
        m.State.Segments[(int)SegmentRegister.Gs].Base = Data;
        Set(m, Register.Rbx, 8);
        m.Bus.Write(Data + 8, 8, 0x8000_0000_0000_0000);
        AssertHalts(m);
        Assert.Equal(ulong.MaxValue, m.Bus.Read(Data + 8, 8));
        Assert.False(m.State.CF); // the last bit out was bit 62
    }

    [Fact]
    public void Shr_of_a_byte_by_more_than_8_leaves_zero_and_clears_cf()
    {
        var m = Guest.Long(a => { a.shr(ah, cl); a.hlt(); });
        Set(m, Register.Rax, 0xFF00);
        Set(m, Register.Rcx, 9);
        AssertHalts(m);
        Assert.Equal(0UL, Get(m, Register.Rax));
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
        Set(m, Register.Rdi, Data);
        Set(m, Register.Rsi, 0xF000_0000_0000_000F);
        Set(m, Register.Rcx, 4);
        m.Bus.Write(Data, 8, 0x0123_4567_89AB_CDEF);
        m.Bus.Write(Data + 8, 8, 0x1111_1111_8765_4321);
        AssertHalts(m);
        Assert.Equal(0x1234_5678_9ABC_DEFFUL, m.Bus.Read(Data, 8));
        Assert.Equal(0x1111_1111_F876_5432UL, m.Bus.Read(Data + 8, 8));
    }

    [Fact]
    public void Sixteen_bit_shld_past_16_rotates_the_source_as_documented()
    {
        // Undefined in the manuals; the machine rotates the source by count - 16 and clears CF.
        var m = Guest.Protected(a => { a.shld(ax, dx, 17); a.shrd(bx, dx, 24); a.hlt(); });
        Set(m, Register.Rax, 0x1234);
        Set(m, Register.Rbx, 0x1234);
        Set(m, Register.Rdx, 0xABCD);
        AssertHalts(m);
        Assert.Equal(0x579BUL, Get(m, Register.Rax));
        Assert.Equal(0xCDABUL, Get(m, Register.Rbx));
        Assert.False(m.State.CF);
    }

    [Fact]
    public void Sixteen_bit_shld_by_exactly_16_gives_the_source()
    {
        var m = Guest.Long(a => { a.shld(ax, dx, cl); a.hlt(); });
        Set(m, Register.Rax, 0xFFFF_0000_0000_1235);
        Set(m, Register.Rdx, 0xABCD);
        Set(m, Register.Rcx, 16);
        AssertHalts(m);
        Assert.Equal(0xFFFF_0000_0000_ABCDUL, Get(m, Register.Rax));
        Assert.True(m.State.CF); // the last bit out is bit 0 of the destination
    }

    [Fact]
    public void Sal_is_shl()
    {
        // C0 /6 decodes as SAL; it must not fall through to #UD.
        var m = Machine.CreateLongMode();
        Guest.Load(m, [0xC0, 0xF0, 0x03, 0xF4]); // sal al, 3; hlt
        Set(m, Register.Rax, 0x21);
        AssertHalts(m);
        Assert.Equal(0x08UL, Get(m, Register.Rax));
        Assert.True(m.State.CF);
    }
}
