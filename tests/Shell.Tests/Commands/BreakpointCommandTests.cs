namespace Repl.Shell.Tests.Commands;

public class BreakpointCommandTests
{
    readonly Session s = new();

    [Theory]
    [InlineData("break sum+2", "Breakpoint 1 at 0x10001d <sum+2>")]
    [InlineData("break builtin.S:16", "Breakpoint 1 at 0x10001d <sum+2>")]
    [InlineData("b 0x10001d", "Breakpoint 1 at 0x10001d <sum+2>")]
    [InlineData("break *sum", "Breakpoint 1 at 0x10001b <sum>")]
    public void Break_takes_a_symbol_offset_source_line_or_address(string command, string expected)
    {
        Assert.Equal(expected + "\n", s.Run(command));
    }

    [Fact]
    public void A_temporary_breakpoint_stops_once_and_is_gone()
    {
        s.Run("tbreak sum+2");

        string output = s.Run("continue");

        Assert.StartsWith("Temporary breakpoint 1, 0x10001d <sum+2>", output);
        Assert.Empty(s.Debugger.Breakpoints);
        Assert.StartsWith("Stopped: halted", s.Run("continue"));
    }

    [Fact]
    public void A_condition_without_a_csharp_session_is_refused()
    {
        string output = s.Run("break sum+2 if Cpu.Rdi == 3");

        Assert.StartsWith("error: breakpoint conditions are C#, and no C# session is running here", output);
        Assert.Empty(s.Debugger.Breakpoints);
    }

    [Fact]
    public void A_conditional_breakpoint_stops_only_where_its_condition_holds()
    {
        var asked = new List<string>();
        s.Debugger.ConditionEvaluator = condition =>
        {
            asked.Add(condition);
            return s.Debugger.Machine.ReadRegister("rdi") == 3;
        };
        s.Run("break sum+2 if Cpu.Rdi == 3");

        s.Run("continue");

        Assert.Equal(3UL, s.Debugger.Machine.ReadRegister("rdi"));
        Assert.Equal(8, asked.Count);
        Assert.All(asked, c => Assert.Equal("Cpu.Rdi == 3", c));
    }

    [Fact]
    public void A_condition_that_throws_stops_the_machine_and_says_why()
    {
        s.Debugger.ConditionEvaluator = _ => throw new InvalidOperationException("no such member");
        s.Run("break sum if Cpu.Nope");

        string output = s.Run("continue");

        Assert.StartsWith("error: the condition of breakpoint 1 (Cpu.Nope) failed: no such member", output);
        Assert.Equal(s.Symbol("sum"), s.Rip);
    }

    [Fact]
    public void Info_breakpoints_lists_each_with_its_hits()
    {
        s.Run("break sum+2");
        s.Run("tbreak sum");
        s.Run("watch result");
        s.Run("catch syscall 60");
        s.Run("continue 2");

        Assert.Equal("""
            Num  Type           Disp  Enb  What              Hits
            1    breakpoint     keep  y    0x10001d <sum+2>  hit 1 time
            3    hw watchpoint  keep  y    0x100026 len 8
            4    catchpoint     keep  y    syscall 60

            """, s.Run("info breakpoints"));
    }

    [Fact]
    public void Info_breakpoints_with_none_says_so()
    {
        Assert.Equal("No breakpoints, watchpoints or catchpoints.\n", s.Run("info b"));
    }

    [Fact]
    public void A_disabled_breakpoint_does_not_stop_until_enabled()
    {
        s.Run("break sum");
        s.Run("break sum+2");
        s.Run("disable 1");

        Assert.StartsWith("Breakpoint 2,", s.Run("continue"));
        s.Run("enable");
        s.Run("delete 2");
        Assert.StartsWith("Stopped: halted", s.Run("continue"));
        Assert.Single(s.Debugger.Breakpoints);
    }

    [Fact]
    public void Delete_without_numbers_deletes_all_and_an_unknown_number_is_an_error()
    {
        s.Run("break sum");
        s.Run("watch result");

        s.Run("delete");

        Assert.Empty(s.Debugger.Breakpoints);
        Assert.Empty(s.Debugger.Machine.Cpu.Breakpoints);
        Assert.Empty(s.Debugger.Machine.Watchpoints);
        Assert.Equal("error: no breakpoint number 9 (see 'info breakpoints')\n", s.Run("delete 9"));
    }

