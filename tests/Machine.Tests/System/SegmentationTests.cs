using static Iced.Intel.AssemblerRegisters;
using static Repl.Machine.Tests.SystemTables;

namespace Repl.Machine.Tests.SystemArchitecture;

public class SegmentationTests
{
    /// <summary>A machine with the tables installed that stops at every exception.</summary>
    static Machine Create(int bitness, Action<Iced.Intel.Assembler> build)
    {
        var m = Guest.Create(bitness, build);
        Install(m);
        Guest.CatchAll(m);
        return m;
    }

    static SegmentCache Segment(Machine m, SegmentRegister r) => m.State.Segments[(int)r];

    [Fact]
    public void MOV_to_DS_loads_base_limit_and_attributes_and_sets_the_accessed_bit()
    {
        var m = Create(32, a => { a.mov(ax, Spare); a.mov(ds, ax); a.mov(eax, __dword_ptr[0x10]); a.hlt(); });
        SetDescriptor(m, Spare, Descriptor(Guest.Data, 0xFFF, DataAccess, 0x4));
        m.Bus.Write(Guest.Data + 0x10, 4, 0xCAFE);

        Guest.RunToHalt(m);
        var loaded = Segment(m, SegmentRegister.Ds);
        Assert.Equal(Spare, loaded.Selector);
        Assert.Equal(Guest.Data, loaded.Base);
        Assert.Equal(0xFFFU, loaded.Limit);
        Assert.Equal(0x4093, loaded.Attributes);
        Assert.Equal(0x93UL, ReadDescriptor(m, Spare) >> 40 & 0xFF);
        Assert.Equal(0xCAFEUL, m.State.Gpr[(int)Gpr.Rax]); // read through the new base
    }

    [Fact]
    public void A_granular_limit_is_scaled_to_bytes()
    {
        var m = Create(64, a => { a.mov(fs, ax); a.hlt(); });
        SetDescriptor(m, Spare, Descriptor(0x1234_5678, 0xF, DataAccess, 0xC));
        m.State.Gpr[(int)Gpr.Rax] = Spare;
        Guest.RunToHalt(m);
        Assert.Equal(0xFFFFU, Segment(m, SegmentRegister.Fs).Limit);
        Assert.Equal(0x1234_5678UL, Segment(m, SegmentRegister.Fs).Base);
    }

    [Theory]
    [InlineData(0x13, 0x10)] // RPL 3 at CPL 0
    [InlineData(UserDs, UserDs & ~3)] // DPL 3 at CPL 0
    [InlineData(KernelCs, KernelCs)] // code
    [InlineData(0x80, 0x80)] // beyond the GDT limit
    [InlineData(0x44, 0x44)] // in the LDT, which is null
    public void MOV_SS_with_a_selector_it_cannot_use_raises_GP_with_the_selector(int selector, int errorCode)
    {
        var m = Create(64, a => a.mov(ss, ax));
        m.State.Gpr[(int)Gpr.Rax] = (ulong)selector;
        Expect.FaultWithoutEffect(m, Vector.GP, (uint)errorCode);
    }

    [Fact]
    public void Not_present_segments_raise_NP_for_data_and_SS_for_the_stack()
    {
        var m = Create(64, a => a.mov(ds, ax));
        SetDescriptor(m, Spare, Descriptor(0, 0xFFFFF, DataAccess & 0x7F, Flags32));
        m.State.Gpr[(int)Gpr.Rax] = Spare;
        Expect.FaultWithoutEffect(m, Vector.NP, Spare);

        m = Create(64, a => a.mov(ss, ax));
        SetDescriptor(m, Spare, Descriptor(0, 0xFFFFF, DataAccess & 0x7F, Flags32));
        m.State.Gpr[(int)Gpr.Rax] = Spare;
        Expect.FaultWithoutEffect(m, Vector.SS, Spare);
    }

