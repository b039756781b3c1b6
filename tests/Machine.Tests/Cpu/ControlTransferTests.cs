using static Iced.Intel.AssemblerRegisters;

namespace Repl.Machine.Tests.Cpu;

public class ControlTransferTests
{
    [Fact]
    public void Jrcxz_tests_all_of_RCX_and_jecxz_only_ECX()
    {
        // jrcxz L2; jecxz L3 (67 E3); mov al, 1; hlt; L2: mov al, 2; hlt; L3: mov al, 3; hlt
        var m = Guest.FromBytes(64, 0xE3, 0x06, 0x67, 0xE3, 0x06, 0xB0, 0x01, 0xF4, 0xB0, 0x02, 0xF4, 0xB0, 0x03, 0xF4);
        m.WriteRegister(Register.Rcx, 0x1_0000_0000);
        Guest.RunToHalt(m);
        Assert.Equal(3UL, m.ReadRegister(Register.Rax));
    }

    [Fact]
    public void Jcxz_with_16_bit_address_size_in_32_bit_code_tests_only_CX()
    {
        // 67 E3 01: jcxz over the HLT; F4; B0 07 (mov al, 7); F4.
        var m = Guest.FromBytes(32, 0x67, 0xE3, 0x01, 0xF4, 0xB0, 0x07, 0xF4);
        m.WriteRegister(Register.Rcx, 0x1_0000);
        Guest.RunToHalt(m);
        Assert.Equal(7UL, m.ReadRegister(Register.Rax));
    }

    [Fact]
    public void Loop_decrements_RCX_without_touching_the_flags()
    {
        var m = Guest.Long(a =>
        {
            var top = a.CreateLabel();
            a.mov(ecx, 5);
            a.xor(eax, eax);
            a.stc();
            a.Label(ref top);
            a.inc(eax); // leaves CF set and ZF clear
            a.loop(top);
            a.hlt();
        });
        Guest.RunToHalt(m);
        Assert.Equal(5UL, m.ReadRegister(Register.Rax));
        Assert.Equal(0UL, m.ReadRegister(Register.Rcx));
        Assert.True(m.State.CF);
        Assert.False(m.State.ZF);
    }

    [Theory]
    [InlineData(32, 0xABCD_0003UL, 0xABCD_0000UL, 4UL)] // a16 in 32-bit code counts in CX and keeps the upper half
    [InlineData(64, 0xFFFF_FFFF_0000_0002UL, 0UL, 3UL)] // a32 in 64-bit mode counts in ECX and zero-extends RCX
    public void Loop_with_an_address_size_prefix_counts_in_the_narrower_register(int bitness, ulong rcx, ulong rcxAfter, ulong retired)
    {
        // 67 E2 FD: loop to itself, counting CX or ECX.
        var m = Guest.FromBytes(bitness, 0x67, 0xE2, 0xFD, 0xF4);
        m.WriteRegister(Register.Rcx, rcx);
        Guest.RunToHalt(m);
        Assert.Equal(rcxAfter, m.ReadRegister(Register.Rcx));
        Assert.Equal(retired, m.State.InstructionsRetired);
    }

    [Theory]
    [InlineData(0xE1, true, 0UL)]  // LOOPE keeps going while ZF = 1
    [InlineData(0xE1, false, 4UL)] // and stops after one decrement when ZF = 0
    [InlineData(0xE0, false, 0UL)] // LOOPNE keeps going while ZF = 0
    [InlineData(0xE0, true, 4UL)]
    public void Loope_and_loopne_also_stop_on_ZF(byte opcode, bool zf, ulong rcxAfter)
    {
        var m = Guest.FromBytes(64, opcode, 0xFE, 0xF4); // loopcc to itself
        m.WriteRegister(Register.Rcx, 5);
        m.State.Rflags = zf ? (ulong)RflagsBit.ZF : 0;
        Guest.RunToHalt(m);
        Assert.Equal(rcxAfter, m.ReadRegister(Register.Rcx));
        Assert.Equal(zf, m.State.ZF);
    }

    [Fact]
    public void Call_and_ret_with_an_operand_size_prefix_in_64_bit_mode_move_8_bytes_as_on_Intel()
    {
        // 66 E8 01 00 00 00: call +1 (over the HLT); F4; 66 C3: ret.
        var m = Guest.FromBytes(64, 0x66, 0xE8, 0x01, 0x00, 0x00, 0x00, 0xF4, 0x66, 0xC3);
        Guest.RunToHalt(m);
        Assert.Equal(Guest.StackTop, m.ReadRegister(Register.Rsp));
        Assert.Equal(Guest.CodeAddress + 7, m.State.Rip);
    }
}
