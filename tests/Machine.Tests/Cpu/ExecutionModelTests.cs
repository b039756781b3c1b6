using static Iced.Intel.AssemblerRegisters;

namespace Repl.Machine.Tests.Cpu;

public class ExecutionModelTests
{
    [Fact]
    public void A_write_over_cached_code_is_seen_when_that_code_runs_again()
    {
        // The loop body's "mov eax, imm32" is patched by the loop itself after its first execution.
        var m = Guest.Long(a =>
        {
            var body = a.CreateLabel();
            a.xor(ecx, ecx);
            a.Label(ref body);
            a.mov(eax, 1);                               // B8 01 00 00 00: the immediate is at body+1
            a.mov(__dword_ptr[Guest.CodeAddress + 3], 7); // patch the immediate (body is at CodeAddress + 2)
            a.inc(ecx);
            a.cmp(ecx, 2);
            a.jne(body);
            a.hlt();
        });
        Guest.RunToHalt(m);
        Assert.Equal(7UL, m.ReadRegister(Register.Rax));
    }

    [Fact]
    public void A_write_to_the_next_instruction_in_the_same_block_takes_effect_at_once()
    {
        var m = Guest.Long(a =>
        {
            // C6 04 25 disp32 imm8 (8 bytes) patches the imm8 of the following "mov al, 1" (B0 01).
            a.mov(__byte_ptr[Guest.CodeAddress + 8 + 1], 0x2A);
            a.mov(al, 1);
            a.hlt();
        });
        Guest.RunToHalt(m, budget: 10);
        Assert.Equal(0x2AUL, m.ReadRegister(Register.Rax) & 0xFF);
    }

    [Fact]
    public void An_instruction_that_straddles_a_page_sees_a_write_to_its_second_page()
    {
        const ulong At = 0x10_0FFA; // "mov rax, imm64" (10 bytes) ends 4 bytes into the next page
        var m = Machine.CreateLongMode();
        m.WritePhysical(At, Guest.Assemble(64, a => { a.mov(rax, 0x1122_3344_5566_7788); a.hlt(); }, At));
        m.State.Rip = At;
        Guest.RunToHalt(m, budget: 10);
        Assert.Equal(0x1122_3344_5566_7788UL, m.ReadRegister(Register.Rax));

        m.Bus.Write(0x10_1000, 4, 0xAABB_CCDD); // the immediate's upper half, in the second page
        m.State.Rip = At;
        Guest.RunToHalt(m, budget: 10);
        Assert.Equal(0xAABB_CCDD_5566_7788UL, m.ReadRegister(Register.Rax));
    }

    [Fact]
    public void The_same_start_state_gives_the_same_run()
    {
        static Machine Make() => Guest.Long(a =>
        {
            var top = a.CreateLabel();
            a.mov(ecx, 500);
            a.Label(ref top);
            a.rdtsc();
            a.add(rbx, rax);
            a.imul(rbx, rbx, 3);
            a.dec(ecx);
            a.jnz(top);
            a.hlt();
        });
        var first = Make();
        var second = Make();
        first.Run(10_000);
        second.Run(10_000);
        Assert.Equal(first.ReadRegister(Register.Rbx), second.ReadRegister(Register.Rbx));
        Assert.Equal(first.State.InstructionsRetired, second.State.InstructionsRetired);
        Assert.NotEqual(0UL, first.ReadRegister(Register.Rbx));
    }

    [Fact]
    public void A_state_snapshot_restores_the_processor_exactly()
    {
        var m = Guest.Long(a => { a.mov(eax, 1); a.add(eax, -1); a.mov(ebx, 2); a.hlt(); });
        m.Step(2);
        ulong rip = m.State.Rip;
        CpuState snapshot = m.State;
        m.Run(10);
        Assert.Equal(2UL, m.ReadRegister(Register.Rbx));
        m.State = snapshot;
        Assert.Equal(0UL, m.ReadRegister(Register.Rbx));
        Assert.True(m.State.ZF);
        Assert.Equal(rip, m.State.Rip);
        Guest.RunToHalt(m, budget: 10);
    }

    [Fact]
    public void Stepping_retires_exactly_the_requested_instructions()
    {
        var m = Guest.Long(a => { for (int i = 0; i < 10; i++) a.inc(eax); a.hlt(); });
        var stop = m.Step(3);
        Assert.Equal(StopKind.StepDone, stop.Kind);
        Assert.Equal(3UL, m.ReadRegister(Register.Rax));
        Assert.Equal(Guest.CodeAddress + 6, stop.Rip);
    }

