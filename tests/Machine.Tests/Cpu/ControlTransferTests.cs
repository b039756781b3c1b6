using static Iced.Intel.AssemblerRegisters;

namespace Repl.Machine.Tests.Cpu;

public class ControlTransferTests
{
    static Machine Raw(int bitness, params byte[] code)
    {
        var m = bitness == 64 ? Machine.CreateLongMode() : Machine.CreateProtectedMode();
        Guest.Load(m, code);
        return m;
    }

    static ulong Rcx(Machine m) => m.State.Gpr[(int)Gpr.Rcx];

    [Fact]
    public void Jrcxz_tests_all_of_RCX_and_jecxz_only_ECX()
    {
        // jrcxz L2; jecxz L3 (67 E3); mov al, 1; hlt; L2: mov al, 2; hlt; L3: mov al, 3; hlt
        var m = Raw(64, 0xE3, 0x06, 0x67, 0xE3, 0x06, 0xB0, 0x01, 0xF4, 0xB0, 0x02, 0xF4, 0xB0, 0x03, 0xF4);
        m.State.Gpr[(int)Gpr.Rcx] = 0x1_0000_0000;
        Assert.Equal(StopKind.Halted, m.Run(100).Kind);
        Assert.Equal(3UL, m.State.Gpr[(int)Gpr.Rax]);
    }

    [Fact]
    public void Jcxz_with_16_bit_address_size_in_32_bit_code_tests_only_CX()
    {
        // 67 E3 01: jcxz over the HLT; F4; B0 07 (mov al, 7); F4.
        var m = Raw(32, 0x67, 0xE3, 0x01, 0xF4, 0xB0, 0x07, 0xF4);
        m.State.Gpr[(int)Gpr.Rcx] = 0x1_0000;
        Assert.Equal(StopKind.Halted, m.Run(100).Kind);
        Assert.Equal(7UL, m.State.Gpr[(int)Gpr.Rax]);
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
        Assert.Equal(StopKind.Halted, m.Run(100).Kind);
        Assert.Equal(5UL, m.State.Gpr[(int)Gpr.Rax]);
        Assert.Equal(0UL, Rcx(m));
        Assert.True(m.State.CF);
        Assert.False(m.State.ZF);
    }

    [Fact]
    public void Loop_with_16_bit_address_size_counts_in_CX_and_keeps_the_upper_half()
    {
        // 67 E2 FD: loop to itself, counting CX.
        var m = Raw(32, 0x67, 0xE2, 0xFD, 0xF4);
        m.State.Gpr[(int)Gpr.Rcx] = 0xABCD_0003;
        Assert.Equal(StopKind.Halted, m.Run(100).Kind);
        Assert.Equal(0xABCD_0000UL, Rcx(m));
        Assert.Equal(4UL, m.State.InstructionsRetired);
    }

    [Fact]
    public void Loop_with_32_bit_address_size_in_64_bit_mode_counts_in_ECX_and_zero_extends_RCX()
    {
        var m = Raw(64, 0x67, 0xE2, 0xFD, 0xF4);
        m.State.Gpr[(int)Gpr.Rcx] = 0xFFFF_FFFF_0000_0002;
        Assert.Equal(StopKind.Halted, m.Run(100).Kind);
        Assert.Equal(0UL, Rcx(m));
        Assert.Equal(3UL, m.State.InstructionsRetired);
    }

    [Theory]
    [InlineData(0xE1, true, 0UL)]  // LOOPE keeps going while ZF = 1
    [InlineData(0xE1, false, 4UL)] // and stops after one decrement when ZF = 0
    [InlineData(0xE0, false, 0UL)] // LOOPNE keeps going while ZF = 0
    [InlineData(0xE0, true, 4UL)]
    public void Loope_and_loopne_also_stop_on_ZF(byte opcode, bool zf, ulong rcxAfter)
    {
        var m = Raw(64, opcode, 0xFE, 0xF4); // loopcc to itself
        m.State.Gpr[(int)Gpr.Rcx] = 5;
        m.State.Rflags = zf ? (ulong)RflagsBit.ZF : 0;
        Assert.Equal(StopKind.Halted, m.Run(100).Kind);
        Assert.Equal(rcxAfter, Rcx(m));
        Assert.Equal(zf, m.State.ZF);
    }

    [Fact]
    public void Call_and_ret_with_an_operand_size_prefix_in_64_bit_mode_move_8_bytes_as_on_Intel()
    {
        // 66 E8 01 00 00 00: call +1 (over the HLT); F4; 66 C3: ret.
        var m = Raw(64, 0x66, 0xE8, 0x01, 0x00, 0x00, 0x00, 0xF4, 0x66, 0xC3);
        Assert.Equal(StopKind.Halted, m.Run(100).Kind);
        Assert.Equal(0x8_0000UL, m.State.Gpr[(int)Gpr.Rsp]);
        Assert.Equal(Guest.CodeAddress + 7, m.State.Rip);
    }
}
