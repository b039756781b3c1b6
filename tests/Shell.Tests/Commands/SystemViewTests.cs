namespace Repl.Shell.Tests.Commands;

public class SystemViewTests
{
    readonly Session s = new();

    void LoadSystemProgram()
    {
        string output = s.Run("load " + SystemProgram.Write());
        Assert.StartsWith("loaded ", output);
    }

    [Fact]
    public void Load_of_a_source_file_assembles_it_with_symbols_and_lines()
    {
        string path = SystemProgram.Write();

        string output = s.Run("load " + path);

        Assert.Contains($"{path}:4: leaq    ud_handler(%rip), %rax", output);
        Assert.Equal(s.Symbol("_start"), s.Rip);
        Assert.Equal("[long cpl0 _start]", s.Debugger.Prompt);
    }

    [Fact]
    public void Load_of_a_missing_file_is_an_error_and_keeps_the_machine()
    {
        var machine = s.Debugger.Machine;

        Assert.StartsWith("error: Could not find a part of the path", s.Run("load /nonexistent/kernel.elf"));
        Assert.Same(machine, s.Debugger.Machine);
    }

    [Fact]
    public void Info_gdt_decodes_each_descriptor_including_the_16_byte_tss()
    {
        LoadSystemProgram();
        s.Run("until tables_loaded");

        string output = s.Run("info gdt");

        Assert.Contains("1      0x0008  0x0       0xffffffff  code xr accessed  0    P L G\n", output);
        Assert.Contains("3      0x0018  0x0       0xffffffff  code xr accessed  3    P L G\n", output);
        Assert.Contains($"5      0x0028  0x{s.Symbol("tss"):x}", output);
        Assert.Contains("tss busy          0    P\n", output);
    }

    [Fact]
    public void Info_idt_lists_present_gates_with_handler_symbols_and_ist()
    {
        LoadSystemProgram();
        s.Run("until tables_loaded");

        string output = s.Run("info idt");

        Assert.Contains("1 present gate", output);
        Assert.Contains("6    #UD   0x", output);
        Assert.Contains("<ud_handler>  0x0008  interrupt gate  0    1", output);
    }

    [Fact]
    public void Info_tss_shows_the_stacks_and_the_ist()
    {
        LoadSystemProgram();
        s.Run("until tables_loaded");

        string output = s.Run("info tss");

        Assert.Contains("rsp0   0x0000000000009000", output);
        Assert.Contains("ist1   0x000000000000a000", output);
    }

    [Fact]
    public void Without_tables_the_views_say_so()
    {
        Assert.StartsWith("The IDT is empty", s.Run("info idt"));
        Assert.StartsWith("The GDT is empty", s.Run("info gdt"));
        Assert.Equal("No TSS: TR holds the null selector (LTR has not run).\n", s.Run("info tss"));
        Assert.Equal("No LDT: LDTR holds the null selector.\n", s.Run("info ldt"));
    }

    [Fact]
    public void An_ldt_of_zeroed_entries_says_it_holds_no_descriptors()
    {
        s.Debugger.Machine.State.Ldtr = new Repl.Machine.SegmentCache { Selector = 0x50, Base = 0x300000, Limit = 0x17 };

        Assert.Equal("The LDT at 0x300000, limit 0x17, holds no descriptors: every entry is zero.\n", s.Run("info ldt"));
    }

    [Fact]
    public void Catch_exception_stops_when_the_vector_is_delivered_on_its_ist_stack()
    {
        LoadSystemProgram();
        s.Run("catch exception ud");

        string output = s.Run("continue");

        Assert.StartsWith("Catchpoint 1 (exception #UD (6)): ", output);
        Assert.Equal(s.Symbol("ud_handler"), s.Rip);
        Assert.Equal(0xa000UL - 40, s.Debugger.Machine.ReadRegister("rsp"));
    }

    [Fact]
    public void Info_pt_walks_each_level_to_the_page()
    {
        string output = s.Run("info pt sum");

        Assert.Equal("""
            4-level walk of 0x10001b from cr3 0xfffe000:
              PML4[0] at p:0xfffe000 = 0x000000000ffff007 [ P W U ]
              PDPT[0] at p:0xffff000 = 0x0000000000000087 [ P W U PS ]
            0x10001b -> p:0x10001b (1 GiB page)

            """, output);
    }

    [Fact]
    public void Info_pt_of_an_unmapped_address_stops_at_the_missing_level()
    {
        string output = s.Run("info pt 0x8000000000");

        Assert.EndsWith("PML4[1] at p:0xfffe008 = 0x0000000000000000 [  ]\nnot present: an access to 0x8000000000 page-faults here\n", output);
    }

    [Fact]
    public void Info_frame_reads_pt_regs_field_by_field()
    {
        var frame = new byte[21 * 8];
        BitConverter.GetBytes(60UL).CopyTo(frame, 15 * 8);                 // orig_rax
        BitConverter.GetBytes(s.Symbol("sum") + 2).CopyTo(frame, 16 * 8);  // rip
        BitConverter.GetBytes(0x33UL).CopyTo(frame, 17 * 8);               // cs
        s.Debugger.Machine.WritePhysical(0x80000, frame);

        string output = s.Run("info frame 0x80000");

        Assert.StartsWith("pt_regs at 0x80000:\nOff    Field     Value\n+0x00  r15       0x0000000000000000\n", output);
        Assert.Contains("+0x78  orig_rax  0x000000000000003c\n", output);
        Assert.Contains("+0x80  rip       0x000000000010001d  0x10001d <sum+2>\n", output);
        Assert.Contains("+0x88  cs        0x0000000000000033  RPL 3\n", output);
        Assert.Contains("+0xa0  ss ", output);
    }

    [Fact]
    public void Info_apic_shows_its_registers()
    {
        string output = s.Run("info apic");

        Assert.StartsWith("local APIC at p:0xfee00000, enabled", output);
        Assert.Contains("Version        0x030   0x00050014", output);
        Assert.Contains("IRR (requested): none", output);
    }

    [Fact]
    public void Info_tlb_lists_the_page_the_code_was_fetched_from()
    {
        s.Run("stepi");
        ulong page = s.Rip & ~0xFFFUL;

        string output = s.Run("info tlb");

        Assert.Contains("Linear", output);
        Assert.Matches($@"(?m)^0x{page:x}\s+p:0x{page:x}\s+1G\s+(0|global)\s+r[w-]x\s+r[w-]x$", output);
    }
}
