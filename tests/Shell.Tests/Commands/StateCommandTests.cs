namespace Repl.Shell.Tests.Commands;

public class StateCommandTests
{
    readonly Session s = new();

    [Fact]
    public void Regs_shows_the_general_registers_rip_with_its_symbol_and_the_flags()
    {
        s.Run("set rdx=0x1234");

        string output = s.Run("regs");

        Assert.Contains("rcx    0x0000000000000000   rdx    0x0000000000001234", output);
        Assert.Contains("rip    0x100000 <_start>", output);
        Assert.Contains("rflags 0x00000002 [  IOPL=0 ]", output);
    }

    [Fact]
    public void Regs_seg_shows_each_segment_with_its_hidden_part_decoded()
    {
        string output = s.Run("regs seg");

        Assert.Contains("cs    0x0008  0x0000000000000000  0xffffffff  0xa09b  code xr accessed  0    P L G", output);
        Assert.Contains("gdtr   base 0x0000000000000000 limit 0x0000", output);
    }

    [Fact]
    public void Regs_cr_names_the_bits_that_are_set()
    {
        string output = s.Run("regs cr");

        Assert.Contains("cr0    0x0000000080000011 [ PE ET PG ]", output);
        Assert.Contains("efer   0x0000000000000500 [ LME LMA ]", output);
    }

    [Fact]
    public void Regs_dr_and_msr_and_all_cover_the_rest()
    {
        Assert.Contains("dr7    0x0000000000000000", s.Run("regs dr"));
        Assert.Contains("IA32_LSTAR", s.Run("regs msr"));
        string all = s.Run("regs all");
        Assert.Contains("rflags", all);
        Assert.Contains("tr ", all);
        Assert.Contains("cr4", all);
        Assert.Contains("dr6", all);
    }

    [Fact]
    public void Regs_of_an_unknown_group_lists_the_groups()
    {
        Assert.Equal("error: no register or group 'fpu' (a register: rax, eax, rip, cr3...; a group: gp, seg, cr, dr, msr or all)\n", s.Run("regs fpu"));
    }

    [Fact]
    public void Regs_all_ends_with_the_msrs()
    {
        Assert.EndsWith(s.Run("regs msr"), s.Run("regs all"));
    }

    // gdb 13's 'info registers rip' and 'info registers eax' lay the line out the same way (repl gdb, the entry kernel).
    [Fact]
    public void Regs_and_info_registers_with_names_show_those_registers_as_gdb_does()
    {
        s.Run("set rax=-2");

        Assert.Equal("rip            0x100000           0x100000 <_start>\n", s.Run("info registers rip"));
        Assert.Equal("rax            0xfffffffffffffffe -2\neax            0xfffffffe         -2\nah             0xff               -1\n",
                     s.Run("regs rax eax ah"));
        Assert.Equal("rflags         0x2                [  IOPL=0 ]\n", s.Run("regs rflags"));
    }

    [Fact]
    public void Set_of_a_part_of_a_register_keeps_the_other_bits_as_gdbs_set_does()
    {
        s.Run("set rax=0x1122334455667788");

        Assert.Equal("eax = 0x1\n", s.Run("set eax=1"));
        Assert.Equal("ah = 0x7f\n", s.Run("set $ah=0x7f"));
        Assert.Equal("r9l = 0x5\n", s.Run("set r9l=5"));
        // gdb 13 gives 0x1122334400000001 and then 0x1122334400007f01 for the same writes.
        Assert.Equal(0x1122334400007f01UL, s.Debugger.Machine.ReadRegister(Repl.Machine.Register.Rax));
        Assert.Equal(5UL, s.Debugger.Evaluate("$r9"));
        Assert.Equal(0x7f01UL, s.Debugger.Evaluate("ax"));
        Assert.Equal("error: no register named 'exx' (try rax, eax, al, rip, rflags, cr3, fs_base, gs_base, dr7)\n", s.Run("set exx=1"));
    }

    [Fact]
    public void Set_writes_a_register_from_an_expression_and_the_prompt_follows_rip()
    {
        Assert.Equal("rip = 0x10001d\n", s.Run("set rip=sum+2"));
        Assert.Equal("[long cpl0 sum+2]", s.Debugger.Prompt);
        Assert.Equal("rax = 0x3c\n", s.Run("set $rax = 60"));
    }

    [Fact]
    public void Set_of_an_unknown_register_or_without_a_value_is_an_error()
    {
        Assert.StartsWith("error: no register named 'rzx'", s.Run("set rzx=1"));
        Assert.StartsWith("error: write it as set REG=VALUE", s.Run("set rax"));
    }

    [Fact]
    public void Msr_reads_and_writes_by_name_or_index()
    {
        Assert.Equal("IA32_LSTAR (0xc0000082) = 0x0000000000001234\n", s.Run("msr lstar 0x1234"));
        Assert.Equal("IA32_LSTAR (0xc0000082) = 0x0000000000001234\n", s.Run("msr 0xc0000082"));
        Assert.Contains("IA32_KERNEL_GS_BASE", s.Run("msr"));
    }

    [Fact]
    public void Msr_the_profile_lacks_is_an_error()
    {
        Assert.StartsWith("error: the Intel profile has no MSR 0x12345", s.Run("msr 0x12345"));
    }

    [Fact]
    public void Inject_nmi_and_irq_make_them_pending()
    {
        Assert.StartsWith("NMI pending", s.Run("inject nmi"));
        Assert.True(s.Debugger.Machine.State.NmiPending);
        Assert.StartsWith("interrupt 0x20 requested", s.Run("inject irq 0x20"));
    }

    [Fact]
    public void Inject_of_a_processor_vector_or_of_nothing_is_an_error()
    {
        Assert.StartsWith("error: vector 14 cannot be an external interrupt", s.Run("inject irq 14"));
        Assert.StartsWith("error: inject nmi, or inject irq VECTOR", s.Run("inject"));
    }
}
