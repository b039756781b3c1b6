using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Repl.Machine.Tests.SystemArchitecture;

public class ControlRegistersTests
{
    const ulong Data = 0x4000_0000, Frame = 0x30_0000;

    /// <summary>A 32-bit protected-mode machine with EFER.LME already set (WRMSR's part) and tables ready for
    /// long mode: code, stack and <see cref="Data"/> mapped.</summary>
    static (Machine Machine, PageTables Tables) ReadyForLongMode(Action<Assembler> build)
    {
        var m = Guest.Protected(build);
        var t = new PageTables(m);
        for (ulong page = Guest.CodeAddress; page < Guest.CodeAddress + 0x2000; page += 0x1000)
            t.Map(page, page, PageTables.Present | PageTables.Writable);
        t.Map(Data, Frame, PageTables.Present | PageTables.Writable);
        m.Bus.Write(Frame, 4, 0xC0DE);
        m.State.Efer = CpuState.EferLME;
        m.WriteRegister(Register.Rbx, t.Root);
        m.WriteRegister(Register.Rsi, Data);
        return (m, t);
    }

    [Fact]
    public void Setting_CR4_PAE_then_CR3_then_CR0_PG_with_EFER_LME_activates_IA32e_mode_and_clearing_PG_leaves_it()
    {
        var (m, _) = ReadyForLongMode(a =>
        {
            EnablePaePaging(a); // with EFER.LME set, this is the long-mode switch
            a.mov(ecx, __dword_ptr[esi]); // compatibility mode, through the tables
            a.mov(edx, cr0);
            a.and(edx, 0x7FFF_FFFF);
            a.hlt();
        });
        Assert.Equal(StopKind.StepDone, m.Step(8).Kind);
        Assert.Equal(CpuState.EferLME | CpuState.EferLMA, m.State.Efer);
        Assert.Equal(0xC0DEUL, m.ReadRegister(Register.Rcx));

        var (n, _) = ReadyForLongMode(a => { a.mov(cr0, edx); a.hlt(); });
        n.State = m.State;
        n.State.Rip = Guest.CodeAddress;
        Guest.RunToHalt(n);
        Assert.Equal(CpuState.EferLME, n.State.Efer);
    }

    [Fact]
    public void Setting_CR0_PG_with_EFER_LME_but_without_CR4_PAE_raises_GP()
    {
        var (m, _) = ReadyForLongMode(a => { a.mov(cr0, eax); a.hlt(); });
        m.WriteRegister(Register.Rax, m.State.Cr0 | CpuState.Cr0PG);
        Expect.FaultWithoutEffect(m, Vector.GP, 0);
        Assert.Equal(CpuState.EferLME, m.State.Efer);
    }

    [Fact]
    public void Setting_CR0_PG_without_CR4_PAE_is_reported_as_unimplemented_32_bit_paging()
    {
        var m = Guest.Protected(a => { a.mov(cr0, eax); a.hlt(); });
        m.WriteRegister(Register.Rax, m.State.Cr0 | CpuState.Cr0PG);
        Expect.FaultWithoutEffect(m, Vector.UD, null);
        Assert.Contains(m.Cpu.UnimplementedExecuted.Keys, k => k.Contains("32-bit paging"));
    }

    /// <summary>Enables PAE paging in protected mode on tables built by the test (EBX = their root).</summary>
    static void EnablePaePaging(Assembler a)
    {
        a.mov(eax, cr4);
        a.or(eax, 1 << 5);
        a.mov(cr4, eax);
        a.mov(cr3, ebx);
        a.mov(eax, cr0);
        a.or(eax, 1u << 31);
        a.mov(cr0, eax);
    }

    static (Machine Machine, PageTables Tables) PaeMachine(Action<Assembler> build)
    {
        var m = Guest.Protected(a => { EnablePaePaging(a); build(a); a.hlt(); });
        var t = new PageTables(m, levels: 3);
        for (ulong page = Guest.CodeAddress; page < Guest.CodeAddress + 0x2000; page += 0x1000)
            t.Map(page, page, PageTables.Present | PageTables.Writable);
        m.WriteRegister(Register.Rbx, t.Root);
        return (m, t);
    }

