namespace Repl.Shell.Tests.Commands;

public class MemoryCommandTests
{
    readonly Session s = new();

    public MemoryCommandTests() => s.Run("continue"); // result = 55, rsp at stack_top

    [Fact]
    public void X_in_hex_giants_labels_each_line_with_its_symbol()
    {
        Assert.Equal("0x100026 <result>:  0x0000000000000037\n", s.Run("x/gx result"));
    }

    [Theory]
    [InlineData("x/2dw result", "0x100026 <result>:  55  0\n")]
    [InlineData("x/ub result", "0x100026 <result>:  55\n")]
    [InlineData("x/ob result", "0x100026 <result>:  067\n")]
    [InlineData("x/tb result", "0x100026 <result>:  00110111\n")]
    [InlineData("x/c result", "0x100026 <result>:  55 '7'\n")]
    [InlineData("x/a $rsp-8", "0x101028:  0x100011 <_start+17>\n")] // in .bss, below its only symbol: gdb names no symbol
    [InlineData("x/2xh p:0x100026", "p:0x100026:  0x0037  0x0000\n")]
    public void X_formats_and_sizes_are_gdbs(string command, string expected)
    {
        Assert.Equal(expected, s.Run(command));
    }

    [Fact]
    public void X_s_reads_a_string_up_to_its_nul()
    {
        s.Run("asm result \".byte 0x68, 0x69, 0x0a, 0\"");

        Assert.Equal("0x100026 <result>:  \"hi\\n\"\n", s.Run("x/s result"));
    }

    [Fact]
    public void X_i_disassembles_with_symbols()
    {
        string output = s.Run("x/2i sum");

        Assert.Equal("0x10001b <sum>:  31 c0                 xor %eax,%eax\n0x10001d <sum+2>:  48 01 f8              add %rdi,%rax\n", output);
    }

    // gdb 13 reads an int through an integer: 'x/2gx *0x100020' on the entry kernel shows memory at the sign-extended
    // dword there (0xbcfcfa), not at the quadword.
    [Fact]
    public void A_star_before_an_address_reads_the_int_there_as_gdb_does()
    {
        s.Run("asm result \".quad 0xffffffff80200000\"");

        Assert.Equal(0xffffffff80200000UL, s.Debugger.Evaluate("*result"));
        Assert.Equal(0xffffffff80200008UL, s.Debugger.Evaluate("*result+8"));
        s.Run("asm result \".quad 0x1234000000100026\"");
        Assert.Equal("0x100026 <result>:  0x1234000000100026\n", s.Run("x/gx *result"));
        Assert.Equal("error: cannot read the int at 0x8000000000 for '*': not mapped (try 'info pt 0x8000000000')\n", s.Run("x *0x8000000000"));
    }

    [Theory]
    [InlineData("x 0xzz", "error: '0xzz' is not a hexadecimal number (0x and up to 16 digits 0-9, a-f)\n")]
    [InlineData("x 0x", "error: '0x' is not a hexadecimal number (0x and up to 16 digits 0-9, a-f)\n")]
    [InlineData("x 12ab", "error: '12ab' is not a number (write hex with 0x: 0x12ab)\n")]
    [InlineData("x $exx", "error: no register named '$exx' (try $rax, $eax, $al, $rsp, $rip, $cr3)\n")]
    public void A_malformed_number_or_register_gets_a_hint_that_fits_it(string line, string error)
    {
        Assert.Equal(error, s.Run(line));
    }

    [Fact]
    public void X_takes_parts_of_registers_as_gdb_does()
    {
        s.Run("set rsp=0xffffffff00100026");

        Assert.Equal("0x100026 <result>:  0x00000037\n", s.Run("x/wx $esp"));
    }

    [Fact]
    public void X_of_unmapped_memory_says_the_page_tables_do_not_map_it()
    {
        Assert.Equal("error: cannot read 0x8000000000: the page tables do not map 0x8000000000 (try 'info pt 0x8000000000')\n",
                     s.Run("x/2gx 0x8000000000"));
    }

    [Fact]
    public void X_of_physical_memory_beyond_ram_says_nothing_is_there()
    {
        Assert.StartsWith("error: cannot read physical 0x40000000: no RAM or device there", s.Run("x/gx p:0x40000000"));
    }

