using static Iced.Intel.AssemblerRegisters;

namespace Repl.Machine.Tests.SystemArchitecture;

public class SystemInstructionsTests
{
    [Fact]
    public void Rdpid_reads_tsc_aux_at_cpl3_zero_extended()
    {
        var m = Guest.Long(a => { a.rdpid(rax); a.mov(rbx, -1L); });
        m.WriteRegister(Register.Rax, ulong.MaxValue);
        m.WriteMsr(Msr.TscAux, 0x8000_0007);
        Guest.RunAtCpl3(m);

        Assert.Equal(StopKind.StepDone, m.Step(1).Kind);
        Assert.Equal(0x8000_0007UL, m.ReadRegister(Register.Rax));
    }

    [Fact]
    public void Rdpid_in_32_bit_code_writes_eax()
    {
        var m = Guest.Protected(a => { a.rdpid(eax); a.hlt(); });
        m.WriteMsr(Msr.TscAux, 3);

        Guest.RunToHalt(m);
        Assert.Equal(3UL, m.ReadRegister(Register.Rax));
    }

    [Fact]
    public void Fences_run_at_any_cpl_and_change_nothing()
    {
        var m = Guest.Long(a => { a.lfence(); a.mfence(); a.sfence(); });
        Guest.RunAtCpl3(m);
        CpuState before = m.State;

        Assert.Equal(StopKind.InstructionBudget, m.Run(3).Kind);
        Assert.Equal(Guest.CodeAddress + 9, m.State.Rip);
        for (int i = 0; i < 16; i++)
            Assert.Equal(before.Gpr[i], m.State.Gpr[i]);
        Assert.Equal(before.Rflags, m.State.Rflags);
        Assert.Empty(m.Cpu.UnimplementedExecuted);
    }

    [Fact]
    public void Wbinvd_and_invd_run_at_cpl0_and_raise_gp_above()
    {
        var kernel = Guest.Long(a => { a.wbinvd(); a.invd(); a.hlt(); });
        Guest.RunToHalt(kernel);

        foreach (var build in new Action<Iced.Intel.Assembler>[] { a => a.wbinvd(), a => a.invd() })
        {
            var user = Guest.Long(build);
            Guest.RunAtCpl3(user);
            Expect.FaultWithoutEffect(user, Vector.GP, 0);
        }
    }
}