    [Fact]
    public void PAE_paging_in_protected_mode_translates_4k_and_2m_pages_without_entering_IA32e_mode()
    {
        var (m, t) = PaeMachine(a => { a.mov(ecx, __dword_ptr[esi]); a.mov(edx, __dword_ptr[edi]); });
        t.Map(Data, Frame, PageTables.Present);
        t.Map(0xC000_0000, 0x20_0000, PageTables.Present, pageShift: 21);
        m.Bus.Write(Frame + 4, 4, 0xC0DE);
        m.Bus.Write(0x21_2344, 4, 0xBEEF);
        m.WriteRegister(Register.Rsi, Data + 4);
        m.WriteRegister(Register.Rdi, 0xC001_2344);

        Guest.RunToHalt(m);
        Assert.Equal(0xC0DEUL, m.ReadRegister(Register.Rcx));
        Assert.Equal(0xBEEFUL, m.ReadRegister(Register.Rdx));
        Assert.Equal(0UL, m.State.Efer);
    }

    [Fact]
    public void Under_PAE_paging_a_CR3_set_from_outside_the_guest_takes_effect_with_its_PDPTEs()
    {
        var (m, t) = PaeMachine(a => a.mov(ecx, __dword_ptr[esi]));
        t.Map(Data, Frame, PageTables.Present);
        m.Bus.Write(Frame, 4, 0xC0DE);
        m.WriteRegister(Register.Rsi, Data);
        m.State.Rip += (ulong)Guest.Assemble(32, EnablePaePaging).Length; // the debugger does its work instead
        m.State.Cr4 |= CpuState.Cr4Pae;
        m.State.Cr0 |= CpuState.Cr0PG;
        m.State.Cr3 = t.Root;

        Guest.RunToHalt(m);
        Assert.Equal(0xC0DEUL, m.ReadRegister(Register.Rcx));
    }

    [Fact]
    public void Loading_a_PDPTE_with_a_reserved_bit_makes_MOV_to_CR3_raise_GP()
    {
        var (m, t) = PaeMachine(a => a.mov(cr3, edx));
        ulong bad = PageTables.Pool + 0x10_0000;
        m.Bus.Write(bad, 8, t.Read(t.Root) | PageTables.Writable); // R/W is reserved in a PAE PDPTE
        m.WriteRegister(Register.Rdx, bad);

        var stop = m.Run(100);
        Assert.Equal((StopKind.Fault, Vector.GP, (uint?)0), (stop.Kind, stop.Vector, stop.ErrorCode));
        Assert.Equal(t.Root, m.State.Cr3);
    }

    public static TheoryData<string, ulong, bool> InvalidWrites => new()
    {
        // register, bits, whether the bits are toggled in the register's current value (else written as they are)
        { "cr0", 1UL << 32, true },                  // bits 63:32 of CR0 are reserved
        { "cr0", CpuState.Cr0PG, true },            // clearing PG in 64-bit mode
        { "cr0", CpuState.Cr0PE, true },            // PG without PE
        { "cr0", CpuState.Cr0NW, true },            // NW without CD
        { "cr4", CpuState.Cr4Pae, true },           // clearing PAE in IA-32e mode
        { "cr4", CpuState.Cr4La57, true },          // changing LA57 in IA-32e mode
        { "cr4", 1UL << 11, true },                 // UMIP, which CPUID does not report
        { "cr4", 1UL << 15, true },                 // reserved
        { "cr3", 1UL << Repl.Machine.Cpu.MaxPhysicalAddressBits, true }, // above MAXPHYADDR
        { "cr3", 1UL << 63, true },                 // the no-flush bit without CR4.PCIDE
        { "cr8", 0x10, false },                     // TPR bits 63:4 are reserved
    };

    [Theory]
    [MemberData(nameof(InvalidWrites))]
    public void A_MOV_to_a_control_register_with_reserved_bits_or_a_forbidden_combination_raises_GP(string cr, ulong value, bool toggle)
    {
        var (m, current) = MovTo(cr);
        m.WriteRegister(Register.Rax, toggle ? current ^ value : value);
        CpuState before = m.State;
        Expect.FaultWithoutEffect(m, Vector.GP, 0);
        Assert.Equal((before.Cr0, before.Cr3, before.Cr4, before.Cr8), (m.State.Cr0, m.State.Cr3, m.State.Cr4, m.State.Cr8));
    }

