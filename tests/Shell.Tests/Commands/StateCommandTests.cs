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
        Assert.Equal("error: no register group 'fpu' (gp, seg, cr, dr, msr or all)\n", s.Run("regs fpu"));
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