    [Fact]
    public void At_CPL_3_a_DPL_0_data_segment_or_an_execute_only_code_segment_cannot_be_loaded_into_DS()
    {
        var m = Create(64, a => a.mov(ds, ax));
        EnterUserMode(m, Guest.CodeAddress, Guest.StackTop);
        m.State.Gpr[(int)Gpr.Rax] = KernelDs | 3;
        Expect.FaultWithoutEffect(m, Vector.GP, KernelDs);

        m = Create(64, a => a.mov(ds, ax));
        SetDescriptor(m, Spare, Descriptor(0, 0xFFFFF, 0x98, Flags32)); // execute-only code
        m.State.Gpr[(int)Gpr.Rax] = Spare;
        Expect.FaultWithoutEffect(m, Vector.GP, Spare);
    }

    [Fact]
    public void A_null_SS_is_allowed_in_64_bit_mode_at_CPL_0_but_not_in_protected_mode()
    {
        var m = Create(64, a => { a.mov(ss, ax); a.hlt(); });
        m.State.Gpr[(int)Gpr.Rax] = 0;
        Guest.RunToHalt(m);
        Assert.Equal(0, Segment(m, SegmentRegister.Ss).Selector);

        m = Create(32, a => a.mov(ss, ax));
        m.State.Gpr[(int)Gpr.Rax] = 0;
        Expect.FaultWithoutEffect(m, Vector.GP, 0);
    }

    [Fact]
    public void A_null_selector_in_FS_clears_its_base_on_Intel_and_keeps_it_on_AMD()
    {
        foreach (var (vendor, expected) in new[] { (CpuVendor.Intel, 0UL), (CpuVendor.Amd, 0x7000UL) })
        {
            var m = Guest.Long(a => { a.mov(fs, ax); a.hlt(); }, vendor);
            Install(m);
            m.State.Segments[(int)SegmentRegister.Fs].Base = 0x7000;
            m.State.Gpr[(int)Gpr.Rax] = 0;
            Guest.RunToHalt(m);
            Assert.Equal(expected, Segment(m, SegmentRegister.Fs).Base);
            Assert.False(Segment(m, SegmentRegister.Fs).Present);
        }
    }

    [Fact]
    public void MOV_from_a_segment_register_zero_extends_into_a_register_and_stores_16_bits_to_memory()
    {
        var m = Create(64, a => { a.mov(eax, ss); a.mov(__word_ptr[rbx], ds); a.hlt(); });
        m.State.Gpr[(int)Gpr.Rax] = ulong.MaxValue;
        m.State.Gpr[(int)Gpr.Rbx] = Guest.Data;
        m.Bus.Write(Guest.Data, 8, ulong.MaxValue);
        Guest.RunToHalt(m);
        Assert.Equal((ulong)KernelDs, m.State.Gpr[(int)Gpr.Rax]);
        Assert.Equal(0xFFFF_FFFF_FFFF_0000UL | KernelDs, m.Bus.Read(Guest.Data, 8));
    }

    [Fact]
    public void MOV_to_CS_is_undefined()
    {
        var m = Guest.FromBytes(64, 0x8E, 0xC8); // mov cs, ax
        Expect.FaultWithoutEffect(m, Vector.UD, null);
    }

    [Fact]
    public void POP_of_a_segment_register_loads_it_and_moves_the_stack_only_on_success()
    {
        var m = Create(32, a => { a.push(UserDs); a.pop(es); a.push(UserDs); a.pop(ss); });
        Assert.Equal(StopKind.StepDone, m.Step(2).Kind);
        Assert.Equal(UserDs, Segment(m, SegmentRegister.Es).Selector);
        Assert.Equal(Guest.StackTop, m.State.Gpr[(int)Gpr.Rsp]);
        var stop = m.Run(10);
        Assert.Equal(Vector.GP, stop.Vector); // SS needs RPL = DPL = CPL
        Assert.Equal((uint)(UserDs & ~3), stop.ErrorCode);
        Assert.Equal(Guest.StackTop - 4, m.State.Gpr[(int)Gpr.Rsp]);
    }