    static (Machine, ulong) MovTo(string cr)
    {
        var m = Guest.Long(a =>
        {
            switch (cr)
            {
                case "cr0": a.mov(AssemblerRegisters.cr0, rax); break;
                case "cr3": a.mov(AssemblerRegisters.cr3, rax); break;
                case "cr4": a.mov(AssemblerRegisters.cr4, rax); break;
                default: a.mov(AssemblerRegisters.cr8, rax); break;
            }
            a.hlt();
        });
        return (m, m.ReadRegister(cr));
    }

    [Fact]
    public void Setting_CR4_PCIDE_while_CR3_bits_11_0_are_not_zero_raises_GP()
    {
        var (m, cr4) = MovTo("cr4");
        m.State.Cr3 |= 0x8; // PWT
        m.WriteRegister(Register.Rax, cr4 | CpuState.Cr4Pcide);
        Expect.FaultWithoutEffect(m, Vector.GP, 0);
    }

    [Fact]
    public void Reserved_CR0_bits_31_0_are_ignored_and_ET_stays_set()
    {
        var (m, cr0) = MovTo("cr0");
        m.WriteRegister(Register.Rax, (cr0 | 1 << 6 | 1 << 17) & ~CpuState.Cr0ET);
        Guest.RunToHalt(m);
        Assert.Equal(cr0, m.State.Cr0);
    }

    [Fact]
    public void CR8_holds_the_task_priority_and_CR2_any_value()
    {
        var m = Guest.Long(a => { a.mov(cr8, rax); a.mov(rbx, cr8); a.mov(cr2, rcx); a.mov(rdx, cr2); a.hlt(); });
        m.WriteRegister(Register.Rax, 0xB);
        m.WriteRegister(Register.Rcx, Guest.NonCanonical);
        Guest.RunToHalt(m);
        Assert.Equal(0xBUL, m.ReadRegister(Register.Rbx));
        Assert.Equal(Guest.NonCanonical, m.ReadRegister(Register.Rdx));
    }

    [Fact]
    public void MOV_from_a_control_register_at_CPL_3_raises_GP()
    {
        var m = Guest.Long(a => { a.mov(rax, cr3); a.hlt(); });
        Guest.RunAtCpl3(m);
        Expect.FaultWithoutEffect(m, Vector.GP, 0);
    }

    [Fact]
    public void MOV_to_CR1_is_undefined()
    {
        var m = Guest.FromBytes(64, 0x0F, 0x22, 0xC8, 0xF4); // mov cr1, rax
        Expect.FaultWithoutEffect(m, Vector.UD, null);
    }

    [Fact]
    public void CLTS_clears_TS_and_LMSW_loads_MP_EM_TS_but_cannot_clear_PE()
    {
        var m = Guest.Long(a => { a.clts(); a.mov(rbx, cr0); a.lmsw(ax); a.hlt(); });
        m.State.Cr0 |= CpuState.Cr0TS;
        m.WriteRegister(Register.Rax, 0xFFFA); // PE clear, MP set, EM clear, TS set
        ulong cleared = m.State.Cr0 & ~CpuState.Cr0TS;

        Guest.RunToHalt(m);
        Assert.Equal(cleared, m.ReadRegister(Register.Rbx));
        Assert.Equal((cleared & ~0xFUL) | CpuState.Cr0PE | CpuState.Cr0MP | CpuState.Cr0TS, m.State.Cr0);
    }

    [Fact]
    public void SMSW_stores_CR0_in_a_register_at_its_width_and_16_bits_in_memory()
    {
        var m = Guest.Long(a => { a.smsw(rax); a.smsw(__word_ptr[rdi]); a.hlt(); });
        m.WriteRegister(Register.Rdi, Guest.Data);
        m.Bus.Write(Guest.Data, 4, 0xFFFF_FFFF);
        Guest.RunAtCpl3(m); // SMSW is not privileged

        Assert.Equal(StopKind.StepDone, m.Step(2).Kind);
        Assert.Equal(m.State.Cr0, m.ReadRegister(Register.Rax));
        Assert.Equal(0xFFFF_0000 | (m.State.Cr0 & 0xFFFF), m.Bus.Read(Guest.Data, 4));
    }
}
