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
}