    [Fact]
    public void A_watchpoint_stops_after_the_write_with_the_address_written()
    {
        Assert.Equal("Hw watchpoint 1: 0x100026 len 8\n", s.Run("watch result"));

        string output = s.Run("continue");

        Assert.StartsWith("Hw watchpoint 1: write of 0x100026", output);
        Assert.Equal(s.Symbol("halt"), s.Rip);
    }

    [Fact]
    public void A_read_watchpoint_stops_after_the_read()
    {
        s.Run("rwatch stack_top-8 8"); // the return address: the call writes it, the ret reads it

        string output = s.Run("continue");

        Assert.StartsWith("Read watchpoint 1: read of 0x101028", output);
        Assert.Equal(s.Symbol("_start") + 17, s.Rip);
    }

    [Fact]
    public void An_access_watchpoint_stops_on_the_write_too()
    {
        s.Run("awatch result 1");

        Assert.StartsWith("Acc watchpoint 1: access of 0x100026", s.Run("continue"));
    }

    [Fact]
    public void Catch_msr_stops_after_a_guest_wrmsr_of_that_index()
    {
        s.Run("asm _start \"movl $0xc0000082, %ecx; movl $0x1000, %eax; xorl %edx, %edx; wrmsr; hlt\"");
        s.Run("catch msr lstar");

        string output = s.Run("continue");

        Assert.StartsWith("Catchpoint 1 (msr 0xc0000082 write): ", output);
        Assert.Contains("wrmsr IA32_LSTAR 0x0 -> 0x1000", output);
    }

    [Fact]
    public void Catch_cr3_stops_after_a_cr3_write()
    {
        s.Run("asm _start \"movq %cr3, %rax; movq %rax, %cr3; hlt\"");
        s.Run("catch cr3");

        string output = s.Run("continue");

        Assert.StartsWith("Catchpoint 1 (cr3 write): ", output);
        Assert.Equal(s.Symbol("_start") + 6, s.Rip);
    }

    [Fact]
    public void Catch_syscall_stops_on_the_system_call_with_that_number_only()
    {
        s.Run("set efer=0xd01");
        s.Run("msr lstar _start+7"); // both system calls enter at the second
        s.Run("asm _start \"movl $1, %eax; syscall; movl $60, %eax; syscall\"");
        s.Run("catch syscall 60");

        string output = s.Run("continue");

        Assert.StartsWith("Catchpoint 1 (syscall 60): ", output);
        Assert.Equal(s.Symbol("_start") + 7, s.Rip);
        Assert.Equal(60UL, s.Debugger.Machine.ReadRegister("rax"));
        Assert.Equal(1, s.Debugger.Breakpoints[0].Hits);
    }

    [Theory]
    [InlineData("catch exception zz", "error: no exception named 'zz' (a vector 0-255, or one of de db nmi bp of br ud nm df ts np ss gp pf mf ac mc xm ve cp)\n")]
    [InlineData("catch exception #", "error: no exception named '#' (a vector 0-255, or one of de db nmi bp of br ud nm df ts np ss gp pf mf ac mc xm ve cp)\n")]
    [InlineData("catch msr nosuch", "error: no MSR named 'nosuch' (an index such as 0xc0000082, or a name: 'msr' alone lists them)\n")]
    [InlineData("msr nosuch", "error: no MSR named 'nosuch' (an index such as 0xc0000082, or a name: 'msr' alone lists them)\n")]
    [InlineData("catch syscall zz", "error: no system call named 'zz': the built-in program defines no __NR_ names (give the number, as in: catch syscall 39)\n")]
    public void A_catch_or_msr_of_an_unknown_name_says_what_names_it_takes(string line, string error)
    {
        Assert.Equal(error, s.Run(line));
        Assert.Empty(s.Debugger.Breakpoints);
    }

    [Fact]
    public void Catch_exception_names_the_vector_and_catch_without_a_known_event_is_an_error()
    {
        Assert.Equal("Catchpoint 1 (exception #PF (14))\n", s.Run("catch exception pf"));
        Assert.Equal("Catchpoint 2 (exception #GP (13))\n", s.Run("catch exception 13"));
        Assert.StartsWith("error: cannot catch 'signal'", s.Run("catch signal"));
    }
}
