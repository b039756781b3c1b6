using Repl.Shell.Debugging;

namespace Repl.Shell.Tests.Commands;

/// <summary>The default machine: the entry kernel, stopped at its multiboot entry, with its symbols, lines and sources.</summary>
public class EntryKernelSessionTests
{
    readonly Debugger _debugger = Debugger.Create();

    string Run(string commandLine)
    {
        var output = new StringWriter();
        _debugger.Execute(commandLine, output);
        return output.ToString();
    }

    [Fact]
    public void Without_an_image_the_debugger_holds_the_entry_kernel_stopped_at_its_first_instruction_in_protected_mode()
    {
        Assert.Equal("the entry kernel", _debugger.Program.Name);
        Assert.Equal(_debugger.Program.Addresses["_start"], _debugger.Machine.State.Rip);
        Assert.Equal("[protected cpl0 _start]", _debugger.Prompt);
    }

    [Fact]
    public void Catch_syscall_takes_a_name_the_kernel_defines_as_NR_name()
    {
        Assert.Equal("Catchpoint 1 (syscall 39)\n", Run("catch syscall getpid"));

        Assert.StartsWith("Catchpoint 1 (syscall 39): ", Run("continue"));
        Assert.Equal(39UL, _debugger.Machine.ReadRegister("rax"));
        Assert.StartsWith("error: no system call named 'getpidd' in the entry kernel (a number, or one of ", Run("catch syscall getpidd"));
    }

    [Fact]
    public void Continue_to_entry_SYSCALL_64_stops_there_from_user_mode_with_its_source_line()
    {
        Run("break entry_SYSCALL_64");

        string output = Run("continue");

        Assert.Matches(@"entry_64\.S:\d+: swapgs", output);
        Assert.Equal(_debugger.Program.Addresses["entry_SYSCALL_64"], _debugger.Machine.State.Rip);
        Assert.Equal(0x10, _debugger.Machine.State.Cs.Selector);	// STAR[47:32]: the kernel CS
    }

    [Fact]
    public void Info_frame_without_an_address_finds_the_system_calls_pt_regs_above_the_kernels_own_calls()
    {
        Run("break do_syscall_64");
        Run("continue");
        // do_syscall_64 was called with the frame in RDI; RSP is one return address below it.
        ulong frame = _debugger.Machine.State.Gpr[(int)Repl.Machine.Gpr.Rdi];

        string output = Run("info frame");

        Assert.StartsWith($"pt_regs at 0x{frame:x}:", output);
        Assert.Matches(@"\+0x88  cs        0x0000000000000033  RPL 3\n", output);
        Assert.Matches(@"\+0xa0  ss        0x000000000000002b  RPL 3\n", output);
    }

    [Fact]
    public void Info_frame_says_how_to_go_on_when_no_frame_is_above_rsp()
    {
        // At the multiboot hand-over nothing has been pushed that looks like an interrupt frame.
        Assert.StartsWith("error: no pt_regs frame within 16 KiB above rsp", Run("info frame"));
    }

    [Fact]
    public void List_shows_the_embedded_kernel_source()
    {
        Assert.Contains("entry_SYSCALL_64:", Run("list entry_SYSCALL_64"));
    }

    [GdbFact]
    public void Gdb_without_a_file_fetches_the_entry_kernel_from_gdbserver_with_its_lines_and_sources()
    {
        Run("gdbserver 127.0.0.1:0");
        var start = new System.Diagnostics.ProcessStartInfo("gdb") { RedirectStandardOutput = true, RedirectStandardError = true };
        // gdb waits 2 s for a reply by default; a loaded CI host can take longer to send the image through vFile.
        foreach (string a in new[] { "-batch", "-nx", "-ex", "set remotetimeout 30", "-ex", $"target remote {_debugger.Serving}", "-ex", "info line entry_SYSCALL_64",
                                     "-ex", "list entry_SYSCALL_64,+0", "-ex", "detach" })
            start.ArgumentList.Add(a);
        using var gdb = System.Diagnostics.Process.Start(start)!;
        var stderr = gdb.StandardError.ReadToEndAsync();
        string stdout = gdb.StandardOutput.ReadToEnd();
        Assert.True(gdb.WaitForExit(60_000), "gdb did not finish");
        Run("gdbserver stop");
        Assert.True(stdout.Length > 0, $"gdb printed nothing; its stderr: {stderr.Result}");

        Assert.Matches($@"Line \d+ of ""entry_64\.S"" starts at address 0x{_debugger.Program.Addresses["entry_SYSCALL_64"]:x} <entry_SYSCALL_64>", stdout);
        Assert.Matches(@"\d+\t\tswapgs", stdout);
        Assert.DoesNotContain("No such file", stderr.Result);
    }

    [Fact]
    public void Reset_rebuilds_the_entry_kernel()
    {
        Run("stepi 10");

        Run("reset");

        Assert.Equal(_debugger.Program.Addresses["_start"], _debugger.Machine.State.Rip);
    }

    ulong Register(Repl.Machine.Gpr r) => _debugger.Machine.State.Gpr[(int)r];