    [Fact]
    public void LGDT_and_SGDT_load_and_store_a_ten_byte_pseudo_descriptor_in_64_bit_mode()
    {
        var m = Create(64, a => { a.lgdt(__[rbx]); a.sgdt(__[rbx + 16]); a.hlt(); });
        m.State.Gpr[(int)Gpr.Rbx] = Guest.Data;
        m.Bus.Write(Guest.Data, 2, 0x3FF);
        m.Bus.Write(Guest.Data + 2, 8, 0xFFFF_8000_1234_5000);
        Guest.RunToHalt(m);
        Assert.Equal(0xFFFF_8000_1234_5000UL, m.State.Gdtr.Base);
        Assert.Equal(0x3FF, m.State.Gdtr.Limit);
        Assert.Equal(0x3FFUL, m.Bus.Read(Guest.Data + 16, 2));
        Assert.Equal(0xFFFF_8000_1234_5000UL, m.Bus.Read(Guest.Data + 18, 8));
    }

    [Fact]
    public void LIDT_in_32_bit_code_with_a_16_bit_operand_size_keeps_24_bits_of_base()
    {
        var m = Guest.FromBytes(32, 0x66, 0x0F, 0x01, 0x1B, 0xF4); // o16 lidt [ebx]; hlt
        Install(m);
        m.State.Gpr[(int)Gpr.Rbx] = Guest.Data;
        m.Bus.Write(Guest.Data, 2, 0xFF);
        m.Bus.Write(Guest.Data + 2, 4, 0x1234_5678);
        Guest.RunToHalt(m);
        Assert.Equal(0x34_5678UL, m.State.Idtr.Base);
    }

    [Fact]
    public void LGDT_LIDT_LLDT_and_LTR_are_privileged()
    {
        foreach (var build in new Action<Iced.Intel.Assembler>[] { a => a.lgdt(__[rbx]), a => a.lidt(__[rbx]), a => a.lldt(ax), a => a.ltr(ax) })
        {
            var m = Create(64, build);
            EnterUserMode(m, Guest.CodeAddress, Guest.StackTop);
            m.State.Gpr[(int)Gpr.Rbx] = Guest.Data;
            Expect.FaultWithoutEffect(m, Vector.GP, 0);
        }
    }

    [Fact]
    public void LTR_loads_a_16_byte_TSS_descriptor_and_marks_it_busy_and_STR_reads_the_selector()
    {
        var m = Create(64, a => { a.ltr(ax); a.str(ecx); a.hlt(); });
        SetDescriptor(m, Spare, Descriptor(0x1234_5000, 0x67, 0x89, 0));
        SetDescriptor(m, Spare + 8, 0xFFFF_8000);
        m.State.Gpr[(int)Gpr.Rax] = Spare;
        m.State.Gpr[(int)Gpr.Rcx] = ulong.MaxValue;
        Guest.RunToHalt(m);
        Assert.Equal(0xFFFF_8000_1234_5000UL, m.State.Tr.Base);
        Assert.Equal(0x67U, m.State.Tr.Limit);
        Assert.Equal(0x8BUL, ReadDescriptor(m, Spare) >> 40 & 0xFF);
        Assert.Equal((ulong)Spare, m.State.Gpr[(int)Gpr.Rcx]);
    }

    [Fact]
    public void LTR_of_a_busy_or_null_TSS_raises_GP()
    {
        var m = Create(64, a => a.ltr(ax));
        m.State.Gpr[(int)Gpr.Rax] = TssSelector; // Install left it busy
        Expect.FaultWithoutEffect(m, Vector.GP, TssSelector);

        m = Create(64, a => a.ltr(ax));
        m.State.Gpr[(int)Gpr.Rax] = 0;
        Expect.FaultWithoutEffect(m, Vector.GP, 0);
    }

