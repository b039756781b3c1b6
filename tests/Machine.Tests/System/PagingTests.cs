using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using static Repl.Machine.Tests.SystemArchitecture.PageTables;

namespace Repl.Machine.Tests.SystemArchitecture;

public class PagingTests
{
    /// <summary>A linear page the tests map (or leave unmapped), far from the identity-mapped code.</summary>
    const ulong V = 0x1_0000_0000;
    /// <summary>Two physical frames to map it to, with different contents.</summary>
    const ulong Frame1 = 0x30_0000, Frame2 = 0x30_1000;
    const ulong Value1 = 0x1111_1111_1111_1111, Value2 = 0x2222_2222_2222_2222;

    static (Machine Machine, PageTables Tables) WithData(Action<Assembler> build, ulong flags, int levels = 4, bool user = false)
    {
        var (m, t) = PageTables.Machine(build, levels, user);
        m.Bus.Write(Frame1, 8, Value1);
        m.Bus.Write(Frame2, 8, Value2);
        t.Map(V, Frame1, flags);
        m.WriteRegister(Register.Rsi, V);
        return (m, t);
    }

    static void ExpectPageFault(Machine m, uint errorCode, ulong cr2, ulong rip = Guest.CodeAddress)
    {
        var stop = m.Run(100);
        Assert.Equal(StopKind.Fault, stop.Kind);
        Assert.Equal(Vector.PF, stop.Vector);
        Assert.Equal(errorCode, stop.ErrorCode);
        Assert.Equal(cr2, m.State.Cr2);
        Assert.Equal(rip, stop.Rip);
    }

    [Theory]
    [InlineData(CpuVendor.Intel)]
    [InlineData(CpuVendor.Amd)]
    public void CPUID_reports_the_paging_features_and_46_bit_physical_57_bit_linear_addresses(CpuVendor vendor)
    {
        var (_, _, ecx1, edx1) = Identification.Cpuid(vendor, 1, 0);
        var (_, ebx7, ecx7, _) = Identification.Cpuid(vendor, 7, 0);
        var (_, _, _, edx81) = Identification.Cpuid(vendor, 0x8000_0001, 0);
        Assert.Equal(1u << 6 | 1u << 13 | 1u << 16, edx1 & (1u << 6 | 1u << 13 | 1u << 16)); // PAE, PGE, PAT
        Assert.Equal(0u, edx1 & 1u << 3); // PSE belongs to 32-bit paging, which is not modelled
        Assert.NotEqual(0u, ecx1 & 1u << 17); // PCID
        Assert.Equal(1u << 7 | 1u << 10 | 1u << 20, ebx7 & (1u << 7 | 1u << 10 | 1u << 20)); // SMEP, INVPCID, SMAP
        Assert.NotEqual(0u, ecx7 & 1u << 16); // LA57
        Assert.Equal(1u << 20 | 1u << 26, edx81 & (1u << 20 | 1u << 26)); // NX, 1-GByte pages
        Assert.Equal(46u | 57u << 8, Identification.Cpuid(vendor, 0x8000_0008, 0).Eax);
    }

    [Fact]
    public void Four_level_paging_translates_4k_2m_and_1g_pages()
    {
        var (m, t) = PageTables.Machine(a =>
        {
            a.mov(rax, __qword_ptr[rsi]);
            a.mov(rbx, __qword_ptr[rdi]);
            a.mov(rcx, __qword_ptr[rbp]);
            a.hlt();
        });
        t.Map(0x1_0000_0000, 0x30_0000, Present);
        t.Map(0x2_0000_0000, 0x20_0000, Present, pageShift: 21);
        t.Map(0x40_0000_0000, 0, Present, pageShift: 30);
        m.Bus.Write(0x30_0018, 8, 0xAAAA);
        m.Bus.Write(0x21_2340, 8, 0xBBBB);
        m.Bus.Write(0x50_0008, 8, 0xCCCC);
        m.WriteRegister(Register.Rsi, 0x1_0000_0018);
        m.WriteRegister(Register.Rdi, 0x2_0001_2340);
        m.WriteRegister(Register.Rbp, 0x40_0050_0008);

        Guest.RunToHalt(m);
        Assert.Equal(0xAAAAUL, m.ReadRegister(Register.Rax));
        Assert.Equal(0xBBBBUL, m.ReadRegister(Register.Rbx));
        Assert.Equal(0xCCCCUL, m.ReadRegister(Register.Rcx));
    }

