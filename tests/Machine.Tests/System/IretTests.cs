using static Iced.Intel.AssemblerRegisters;
using static Repl.Machine.Tests.SystemTables;

namespace Repl.Machine.Tests.SystemArchitecture;

public class IretTests
{
    const ulong UserCode = 0x10_1000, UserStack = 0x6_0000, FrameAt = 0x5_0000;
    static readonly byte[] Iretq = [0x48, 0xCF];

    /// <summary>A machine whose first instruction is IRETQ (or <paramref name="code"/>), with RSP at a frame of
    /// RIP, CS, RFLAGS, RSP, SS.</summary>
    static Machine AtIret(ulong rip, ulong cs, ulong rflags, ulong rsp, ulong ss, byte[]? code = null)
    {
        var m = Guest.FromBytes(64, code ?? Iretq);
        Install(m);
        Guest.CatchAll(m);
        m.State.Gpr[(int)Gpr.Rsp] = FrameAt;
        ulong[] frame = [rip, cs, rflags, rsp, ss];
        for (int k = 0; k < frame.Length; k++)
            m.Bus.Write(FrameAt + (ulong)k * 8, 8, frame[k]);
        return m;
    }

    [Fact]
    public void IRETQ_to_user_mode_and_INT_0x80_through_a_DPL_3_gate_back_to_the_kernel_stack()
    {
        var m = Guest.Long(a =>
        {
            a.mov(ax, UserDs);
            a.mov(es, ax); // a DPL-3 data segment survives the return; DS (DPL 0) does not
            a.push(UserDs);
            a.push((int)UserStack);
            a.push(0x202);
            a.push(UserCs);
            a.push((int)UserCode);
            a.iretq();
        });
        Install(m);
        m.WritePhysical(UserCode, [0xCD, 0x80]);
        SetGate(m, 0x80, Handler(0x80), dpl: 3);

        Assert.Equal(StopKind.StepDone, m.Step(8).Kind);
        Assert.Equal(3, m.State.Cpl);
        Assert.Equal(UserCode, m.State.Rip);
        Assert.Equal(UserStack, m.State.Gpr[(int)Gpr.Rsp]);
        Assert.Equal(UserDs, m.State.Segments[(int)SegmentRegister.Ss].Selector);
        Assert.Equal(0, m.State.Segments[(int)SegmentRegister.Ds].Selector);
        Assert.False(m.State.Segments[(int)SegmentRegister.Ds].Present);
        Assert.Equal(0, m.State.Segments[(int)SegmentRegister.Fs].Selector);
        Assert.Equal(UserDs, m.State.Segments[(int)SegmentRegister.Es].Selector);
        Assert.Equal(0x202UL, m.State.Rflags);

        var stop = m.Run(10);
        Assert.Equal(StopKind.Halted, stop.Kind);
        Assert.Equal(Handler(0x80) + 1, stop.Rip);
        Assert.Equal(0, m.State.Cpl);
        Assert.Equal(0, m.State.Segments[(int)SegmentRegister.Ss].Selector); // null SS with RPL = new CPL
        Assert.Equal(0x7_0000UL - 40, m.State.Gpr[(int)Gpr.Rsp]);
        Assert.Equal([UserCode + 2, UserCs, 0x202, UserStack, UserDs], Frame(m, 5));
    }

    [Fact]
    public void IRETQ_to_a_non_canonical_RIP_raises_GP_0_with_nothing_changed()
    {
        var m = AtIret(Guest.NonCanonical, KernelCs, 0x2, UserStack, KernelDs);
        Expect.FaultWithoutEffect(m, Vector.GP, 0);
        Assert.Equal(KernelDs, m.State.Segments[(int)SegmentRegister.Ss].Selector);
    }

    [Fact]
    public void IRETQ_to_CPL_3_with_a_null_SS_raises_GP_0()
    {
        var m = AtIret(UserCode, UserCs, 0x2, UserStack, 0x3);
        Expect.FaultWithoutEffect(m, Vector.GP, 0);
    }

    [Fact]
    public void IRETQ_at_CPL_0_pops_SS_and_RSP_and_accepts_a_null_SS()
    {
        var m = AtIret(Guest.CodeAddress + 2, KernelCs, 0x2, UserStack, 0);
        m.WritePhysical(Guest.CodeAddress + 2, [0xF4]);
        Guest.RunToHalt(m);
        Assert.Equal(UserStack, m.State.Gpr[(int)Gpr.Rsp]);
        Assert.Equal(0, m.State.Segments[(int)SegmentRegister.Ss].Selector);
        Assert.Equal(KernelDs, m.State.Segments[(int)SegmentRegister.Ds].Selector); // same privilege: kept
    }