    [Fact]
    public void LLDT_makes_selectors_with_TI_set_name_LDT_descriptors()
    {
        const ulong Ldt = 0x30_3000;
        var m = Create(64, a => { a.lldt(ax); a.mov(ax, 0x0C); a.mov(ds, ax); a.sldt(ecx); a.hlt(); });
        SetDescriptor(m, Spare, Descriptor(Ldt, 0xF, 0x82, 0));
        m.Bus.Write(Ldt + 8, 8, Descriptor(0x5000, 0xFFFF, DataAccess, Flags32));
        m.State.Gpr[(int)Gpr.Rax] = Spare;
        Guest.RunToHalt(m);
        Assert.Equal(Ldt, m.State.Ldtr.Base);
        Assert.Equal(0x5000UL, Segment(m, SegmentRegister.Ds).Base);
        Assert.Equal((ulong)Spare, m.State.Gpr[(int)Gpr.Rcx]);
    }

    [Fact]
    public void LLDT_of_a_descriptor_that_is_not_an_LDT_raises_GP_with_the_selector()
    {
        var m = Create(64, a => a.lldt(ax));
        m.State.Gpr[(int)Gpr.Rax] = KernelDs;
        Expect.FaultWithoutEffect(m, Vector.GP, KernelDs);
    }

    [Fact]
    public void LAR_and_LSL_read_access_rights_and_the_scaled_limit_and_set_ZF()
    {
        var m = Create(64, a => { a.lar(eax, ecx); a.lsl(edx, ecx); a.hlt(); });
        m.State.Gpr[(int)Gpr.Rcx] = KernelDs;
        m.State.Gpr[(int)Gpr.Rax] = ulong.MaxValue;
        Guest.RunToHalt(m);
        Assert.Equal(0x00CF_9200UL, m.State.Gpr[(int)Gpr.Rax]); // G, D/B, limit 19:16, P, S, writable data
        Assert.Equal(0xFFFF_FFFFUL, m.State.Gpr[(int)Gpr.Rdx]);
        Assert.True(m.State.ZF);
    }

    [Fact]
    public void LAR_leaves_its_destination_and_clears_ZF_for_a_selector_beyond_the_GDT_or_a_segment_more_privileged_than_CPL()
    {
        foreach (ushort selector in new ushort[] { 0x80, KernelDs | 3 })
        {
            var m = Create(64, a => { a.stc(); a.lar(eax, ecx); a.hlt(); });
            EnterUserMode(m, Guest.CodeAddress, Guest.StackTop);
            m.State.Gpr[(int)Gpr.Rcx] = selector;
            m.State.Rflags |= (ulong)RflagsBit.ZF;
            m.State.Gpr[(int)Gpr.Rax] = 0x1234;
            m.Cpu.CatchExceptions.Remove(Vector.GP); // the HLT at CPL 3 is delivered to its handler
            m.Run(10);
            Assert.Equal(0x1234UL, m.State.Gpr[(int)Gpr.Rax]);
            Assert.False((m.State.Rflags & (ulong)RflagsBit.ZF) != 0, $"selector {selector:x}");
        }
    }

    [Fact]
    public void LSL_accepts_a_TSS_but_LAR_only_counts_call_gates_and_VERR_VERW_tell_readable_from_writable()
    {
        var m = Create(64, a =>
        {
            a.lsl(eax, ecx);
            a.setz(bl);
            a.verr(dx);
            a.setz(bh);
            a.verw(dx);
            a.setz(sil);
            a.verw(di);
            a.setz(r8b);
            a.hlt();
        });
        m.State.Gpr[(int)Gpr.Rcx] = TssSelector;
        m.State.Gpr[(int)Gpr.Rdx] = KernelCs; // readable code
        m.State.Gpr[(int)Gpr.Rdi] = KernelDs;
        Guest.RunToHalt(m);
        Assert.Equal(0x67UL, m.State.Gpr[(int)Gpr.Rax]);
        Assert.Equal(0x0101UL, m.State.Gpr[(int)Gpr.Rbx] & 0xFFFF);
        Assert.Equal(0UL, m.State.Gpr[(int)Gpr.Rsi] & 0xFF);
        Assert.Equal(1UL, m.State.Gpr[(int)Gpr.R8] & 0xFF);
    }
}