    [Fact]
    public void Five_level_paging_translates_an_address_above_the_4_level_range()
    {
        const ulong High = 0x0080_0000_1234_5000; // bit 55 set: canonical only with 57-bit linear addresses
        var (m, t) = PageTables.Machine(a => { a.mov(rax, __qword_ptr[rsi]); a.hlt(); }, levels: 5);
        t.Map(High, Frame1, Present);
        m.Bus.Write(Frame1 + 8, 8, Value1);
        m.WriteRegister(Register.Rsi, High + 8);

        Guest.RunToHalt(m);
        Assert.Equal(Value1, m.ReadRegister(Register.Rax));
        Assert.Equal(5, t.EntriesFor(High).Count);
    }

    [Fact]
    public void A_read_sets_accessed_on_every_level_and_a_later_write_sets_dirty_on_the_leaf_only()
    {
        var (m, t) = WithData(a => { a.mov(rax, __qword_ptr[rsi]); a.mov(__qword_ptr[rsi], rax); a.hlt(); }, Present | Writable);
        var entries = t.EntriesFor(V);

        m.Step(1);
        Assert.All(entries, e => Assert.Equal(Accessed, t.Read(e) & (Accessed | Dirty)));

        Guest.RunToHalt(m);
        Assert.Equal(Accessed | Dirty, t.Read(entries[^1]) & (Accessed | Dirty));
        Assert.All(entries[..^1], e => Assert.Equal(0UL, t.Read(e) & Dirty));
    }

    [Fact]
    public void A_read_of_a_not_present_page_faults_with_error_code_0_and_CR2()
    {
        var (m, _) = PageTables.Machine(a => { a.mov(rax, __qword_ptr[rsi]); a.hlt(); });
        m.WriteRegister(Register.Rsi, V + 0x123);
        ExpectPageFault(m, 0, V + 0x123);
    }

    [Fact]
    public void A_write_to_a_not_present_page_faults_with_W_set()
    {
        var (m, _) = PageTables.Machine(a => { a.mov(__qword_ptr[rsi], rax); a.hlt(); });
        m.WriteRegister(Register.Rsi, V);
        ExpectPageFault(m, 2, V);
    }

    [Fact]
    public void A_user_write_to_a_read_only_page_faults_with_P_W_U()
    {
        var (m, _) = WithData(a => { a.mov(__qword_ptr[rsi], rax); a.hlt(); }, Present | User, user: true);
        Guest.RunAtCpl3(m);
        ExpectPageFault(m, 7, V);
        Assert.Equal(Value1, m.Bus.Read(Frame1, 8));
    }

