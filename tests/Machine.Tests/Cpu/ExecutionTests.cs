using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Repl.Machine.Tests.Cpu;

public class ExecutionTests
{
    [Fact]
    public void A_straight_line_program_runs_to_hlt()
    {
        var m = Guest.Long(a => { a.mov(rax, 5); a.add(rax, 7); a.hlt(); });
        Guest.RunToHalt(m, budget: 1000);
        Assert.Equal(12UL, m.ReadRegister(Register.Rax));
        Assert.Equal(3UL, m.State.InstructionsRetired);
    }

    [Fact]
    public void A_loop_counts_down_with_dec_and_jnz()
    {
        var m = Guest.Long(a =>
        {
            var top = a.CreateLabel();
            a.mov(ecx, 1000);
            a.xor(eax, eax);
            a.Label(ref top);
            a.add(rax, rcx);
            a.dec(ecx);
            a.jnz(top);
            a.hlt();
        });
        Guest.RunToHalt(m, budget: 100_000);
        Assert.Equal(500_500UL, m.ReadRegister(Register.Rax));
    }

    [Fact]
    public void Call_and_ret_use_the_stack()
    {
        var m = Guest.Long(a =>
        {
            var f = a.CreateLabel();
            a.mov(eax, 1);
            a.call(f);
            a.hlt();
            a.Label(ref f);
            a.add(eax, 41);
            a.ret();
        });
        ulong sp = m.ReadRegister(Register.Rsp);
        Guest.RunToHalt(m);
        Assert.Equal(42UL, m.ReadRegister(Register.Rax));
        Assert.Equal(sp, m.ReadRegister(Register.Rsp));
    }
}