public class IoPermissionBitmapTests
{
    const ulong Bitmap = 0x80;

    /// <summary>A CPL-3 machine with IOPL 0 whose TSS (limit <paramref name="limit"/>) has its I/O bitmap at 0x80,
    /// granting every port but those listed.</summary>
    static Machine Create(Action<Iced.Intel.Assembler> build, uint limit, params int[] denied)
    {
        var m = Guest.Long(build);
        Install(m);
        Guest.CatchAll(m);
        m.State.Tr.Limit = limit;
        m.Bus.Write(Tss + 0x66, 2, Bitmap);
        foreach (int port in denied)
            m.Bus.Write(Tss + Bitmap + (ulong)(port >> 3), 1, m.Bus.Read(Tss + Bitmap + (ulong)(port >> 3), 1) | 1UL << (port & 7));
        Guest.RunAtCpl3(m, iopl: 0);
        return m;
    }

    [Fact]
    public void Above_IOPL_a_port_whose_bitmap_bits_are_clear_is_accessible()
    {
        var recorded = new Cpu.RecordingPort();
        var m = Create(a => { a.@out(0x61, al); a.@out(dx, eax); a.nop(); }, limit: 0x200, denied: 0x3F8);
        m.Bus.MapPorts(0x61, 1, recorded);
        m.State.Gpr[(int)Gpr.Rdx] = 0x3FC;
        Assert.Equal(StopKind.StepDone, m.Step(3).Kind);
        Assert.Single(recorded.Outs);
    }

    [Fact]
    public void Above_IOPL_an_access_touching_a_denied_port_raises_GP_0()
    {
        var m = Create(a => a.@out(dx, eax), limit: 0x200, denied: 0x3FB);
        m.State.Gpr[(int)Gpr.Rdx] = 0x3F8; // the four ports 3F8-3FB
        Expect.FaultWithoutEffect(m, Vector.GP, 0);
    }

    [Fact]
    public void Above_IOPL_a_bitmap_beyond_the_TSS_limit_denies_the_port()
    {
        var m = Create(a => a.@in(al, 0x61), limit: (uint)Bitmap + 0x0C);
        Expect.FaultWithoutEffect(m, Vector.GP, 0);
        m = Create(a => a.@in(al, 0x61), limit: (uint)Bitmap + 0x0D);
        Assert.Equal(StopKind.StepDone, m.Step().Kind);
    }
}

public class FarTransferTests
{
    static Machine Create(params byte[] code)
    {
        var m = Guest.FromBytes(64, code);
        Install(m);
        Guest.CatchAll(m);
        m.State.Gpr[(int)Gpr.Rbx] = Guest.Data;
        return m;
    }

    static void FarPointer(Machine m, ulong offset, int offsetSize, ushort selector)
    {
        m.Bus.Write(Guest.Data, offsetSize, offset);
        m.Bus.Write(Guest.Data + (ulong)offsetSize, 2, selector);
    }

    [Fact]
    public void A_far_JMP_through_m16_64_to_a_32_bit_code_segment_enters_compatibility_mode()
    {
        var m = Create(0x48, 0xFF, 0x2B); // jmp far [rbx] (m16:64)
        SetDescriptor(m, Spare, Descriptor(0, 0xFFFFF, CodeAccess, Flags32));
        FarPointer(m, 0x10_2000, 8, Spare);
        m.Step();
        Assert.Equal(0x10_2000UL, m.State.Rip);
        Assert.Equal(32, m.State.CodeBitness);
        Assert.Equal(Spare, m.State.Cs.Selector);
        Assert.Equal(0x9BUL, ReadDescriptor(m, Spare) >> 40 & 0xFF); // accessed
    }