    [Fact]
    public void A_user_read_of_a_supervisor_page_faults_with_P_U()
    {
        var (m, _) = WithData(a => { a.mov(rax, __qword_ptr[rsi]); a.hlt(); }, Present | Writable, user: true);
        Guest.RunAtCpl3(m);
        ExpectPageFault(m, 5, V);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_supervisor_write_to_a_read_only_page_faults_only_with_CR0_WP(bool wp)
    {
        var (m, _) = WithData(a => { a.mov(__qword_ptr[rsi], rax); a.hlt(); }, Present);
        m.WriteRegister(Register.Rax, 0x77);
        if (wp)
            m.State.Cr0 |= CpuState.Cr0WP;
        if (wp)
            ExpectPageFault(m, 3, V);
        else
        {
            Guest.RunToHalt(m);
            Assert.Equal(0x77UL, m.Bus.Read(Frame1, 8));
        }
    }

    [Fact]
    public void Fetching_from_an_execute_disable_page_faults_with_P_and_I_at_the_target()
    {
        var (m, _) = WithData(a => { a.jmp(rsi); }, Present | Writable | ExecuteDisable);
        m.State.Efer |= CpuState.EferNXE;
        ExpectPageFault(m, 0x11, V, rip: V);
    }

    [Fact]
    public void Execute_disable_without_EFER_NXE_is_a_reserved_bit()
    {
        var (m, _) = WithData(a => { a.mov(rax, __qword_ptr[rsi]); a.hlt(); }, Present | ExecuteDisable);
        ExpectPageFault(m, 9, V);
    }

    [Fact]
    public void A_physical_address_bit_above_MAXPHYADDR_is_a_reserved_bit_fault_on_a_write()
    {
        var (m, _) = WithData(a => { a.mov(__qword_ptr[rsi], rax); a.hlt(); }, Present | Writable | 1UL << 50);
        ExpectPageFault(m, 0xB, V);
    }

    [Fact]
    public void A_2M_page_whose_frame_is_not_2M_aligned_is_a_reserved_bit_fault()
    {
        var (m, t) = PageTables.Machine(a => { a.mov(rax, __qword_ptr[rsi]); a.hlt(); });
        t.Map(V, 0x20_0000 | 1 << 13, Present, pageShift: 21);
        m.WriteRegister(Register.Rsi, V);
        ExpectPageFault(m, 9, V);
    }

    [Fact]
    public void SMEP_forbids_supervisor_fetches_from_user_pages()
    {
        var (m, _) = WithData(a => { a.jmp(rsi); }, Present | User);
        m.Bus.Write(Frame1, 1, 0xF4); // hlt
        m.State.Cr4 |= CpuState.Cr4Smep;
        ExpectPageFault(m, 0x11, V, rip: V);
    }

    [Fact]
    public void SMAP_forbids_supervisor_reads_of_user_pages_unless_STAC_set_AC()
    {
        var (m, _) = WithData(a => { a.mov(rax, __qword_ptr[rsi]); a.stac(); a.mov(rbx, __qword_ptr[rsi]); a.hlt(); }, Present | User);
        m.State.Cr4 |= CpuState.Cr4Smap;
        ExpectPageFault(m, 1, V);

        m.State.Rip += 3; // past the faulting MOV
        Guest.RunToHalt(m);
        Assert.Equal(Value1, m.ReadRegister(Register.Rbx));
        Assert.NotEqual(0UL, m.State.Rflags & (ulong)RflagsBit.AC);
    }

    [Fact]
    public void An_implicit_supervisor_access_to_a_user_page_under_SMAP_faults_even_with_AC_set_and_at_CPL_3()
    {
        var (m, _) = WithData(a => a.hlt(), Present | User, user: true);
        m.State.Cr4 |= CpuState.Cr4Smap;
        m.State.Rflags |= (ulong)RflagsBit.AC;
        Guest.RunAtCpl3(m);
        Assert.Equal(Value1, m.Cpu.ReadLinear(V, 8)); // the same page, read explicitly by user code
        var fault = Assert.Throws<CpuFault>(() => m.Cpu.ReadImplicitSupervisor(V, 8));
        Assert.Equal(Vector.PF, fault.Vector);
        Assert.Equal(1u, fault.ErrorCode);
        Assert.Equal(V, fault.PageFaultAddress);
    }

    [Fact]
    public void STAC_and_CLAC_are_undefined_at_CPL_3()
    {
        var m = Guest.Long(a => { a.clac(); a.hlt(); });
        Guest.RunAtCpl3(m);
        Expect.FaultAtFirstInstruction(m, Vector.UD, null);
    }

    [Fact]
    public void An_instruction_straddling_into_an_unmapped_page_faults_at_that_page_only_when_executed()
    {
        const ulong Start = Guest.CodeAddress + 0x1FFC, Boundary = Guest.CodeAddress + 0x2000;
        var (m, t) = PageTables.Machine(a => a.hlt());
        // inc ebx; then mov eax, 0x44332211 whose last three bytes lie in the next page; hlt.
        m.WritePhysical(Start, [0xFF, 0xC3, 0xB8, 0x11]);
        m.WritePhysical(Boundary, [0x22, 0x33, 0x44, 0xF4]);
        m.State.Rip = Start;
        m.State.Efer |= CpuState.EferNXE;

        ExpectPageFault(m, 0x10, Boundary, rip: Start + 2);
        Assert.Equal(1UL, m.ReadRegister(Register.Rbx));

        t.Map(Boundary, Boundary, Present);
        Guest.RunToHalt(m);
        Assert.Equal(0x4433_2211UL, m.ReadRegister(Register.Rax));
    }

    /// <summary>Reads V, lets the test remap V to <see cref="Frame2"/> behind the TLB's back, then runs the rest.</summary>
    static Machine ReadRemapAndContinue(Action<Assembler> rest, ulong flags = Present | Writable, Action<Machine>? setup = null)
    {
        var (m, t) = WithData(a => { a.mov(rax, __qword_ptr[rsi]); rest(a); a.hlt(); }, flags);
        setup?.Invoke(m);
        Assert.Equal(StopKind.StepDone, m.Step(1).Kind);
        Assert.Equal(Value1, m.ReadRegister(Register.Rax));
        t.Write(t.EntriesFor(V)[^1], Frame2 | flags);
        Guest.RunToHalt(m);
        return m;
    }

    [Fact]
    public void INVLPG_makes_a_changed_mapping_visible_and_until_then_the_TLB_keeps_the_old_one()
    {
        var m = ReadRemapAndContinue(a => { a.mov(rbx, __qword_ptr[rsi]); a.invlpg(__[rsi]); a.mov(rcx, __qword_ptr[rsi]); });
        Assert.Equal(Value1, m.ReadRegister(Register.Rbx));
        Assert.Equal(Value2, m.ReadRegister(Register.Rcx));
    }

    [Fact]
    public void INVLPG_of_any_address_in_a_2M_page_drops_every_cached_piece_of_it()
    {
        const ulong Large = 0x2_0000_0000;
        var (m, t) = PageTables.Machine(a => { a.mov(rax, __qword_ptr[rsi]); a.invlpg(__[rdi]); a.mov(rbx, __qword_ptr[rsi]); a.hlt(); });
        ulong pde = t.Map(Large, 0x20_0000, Present, pageShift: 21);
        m.Bus.Write(0x23_4000, 8, Value1);
        m.Bus.Write(0x43_4000, 8, Value2);
        m.WriteRegister(Register.Rsi, Large + 0x3_4000);
        m.WriteRegister(Register.Rdi, Large + 0x1F_F000); // another 4 KiB piece of the same page

        m.Step(1);
        t.Write(pde, 0x40_0000 | Present | PageSize);
        Guest.RunToHalt(m);
        Assert.Equal(Value1, m.ReadRegister(Register.Rax));
        Assert.Equal(Value2, m.ReadRegister(Register.Rbx));
    }

    [Fact]
    public void A_CR3_write_flushes_non_global_translations()
    {
        var m = ReadRemapAndContinue(a => { a.mov(rbx, __qword_ptr[rsi]); a.mov(cr3, rdx); a.mov(rcx, __qword_ptr[rsi]); },
            setup: m => m.WriteRegister(Register.Rdx, m.State.Cr3));
        Assert.Equal(Value1, m.ReadRegister(Register.Rbx));
        Assert.Equal(Value2, m.ReadRegister(Register.Rcx));
    }

    [Fact]
    public void With_PCIDs_a_CR3_write_with_bit_63_keeps_the_PCID_translations_and_without_it_flushes_them()
    {
        var m = ReadRemapAndContinue(a => { a.mov(cr3, rdx); a.mov(rbx, __qword_ptr[rsi]); a.mov(cr3, rdi); a.mov(rcx, __qword_ptr[rsi]); },
            setup: m =>
            {
                m.State.Cr4 |= CpuState.Cr4Pcide;
                m.State.Cr3 |= 1;
                m.WriteRegister(Register.Rdx, m.State.Cr3 | 1UL << 63);
                m.WriteRegister(Register.Rdi, m.State.Cr3);
            });
        Assert.Equal(Value1, m.ReadRegister(Register.Rbx));
        Assert.Equal(Value2, m.ReadRegister(Register.Rcx));
        Assert.Equal(0UL, m.State.Cr3 >> 63);
    }

    [Fact]
    public void Global_pages_survive_a_CR3_write_and_go_when_CR4_PGE_changes()
    {
        var m = ReadRemapAndContinue(a =>
        {
            a.mov(cr3, rdx);
            a.mov(rbx, __qword_ptr[rsi]);
            a.mov(r8, cr4);
            a.btr(r8, 7);
            a.mov(cr4, r8);
            a.mov(rcx, __qword_ptr[rsi]);
        }, Present | Writable | Global, m =>
        {
            m.State.Cr4 |= CpuState.Cr4Pge;
            m.WriteRegister(Register.Rdx, m.State.Cr3);
        });
        Assert.Equal(Value1, m.ReadRegister(Register.Rbx));
        Assert.Equal(Value2, m.ReadRegister(Register.Rcx));
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(2, false)]
    public void INVPCID_type_0_drops_an_address_only_in_the_PCID_it_names(int pcid, bool dropped)
    {
        const ulong Descriptor = Guest.StackTop - 0x100;
        var m = ReadRemapAndContinue(a => { a.invpcid(rdx, __[rdi]); a.mov(rcx, __qword_ptr[rsi]); }, setup: m =>
        {
            m.State.Cr4 |= CpuState.Cr4Pcide;
            m.State.Cr3 |= 1;
            m.Bus.Write(Descriptor, 8, (ulong)pcid);
            m.Bus.Write(Descriptor + 8, 8, V);
            m.WriteRegister(Register.Rdi, Descriptor);
            m.WriteRegister(Register.Rdx, 0);
        });
        Assert.Equal(dropped ? Value2 : Value1, m.ReadRegister(Register.Rcx));
    }

    [Theory]
    [InlineData(2, true)]
    [InlineData(3, false)]
    public void INVPCID_type_2_drops_global_translations_and_type_3_keeps_them(int type, bool dropped)
    {
        var m = ReadRemapAndContinue(a => { a.invpcid(rdx, __[rdi]); a.mov(rcx, __qword_ptr[rsi]); }, Present | Writable | Global, m =>
        {
            m.State.Cr4 |= CpuState.Cr4Pge;
            m.WriteRegister(Register.Rdi, Guest.StackTop - 0x100); // a zero descriptor
            m.WriteRegister(Register.Rdx, (ulong)type);
        });
        Assert.Equal(dropped ? Value2 : Value1, m.ReadRegister(Register.Rcx));
    }

    [Theory]
    [InlineData(4, 0UL)]
    [InlineData(1, 1UL << 12)]
    [InlineData(1, 5UL)] // a non-zero PCID while CR4.PCIDE = 0
    public void INVPCID_raises_GP_for_a_bad_type_or_descriptor(ulong type, ulong descriptor)
    {
        var m = Guest.Long(a => { a.invpcid(rdx, __[rdi]); a.hlt(); });
        m.Bus.Write(Guest.Data, 8, descriptor);
        m.WriteRegister(Register.Rdi, Guest.Data);
        m.WriteRegister(Register.Rdx, type);
        Expect.FaultWithoutEffect(m, Vector.GP, 0);
    }

    [Fact]
    public void Two_roots_with_their_own_PCIDs_keep_their_translations_apart_across_no_flush_switches()
    {
        var (m, a) = WithData(asm =>
        {
            asm.mov(rax, __qword_ptr[rsi]);
            asm.mov(cr3, rdx);
            asm.mov(rbx, __qword_ptr[rsi]);
            asm.mov(cr3, rdi);
            asm.mov(rcx, __qword_ptr[rsi]);
            asm.hlt();
        }, Present);
        var b = new PageTables(m, pool: Pool + 0x10_0000);
        b.Map(Guest.CodeAddress, Guest.CodeAddress, Present);
        b.Map(V, Frame2, Present);
        m.State.Cr4 |= CpuState.Cr4Pcide;
        m.State.Cr3 = a.Root | 1;
        m.WriteRegister(Register.Rdx, b.Root | 2 | 1UL << 63);
        m.WriteRegister(Register.Rdi, a.Root | 1 | 1UL << 63);

        Guest.RunToHalt(m);
        Assert.Equal(Value1, m.ReadRegister(Register.Rax));
        Assert.Equal(Value2, m.ReadRegister(Register.Rbx));
        Assert.Equal(Value1, m.ReadRegister(Register.Rcx));
    }

    [Fact]
    public void Code_at_one_linear_address_mapped_differently_by_two_roots_runs_the_right_bytes_after_a_CR3_switch()
    {
        var (m, a) = PageTables.Machine(asm => { asm.call(rsi); asm.mov(cr3, rdx); asm.call(rsi); asm.hlt(); });
        a.Map(V, Frame1, Present);
        var b = new PageTables(m, pool: Pool + 0x10_0000);
        b.Map(Guest.CodeAddress, Guest.CodeAddress, Present);
        b.Map(Guest.StackTop - 0x1000, Guest.StackTop - 0x1000, Present | Writable);
        b.Map(V, Frame2, Present);
        m.WritePhysical(Frame1, [0x83, 0xC0, 0x01, 0xC3]); // add eax, 1; ret
        m.WritePhysical(Frame2, [0x83, 0xC0, 0x0A, 0xC3]); // add eax, 10; ret
        m.WriteRegister(Register.Rsi, V);
        m.WriteRegister(Register.Rdx, b.Root);

        Guest.RunToHalt(m);
        Assert.Equal(11UL, m.ReadRegister(Register.Rax));
    }

    [Fact]
    public void The_debugger_translates_without_setting_accessed_bits_and_reads_up_to_an_unmapped_page()
    {
        var (m, t) = WithData(a => a.hlt(), Present);
        m.Bus.Write(Frame1 + 0xFF8, 8, 0x0807_0605_0403_0201);

        Assert.True(m.TryTranslate(V + 0x10, out ulong physical));
        Assert.Equal(Frame1 + 0x10, physical);
        Assert.False(m.TryTranslate(V + 0x1000, out _));
        Assert.All(t.EntriesFor(V), e => Assert.Equal(0UL, t.Read(e) & Accessed));

        var buffer = new byte[16];
        Assert.Equal(8, m.ReadVirtual(V + 0xFF8, buffer));
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8], buffer[..8]);
        Assert.Equal(4, m.WriteVirtual(V + 0xFFC, new byte[] { 9, 9, 9, 9, 9 }));
        Assert.Equal(0x0909_0909_0403_0201UL, m.Bus.Read(Frame1 + 0xFF8, 8));
    }

    [Fact]
    public void The_debugger_can_translate_through_another_CR3()
    {
        var (m, _) = WithData(a => a.hlt(), Present);
        var other = new PageTables(m, pool: Pool + 0x10_0000);
        other.Map(V, Frame2, Present);

        Assert.True(m.TryTranslate(V, other.Root, out ulong physical));
        Assert.Equal(Frame2, physical);
        var buffer = new byte[8];
        Assert.Equal(8, m.ReadVirtual(V, buffer, other.Root));
        Assert.Equal(Value2, BitConverter.ToUInt64(buffer));
    }

    [Fact]
    public void The_tlb_view_lists_a_read_translation_with_its_rights_until_invlpg_drops_it()
    {
        var (m, _) = WithData(a => { a.mov(rax, __qword_ptr[rsi]); a.hlt(); a.invlpg(__[rsi]); a.hlt(); }, PageTables.Present | PageTables.User);

        Assert.Equal(StopKind.Halted, m.Run(100).Kind);
        var cached = Assert.Single(m.TlbEntries(), e => e.Linear == V);
        // Read-only, executable (no NX), for both privileges; a write would walk again to set the dirty bit.
        Assert.Equal((Frame1, 0x1000UL, (int?)0, "r-x", "r-x"), (cached.Physical, cached.PageSize, cached.Pcid, cached.User, cached.Supervisor));

        Assert.Equal(StopKind.Halted, m.Run(100).Kind);
        Assert.DoesNotContain(m.TlbEntries(), e => e.Linear == V);
    }
}