    [Fact]
    public void IRETQ_to_a_32_bit_code_segment_enters_compatibility_mode()
    {
        var m = AtIret(UserCode, UserCs32, 0x2, UserStack, UserDs);
        m.Step();
        Assert.Equal(32, m.State.CodeBitness);
        Assert.Equal(3, m.State.Cpl);
        Assert.Equal(UserCode, m.State.Rip);
    }

    [Fact]
    public void IRETQ_to_a_16_bit_stack_segment_loads_sp_alone_and_keeps_the_upper_bits_of_the_kernels_rsp()
    {
        var m = AtIret(UserCode, UserCs32, 0x2, 0x1234_5678, Spare | 3);
        SetDescriptor(m, Spare, Descriptor(0, 0xFFFF, UserDataAccess, 0));	// B = 0: a 16-bit stack
        m.Step();
        Assert.Equal(32, m.State.CodeBitness);
        Assert.Equal((FrameAt & ~0xFFFFUL) | 0x5678, m.State.Gpr[(int)Gpr.Rsp]);
    }

    [Fact]
    public void IRETQ_to_a_32_bit_stack_segment_in_compatibility_mode_loads_the_whole_stack_pointer()
    {
        var m = AtIret(UserCode, UserCs32, 0x2, 0x1234_5678, UserDs);
        m.Step();
        Assert.Equal(0x1234_5678UL, m.State.Gpr[(int)Gpr.Rsp]);
    }

    [Fact]
    public void IRET_at_CPL_3_loads_the_status_flags_but_not_IF_or_IOPL()
    {
        const ulong Loaded = (ulong)(RflagsBit.CF | RflagsBit.IF | RflagsBit.IOPL | RflagsBit.AC) | 0x2;
        var m = AtIret(UserCode, UserCs, Loaded, UserStack, UserDs);
        EnterUserMode(m, Guest.CodeAddress, FrameAt);
        m.Step();
        Assert.Equal((ulong)(RflagsBit.CF | RflagsBit.AC) | 0x2, m.State.Rflags);
    }

    [Fact]
    public void IRET_at_CPL_0_loads_IF_and_IOPL()
    {
        const ulong Loaded = (ulong)(RflagsBit.IF | RflagsBit.IOPL | RflagsBit.VIF) | 0x2;
        var m = AtIret(UserCode, UserCs, Loaded, UserStack, UserDs);
        m.Step();
        Assert.Equal(Loaded, m.State.Rflags);
    }

    [Fact]
    public void IRET_to_a_more_privileged_code_segment_raises_GP_with_its_selector()
    {
        var m = AtIret(Guest.CodeAddress, KernelCs, 0x2, FrameAt, KernelDs);
        EnterUserMode(m, Guest.CodeAddress, FrameAt);
        Expect.FaultWithoutEffect(m, Vector.GP, KernelCs);
    }

    [Fact]
    public void IRET_to_user_mode_with_an_SS_of_another_privilege_raises_GP_with_the_SS_selector()
    {
        var m = AtIret(UserCode, UserCs, 0x2, UserStack, KernelDs | 3);
        Expect.FaultWithoutEffect(m, Vector.GP, KernelDs);
    }

    [Fact]
    public void IRET_with_NT_set_in_IA32e_mode_raises_GP_0()
    {
        var m = AtIret(UserCode, UserCs, 0x2, UserStack, UserDs);
        m.State.Rflags |= (ulong)RflagsBit.NT;
        Expect.FaultWithoutEffect(m, Vector.GP, 0);
    }

    [Fact]
    public void IRETD_in_64_bit_mode_pops_four_byte_slots()
    {
        var m = Guest.FromBytes(64, 0xCF); // iretd
        Install(m);
        m.State.Gpr[(int)Gpr.Rsp] = FrameAt;
        uint[] frame = [(uint)UserCode, UserCs32, 0x202, (uint)UserStack, UserDs];
        for (int k = 0; k < frame.Length; k++)
            m.Bus.Write(FrameAt + (ulong)k * 4, 4, frame[k]);
        m.Step();
        Assert.Equal(UserCode, m.State.Rip);
        Assert.Equal(UserStack, m.State.Gpr[(int)Gpr.Rsp]);
        Assert.Equal(32, m.State.CodeBitness);
    }
}