    [Fact]
    public void A_far_CALL_through_m16_32_in_64_bit_mode_pushes_two_four_byte_slots()
    {
        var m = Create(0xFF, 0x1B); // call far [rbx] (m16:32)
        FarPointer(m, 0x10_2000, 4, KernelCs);
        m.Step();
        Assert.Equal(0x10_2000UL, m.State.Rip);
        Assert.Equal(Guest.StackTop - 8, m.State.Gpr[(int)Gpr.Rsp]);
        Assert.Equal(Guest.CodeAddress + 2, m.Bus.Read(Guest.StackTop - 8, 4));
        Assert.Equal((ulong)KernelCs, m.Bus.Read(Guest.StackTop - 4, 4));
    }

    [Fact]
    public void A_far_JMP_to_a_code_segment_of_another_privilege_or_not_present_faults_with_its_selector()
    {
        var m = Create(0x48, 0xFF, 0x2B);
        FarPointer(m, 0x10_2000, 8, UserCs);
        Expect.FaultWithoutEffect(m, Vector.GP, UserCs & ~3);

        m = Create(0x48, 0xFF, 0x2B);
        SetDescriptor(m, Spare, Descriptor(0, 0xFFFFF, CodeAccess & 0x7F, Flags64));
        FarPointer(m, 0x10_2000, 8, Spare);
        Expect.FaultWithoutEffect(m, Vector.NP, Spare);
    }

    [Fact]
    public void A_far_RET_at_the_same_level_pops_four_byte_slots_by_default_in_64_bit_mode()
    {
        var m = Create(0xCB); // retf (32-bit operand size)
        m.Bus.Write(Guest.StackTop, 4, 0x10_2000);
        m.Bus.Write(Guest.StackTop + 4, 4, KernelCs);
        m.Step();
        Assert.Equal(0x10_2000UL, m.State.Rip);
        Assert.Equal(Guest.StackTop + 8, m.State.Gpr[(int)Gpr.Rsp]);
    }

    /// <summary>The pops of a far return or IRET at CPL 3 are user accesses (SDM Vol. 3, 4.6: only the accesses to
    /// system structures are implicit supervisor accesses), so SMAP does not stop them on a user stack. QEMU 7.2 makes
    /// them supervisor accesses and raises #PF(1): the entry kernel's self-test enters compatibility mode by far JMP.</summary>
    [Theory]
    [InlineData(new byte[] { 0x48, 0xCB })] // retfq
    [InlineData(new byte[] { 0x48, 0xCF })] // iretq
    public void At_CPL_3_under_SMAP_a_far_RET_or_IRET_pops_the_user_stack_into_compatibility_mode(byte[] code)
    {
        const ulong Stack = 0x6_0000, Target = 0x10_2000;
        var m = Create(code);
        EnterUserMode(m, Guest.CodeAddress, Stack);
        m.State.Cr4 |= CpuState.Cr4Smap;
        // Every page of this machine is a user page, and the GDT must not be (its reads are supervisor accesses):
        // the second GiB becomes a supervisor-only alias of the first, and GDTR points into it.
        const ulong Alias = 1UL << 30;
        m.Bus.Write((m.State.Cr3 & ~0xFFFUL) + 0x1000 + 8, 8, 0 | 1 | 2 | 1 << 7); // PDPT[1]: present, writable, 1 GiB, not user
        m.State.Gdtr = m.State.Gdtr with { Base = Gdt + Alias };
        ulong[] frame = [Target, UserCs32, 0x202, Stack - 0x100, UserDs]; // IRET pops all five, RET the first two
        for (int k = 0; k < frame.Length; k++)
            m.Bus.Write(Stack + (ulong)k * 8, 8, frame[k]);

        Assert.Equal(StopKind.StepDone, m.Step().Kind);
        Assert.Equal(Target, m.State.Rip);
        Assert.Equal(UserCs32, m.State.Segments[(int)SegmentRegister.Cs].Selector);
        Assert.False(m.State.Is64BitMode);
    }

