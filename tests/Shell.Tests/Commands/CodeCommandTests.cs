namespace Repl.Shell.Tests.Commands;

public class CodeCommandTests
{
    readonly Session s = new();

    [Fact]
    public void Disas_lists_instructions_with_source_headings_and_marks_rip()
    {
        s.Run("until sum+2");

        string output = s.Run("disas sum 2");

        Assert.Equal("""
            builtin.S:15
               0x10001b <sum>:    31 c0                 xor %eax,%eax
            builtin.S:16
            => 0x10001d <sum+2>:  48 01 f8              add %rdi,%rax

            """, output);
    }

    [Fact]
    public void Disas_without_arguments_starts_at_rip()
    {
        Assert.StartsWith("builtin.S:5\n=> 0x100000 <_start>:", s.Run("disas"));
    }

    [Fact]
    public void Disas_of_unmapped_memory_says_so_in_the_listing()
    {
        Assert.EndsWith("Cannot access memory at address 0x8000000000\n", s.Run("disas 0x8000000000 2"));
    }

    [Fact]
    public void List_shows_the_lines_around_rip_and_marks_its_line()
    {
        string output = s.Run("list");

        Assert.StartsWith("      1  # The built-in program", output);
        Assert.Contains("=>    5          movq    $stack_top, %rsp\n", output);
        Assert.EndsWith("     10          jmp     halt            # a wake-up (NMI, interrupt) halts again\n", output);
    }

    [Fact]
    public void List_of_a_location_centres_on_its_line()
    {
        string output = s.Run("list sum");

        Assert.StartsWith("     10 ", output);
        Assert.Contains("     15          xorl    %eax, %eax\n", output);
    }

    [Fact]
    public void List_where_there_is_no_line_table_says_so()
    {
        Assert.StartsWith("error: no source line for 0x8000", s.Run("list 0x8000"));
    }

    [Fact]
    public void Bt_follows_the_frame_pointer_chain_and_says_it_is_best_effort()
    {
        s.Run("asm sum \"pushq %rbp; movq %rsp, %rbp; hlt\"");
        s.Run("continue");

        string output = s.Run("bt");

        Assert.StartsWith("#0  0x100020 <sum+5>\n#1  0x100011 <_start+17>  (frame at 0x101020)\n", output);
        Assert.EndsWith("(the chain ends: the frame pointer is 0, the outermost frame's mark)\n", output);
    }

    [Fact]
    public void Trace_records_each_instruction_with_the_registers_it_changed()
    {
        s.Run("trace on");
        s.Run("stepi 2");

        string output = s.Run("trace show");

        Assert.Equal("""
            [0] 0x100000 <_start>:  48 c7 c4 30 10 10 00  mov $0x101030,%rsp
                    rsp=0x101030
            [1] 0x100007 <_start+7>:  bf 0a 00 00 00        mov $0xa,%edi
                    rdi=0xa

            """, output);
    }

    [Fact]
    public void Trace_while_off_records_nothing_and_says_how_to_start()
    {
        s.Run("stepi");

        Assert.Equal("nothing traced: 'trace on' first, then run or step\n", s.Run("trace show"));
    }

    [Fact]
    public void A_traced_continue_still_stops_at_breakpoints()
    {
        s.Run("trace on");
        s.Run("break sum+2");

        Assert.StartsWith("Breakpoint 1, 0x10001d <sum+2>", s.Run("continue"));
        Assert.Contains("<sum>:", s.Run("trace show 1"));
    }

    [Fact]
    public void Trace_with_a_wrong_word_is_an_error()
    {
        Assert.Equal("error: trace on, trace off, or trace show [N]\n", s.Run("trace maybe"));
    }
}

public class BacktraceAtEntryTests
{
    [Fact]
    public void Bt_at_a_functions_first_instruction_takes_the_return_address_at_rsp()
    {
        var s = new Session();
        s.Run("break sum");
        s.Run("continue");

        Assert.StartsWith("#0  0x10001b <sum>\n#1  0x100011 <_start+17>  (return address at rsp 0x101028)\n", s.Run("bt"));
    }
}