    [Fact]
    public void Bt_at_entry_SYSCALL_64_shows_the_user_rip_that_SYSCALL_left_in_rcx_and_ends_there()
    {
        Run("break entry_SYSCALL_64");
        Run("continue");

        string output = Run("bt");

        Assert.Equal($"#0  0x{_debugger.Machine.State.Rip:x} <entry_SYSCALL_64>\n"
                     + $"#1  {_debugger.Program.Describe(Register(Repl.Machine.Gpr.Rcx))}  (user mode: SYSCALL saved the return RIP in RCX and pushed nothing)\n"
                     + "(the chain ends: SYSCALL came from user mode)\n", output);
    }

    [Fact]
    public void Bt_at_do_syscall_64_goes_from_the_return_address_to_the_user_rip_in_pt_regs()
    {
        Run("break do_syscall_64");
        Run("continue");
        ulong frame = Register(Repl.Machine.Gpr.Rdi), rsp = Register(Repl.Machine.Gpr.Rsp);
        var userRip = new byte[8];
        _debugger.Machine.ReadVirtual(frame + 16 * 8, userRip); // pt_regs->ip

        string output = Run("bt");

        Assert.Matches($@"^#0  0x[0-9a-f]+ <do_syscall_64>\n#1  0x[0-9a-f]+ <entry_SYSCALL_64\+\d+>  \(return address at rsp 0x{rsp:x}\)\n", output);
        Assert.Contains($"#2  {_debugger.Program.Describe(BitConverter.ToUInt64(userRip))}  (user mode, cs 0x33: from the pt_regs frame at 0x{frame:x})\n", output);
        Assert.EndsWith("(the chain ends: the entry came from user mode)\n", output);
    }

    [Fact]
    public void Bt_stops_at_a_word_that_cannot_be_a_return_address_instead_of_printing_it_as_a_frame()
    {
        Run("break do_syscall_64");
        Run("continue");
        Run("stepi");
        // The kernel keeps no frame pointers: RBP is the user's, and what lies above it is no return address.
        string output = Run("bt");

        Assert.StartsWith("#0  ", output);
        Assert.DoesNotContain("#1", output);
        Assert.Matches(@"\(the chain ends: the (word above RBP's frame at 0x[0-9a-f]+, 0x[0-9a-f]+, (is not canonical|is not mapped code|does not follow a CALL instruction)|frame-pointer chain reaches 0x[0-9a-f]+, which cannot be read)", output);
    }

    [Fact]
    public void Bt_at_an_exception_entry_shows_the_interrupted_rip_from_the_frame_the_cpu_pushed()
    {
        Run("break asm_exc_invalid_op");
        Run("continue");
        ulong rsp = Register(Repl.Machine.Gpr.Rsp); // #UD pushes no error code: RIP is at RSP
        var pushed = new byte[16];
        _debugger.Machine.ReadVirtual(rsp, pushed);

        string output = Run("bt");

        Assert.Contains($"#1  {_debugger.Program.Describe(BitConverter.ToUInt64(pushed))}  (user mode, cs 0x33: from the frame the CPU pushed for vector 6 (#UD) at 0x{rsp:x})\n", output);
        Assert.Equal(0x33UL, BitConverter.ToUInt64(pushed, 8));
        Assert.EndsWith("(the chain ends: the entry came from user mode)\n", output);
    }

    [Fact]
    public void Trace_records_the_kernel_gs_base_that_SWAPGS_exchanges_with_gs_base()
    {
        Run("break entry_SYSCALL_64");
        Run("continue");
        ulong kernelGs = _debugger.Machine.ReadMsr(Repl.Machine.Msr.KernelGsBase), userGs = _debugger.Machine.State.Segments[(int)Repl.Machine.SegmentRegister.Gs].Base;
        Assert.NotEqual(kernelGs, userGs);
        Run("trace on");
        Run("stepi");

        string output = Run("trace show 1");

        Assert.Contains($"gsbase=0x{kernelGs:x} kernel_gs_base=0x{userGs:x}\n", output);
    }

    [Fact]
    public void Addresses_past_the_last_section_are_named_by_no_symbol()
    {
        Run("set rip=0x7fff00001000");

        Assert.Equal("[protected cpl0 0x7fff00001000]", _debugger.Prompt);
        Assert.Equal("No symbol matches 0x7fffffffeff8.\n", Run("info symbol 0x7fffffffeff8"));
        Assert.Equal("No symbol matches 0x13b000.\n", Run($"info symbol 0x{_debugger.Program.Addresses["__bss_end"]:x}"));
    }

    [Fact]
    public void Memory_past_RAM_is_refused_by_x_and_info_frame_alike_in_one_line()
    {
        // At the multiboot hand-over paging is off: linear is physical, and nothing backs the top of the space.
        Assert.Equal("error: cannot read physical 0xfffffffffffffff8: no RAM or device there\n", Run("x/4gx p:0xfffffffffffffff8"));
        Assert.Equal("error: cannot read 0xdead000000000000: paging is off and no RAM or device is at 0xdead000000000000 (try 'info pt 0xdead000000000000')\n",
                     Run("x/gx 0xdead000000000000"));
        Assert.Equal("error: cannot read the pt_regs frame at 0xffffffffffffffff: paging is off and no RAM or device is at 0xffffffffffffffff\n",
                     Run("info frame 0xffffffffffffffff"));
    }
}