    [Fact]
    public void A_far_RETQ_imm16_to_user_mode_loads_SS_RSP_releases_arguments_on_both_stacks_and_nulls_DS()
    {
        var m = Create(0x48, 0xCA, 0x10, 0x00); // retfq 16
        ulong[] frame = [0x10_2000, UserCs, 0xAA, 0xBB, 0x6_0000, UserDs];
        for (int k = 0; k < frame.Length; k++)
            m.Bus.Write(Guest.StackTop + (ulong)k * 8, 8, frame[k]);
        m.Step();
        Assert.Equal(0x10_2000UL, m.State.Rip);
        Assert.Equal(3, m.State.Cpl);
        Assert.Equal(0x6_0010UL, m.State.Gpr[(int)Gpr.Rsp]);
        Assert.Equal(UserDs, m.State.Segments[(int)SegmentRegister.Ss].Selector);
        Assert.Equal(0, m.State.Segments[(int)SegmentRegister.Ds].Selector);
    }

    /// <summary>A 64-bit call gate in GDT slots <see cref="Spare"/> and the next, to KernelCs:<paramref name="target"/>.</summary>
    static void SetCallGate(Machine m, ulong target, int dpl)
    {
        SetDescriptor(m, Spare, (target & 0xFFFF) | ((ulong)KernelCs << 16) | (0xCUL << 40) | ((ulong)dpl << 45) | (1UL << 47)
                                | ((target >> 16 & 0xFFFF) << 48));
        SetDescriptor(m, Spare + 8, target >> 32);
    }

    [Fact]
    public void A_far_CALL_through_a_DPL_3_call_gate_enters_CPL_0_on_RSP0_and_RETFQ_comes_back()
    {
        const ulong Kernel = 0x31_8000;
        var m = Create(0x48, 0xFF, 0x1B); // call far [rbx] (m16:64; the gate supplies the offset)
        m.WritePhysical(Kernel, [0x48, 0xCB]); // retfq
        SetCallGate(m, Kernel, dpl: 3);
        FarPointer(m, 0, 8, Spare | 3);
        EnterUserMode(m, Guest.CodeAddress, 0x6_0000);
        m.State.Gpr[(int)Gpr.Rbx] = Guest.Data;

        m.Step();
        Assert.Equal(Kernel, m.State.Rip);
        Assert.Equal(0, m.State.Cpl);
        Assert.Equal(0, m.State.Segments[(int)SegmentRegister.Ss].Selector);
        Assert.Equal(0x7_0000UL - 32, m.State.Gpr[(int)Gpr.Rsp]);
        Assert.Equal([Guest.CodeAddress + 3, UserCs, 0x6_0000, UserDs], Frame(m, 4));

        m.Step();
        Assert.Equal(3, m.State.Cpl);
        Assert.Equal(Guest.CodeAddress + 3, m.State.Rip);
        Assert.Equal(0x6_0000UL, m.State.Gpr[(int)Gpr.Rsp]);
        Assert.Equal(UserDs, m.State.Segments[(int)SegmentRegister.Ss].Selector);
    }

    [Fact]
    public void A_call_gate_more_privileged_than_CPL_raises_GP_with_the_gate_selector()
    {
        var m = Create(0x48, 0xFF, 0x2B); // jmp far [rbx]
        SetCallGate(m, 0x31_8000, dpl: 0);
        FarPointer(m, 0, 8, Spare | 3);
        EnterUserMode(m, Guest.CodeAddress, 0x6_0000);
        m.State.Gpr[(int)Gpr.Rbx] = Guest.Data;
        Expect.FaultWithoutEffect(m, Vector.GP, Spare);
    }
}
