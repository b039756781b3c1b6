using static Iced.Intel.AssemblerRegisters;

namespace Repl.Machine.Tests.Cpu;

/// <summary>The examples of the SDM's DAA, DAS, AAM and AAD pages, run in 32-bit code.</summary>
public class DecimalArithmeticTests
{
    [Fact]
    public void Daa_turns_79_plus_35_into_packed_BCD_114()
    {
        var m = Guest.Protected(a => { a.mov(al, 0x79); a.mov(bl, 0x35); a.add(al, bl); a.daa(); a.hlt(); });
        Guest.RunToHalt(m);
        Assert.Equal(0x14UL, m.ReadRegister(Register.Rax) & 0xFF);
        Assert.True(m.State.CF);
        Assert.True(m.State.AF);
    }

    [Fact]
    public void Das_turns_35_minus_47_into_88_with_a_borrow()
    {
        var m = Guest.Protected(a => { a.mov(al, 0x35); a.mov(bl, 0x47); a.sub(al, bl); a.das(); a.hlt(); });
        Guest.RunToHalt(m);
        Assert.Equal(0x88UL, m.ReadRegister(Register.Rax) & 0xFF);
        Assert.True(m.State.CF);
    }

    [Fact]
    public void Aaa_carries_into_AH_and_keeps_the_low_digit()
    {
        var m = Guest.Protected(a => { a.mov(ax, 0x0109); a.add(al, 8); a.aaa(); a.hlt(); }); // 9 + 8 = 17: AH 1 -> 2, AL 7
        Guest.RunToHalt(m);
        Assert.Equal(0x0207UL, m.ReadRegister(Register.Rax) & 0xFFFF);
        Assert.True(m.State.CF);
    }

    [Fact]
    public void Aas_borrows_from_AH()
    {
        var m = Guest.Protected(a => { a.mov(ax, 0x0203); a.sub(al, 5); a.aas(); a.hlt(); }); // 23 - 5 = 18 in unpacked BCD
        Guest.RunToHalt(m);
        Assert.Equal(0x0108UL, m.ReadRegister(Register.Rax) & 0xFFFF);
        Assert.True(m.State.CF);
    }

    [Fact]
    public void Aam_splits_AL_into_decimal_digits_and_aad_joins_them()
    {
        var m = Guest.Protected(a => { a.mov(al, 63); a.aam(10); a.mov(ebx, eax); a.aad(10); a.hlt(); });
        Guest.RunToHalt(m);
        Assert.Equal(0x0603UL, m.ReadRegister(Register.Rbx) & 0xFFFF);
        Assert.Equal(63UL, m.ReadRegister(Register.Rax) & 0xFFFF);
    }

    [Fact]
    public void Aam_with_base_zero_raises_DE_and_leaves_AX_alone()
    {
        var m = Guest.Protected(a => { a.mov(ax, 0x1234); a.aam(0); });
        var stop = m.Run(10);
        Assert.Equal(Vector.DE, stop.Vector);
        Assert.Equal(Guest.CodeAddress + 4, stop.Rip);
        Assert.Equal(0x1234UL, m.ReadRegister(Register.Rax) & 0xFFFF);
    }

    [Fact]
    public void Decimal_instructions_do_not_exist_in_64_bit_mode()
    {
        var m = Guest.FromBytes(64, 0x27); // DAA
        Assert.Equal(Vector.UD, m.Run(10).Vector);
    }
}