    [Fact]
    public void X_with_an_unknown_format_letter_lists_the_letters()
    {
        Assert.StartsWith("error: 'q' is not an x format (x d u o t a c s i, sizes b h w g)", s.Run("x/q result"));
    }

    [Fact]
    public void Asm_writes_the_bytes_and_shows_them_disassembled()
    {
        string output = s.Run("asm sum \"movl $42, %eax; ret\"");

        Assert.Equal("6 bytes at 0x10001b <sum>\n0x10001b <sum>:  b8 2a 00 00 00        mov $0x2a,%eax\n0x100020 <sum+5>:  c3                    ret\n", output);
    }

    [Fact]
    public void Asm_with_a_bad_instruction_writes_nothing_and_says_why()
    {
        string output = s.Run("asm sum \"movz %eax\"");

        Assert.StartsWith("error: ", output);
        Assert.Contains("xor %eax,%eax", s.Run("x/i sum"));
    }
}

/// <summary>x remembers, as gdb's does (checked against gdb 13 on a live process): the format a /FMT leaves out is the
/// last one, and without an address x goes on after the last unit shown, a bare x with the last count too.</summary>
public class ExamineMemoryTests
{
    readonly Session s = new();

    public ExamineMemoryTests() => s.Run("continue"); // result = 55

    [Fact]
    public void A_bare_x_goes_on_after_the_last_dump_with_its_count_and_format()
    {
        Assert.Equal("0x100026 <result>:  0x00000037  0x00000000\n", s.Run("x/2xw result"));
        Assert.StartsWith("0x10002e:  0x", s.Run("x")); // past .data's end: no symbol names it, as in gdb
        Assert.Equal(2, s.Run("x").Split("  0x").Length - 1);
    }

    [Fact]
    public void An_address_without_a_format_shows_one_unit_in_the_last_format_and_size()
    {
        s.Run("x/4dh result");
        Assert.Equal("0x100026 <result>:  55\n", s.Run("x result"));
    }

    [Fact]
    public void A_format_without_an_address_goes_on_with_its_own_count_and_the_size_not_given_is_the_last()
    {
        s.Run("x/2xg result");
        string output = s.Run("x/3");
        Assert.StartsWith("0x100036:  0x", output); // in .bss, below its only symbol: no symbol names it, as in gdb
        Assert.StartsWith("0x100046:  0x", output.Split('\n')[1]);
    }

    [Fact]
    public void A_char_dump_leaves_bytes_as_the_size_for_the_next_format()
    {
        s.Run("x/c result");
        Assert.Equal("0x100026 <result>:  0x37\n", s.Run("x/x result"));
    }

    [Fact]
    public void Instructions_go_on_after_the_last_one_shown()
    {
        string third = s.Run("x/3i sum").Split('\n')[2];
        s.Run("x/2i sum");
        Assert.Equal(third + "\n", s.Run("x/i"));
    }

    [Fact]
    public void Strings_go_on_after_the_last_ones_nul()
    {
        s.Run("asm result \".byte 0x68, 0x69, 0, 0x6f, 0x6b, 0\"");
        s.Run("x/s result");
        Assert.Equal("0x100029 <result+3>:  \"ok\"\n", s.Run("x"));
    }

    [Fact]
    public void Physical_dumps_go_on_in_physical_memory()
    {
        s.Run("x/2xh p:0x100026");
        Assert.StartsWith("p:0x10002a:  0x", s.Run("x"));
    }

    [Fact]
    public void A_first_x_needs_an_address()
    {
        Assert.StartsWith("error: x needs an address", s.Run("x"));
    }
}

public class MemoryCommandLimitTests
{
    readonly Session s = new();

    [Theory]
    [InlineData("x/5000gx 0")]
    [InlineData("x/99999999999999999999gx 0")]
    [InlineData("x/0x 0")]
    public void X_refuses_counts_out_of_range(string command)
    {
        Assert.Equal("error: x shows 1 to 4096 units at a time (as in x/16gx $rsp)\n", s.Run(command));
    }
}