    [Fact]
    public void A_breakpoint_stops_before_its_instruction_and_a_rerun_passes_it()
    {
        var m = Guest.Long(a => { a.inc(eax); a.inc(eax); a.inc(eax); a.hlt(); });
        m.Cpu.Breakpoints.Add(Guest.CodeAddress + 4);
        var stop = m.Run();
        Assert.Equal(StopKind.Breakpoint, stop.Kind);
        Assert.Equal(Guest.CodeAddress + 4, stop.Rip);
        Assert.Equal(2UL, m.ReadRegister(Register.Rax));
        Assert.Equal(StopKind.Halted, m.Run().Kind);
        Assert.Equal(3UL, m.ReadRegister(Register.Rax));
    }

    [Fact]
    public void A_breakpoint_on_a_long_rep_string_instruction_is_reported_once()
    {
        var m = Guest.Long(a => { a.mov(edi, 0x20_0000); a.mov(ecx, 20_000); a.rep.stosb(); a.hlt(); });
        m.Cpu.Breakpoints.Add(Guest.CodeAddress + 10);
        Assert.Equal(StopKind.Breakpoint, m.Run().Kind);
        Assert.Equal(20_000UL, m.ReadRegister(Register.Rcx));
        var stop = m.Run();
        Assert.Equal(StopKind.Halted, stop.Kind);
        Assert.Equal(0UL, m.ReadRegister(Register.Rcx));
    }

    [Fact]
    public void Registers_are_reachable_by_name()
    {
        var m = Machine.CreateLongMode();
        m.WriteRegister("r12", 0x1234);
        m.WriteRegister("fs_base", 0xFFFF_8000_0000_0000);
        Assert.Equal(0x1234UL, m.ReadRegister(Register.R12));
        Assert.Equal(0xFFFF_8000_0000_0000UL, m.State.Segments[(int)SegmentRegister.Fs].Base);
        Assert.Throws<ArgumentException>(() => m.ReadRegister("xmm99"));
    }

    [Fact]
    public void Cpuid_reports_the_configured_vendor()
    {
        foreach (var (vendor, name) in new[] { (CpuVendor.Intel, "GenuineIntel"), (CpuVendor.Amd, "AuthenticAMD") })
        {
            var m = Guest.Long(a => { a.xor(eax, eax); a.cpuid(); a.hlt(); }, vendor);
            m.Run(10);
            var bytes = new[] { Register.Rbx, Register.Rdx, Register.Rcx }
                .SelectMany(r => BitConverter.GetBytes((uint)m.ReadRegister(r))).ToArray();
            Assert.Equal(name, global::System.Text.Encoding.ASCII.GetString(bytes));
        }
    }

    [Fact]
    public void A_fsgs_override_adds_the_segment_base_in_64_bit_mode()
    {
        var m = Guest.Long(a => { a.mov(rax, __qword_ptr.fs[0x10]); a.mov(rbx, __qword_ptr.gs[0x10]); a.mov(rcx, __qword_ptr.ds[0x10]); a.hlt(); });
        m.State.Segments[(int)SegmentRegister.Fs].Base = 0x30_0000;
        m.State.Segments[(int)SegmentRegister.Gs].Base = 0x40_0000;
        m.State.Segments[(int)SegmentRegister.Ds].Base = 0x50_0000; // ignored in 64-bit mode
        m.Bus.Write(0x30_0010, 8, 0xF5);
        m.Bus.Write(0x40_0010, 8, 0x65);
        m.Bus.Write(0x10, 8, 0xD5);
        m.Run(10);
        Assert.Equal(0xF5UL, m.ReadRegister(Register.Rax));
        Assert.Equal(0x65UL, m.ReadRegister(Register.Rbx));
        Assert.Equal(0xD5UL, m.ReadRegister(Register.Rcx));
    }

    [Fact]
    public void Protected_mode_code_honours_segment_base_and_limit()
    {
        var m = Guest.Protected(a => { a.mov(eax, __dword_ptr[0x100]); a.mov(ebx, __dword_ptr[0x2000]); a.hlt(); });
        ref var ds = ref m.State.Segments[(int)SegmentRegister.Ds];
        ds.Base = 0x20_0000;
        ds.Limit = 0xFFF;
        m.Bus.Write(0x20_0100, 4, 0xABCD);
        var stop = m.Run(10);
        Assert.Equal(0xABCDUL, m.ReadRegister(Register.Rax));
        Assert.Equal(Vector.GP, stop.Vector);
        Assert.Equal(Guest.CodeAddress + 5, stop.Rip);
    }
}
