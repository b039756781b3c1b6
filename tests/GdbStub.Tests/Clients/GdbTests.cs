using System.Net.Sockets;

namespace Repl.GdbStub.Tests.Clients;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>gdb itself, in batch mode, against the stub serving the longmode image.</summary>
public class GdbTests
{
    [GdbFact]
    public void gdb_connects_at_the_32_bit_start_with_the_64_bit_register_layout()
    {
        using var served = new ServedImage();

        string output = served.Gdb("info registers rip", "p $mode", "p $cs_attr");

        Assert.Contains("<_start>", output);
        Assert.Contains($"$1 = {(int)OperatingMode.Protected}", output);
        Assert.Contains("$2 = 49307", output); // 0xc09b: a 32-bit code segment, present, DPL 0
        Assert.DoesNotContain("too long", output);
    }

    [GdbFact]
    public void gdb_breaks_on_a_64_bit_symbol_after_the_switch_to_long_mode_and_steps_one_instruction()
    {
        using var served = new ServedImage();

        string output = served.Gdb("break main64", "continue", "p $mode", "stepi", "p $pc");

        Assert.Contains("Breakpoint 1, 0x", output);
        Assert.Contains(" in main64 ()", output);
        Assert.Contains($"$1 = {(int)OperatingMode.Long64}", output);
        Assert.Contains("<main64+3>", output); // mov %cr0, %rax is three bytes
        Assert.Equal(served.Symbol("main64").Address + 3, served.Machine.State.Rip);
    }

    [GdbFact]
    public void After_stepi_gdb_shows_rsp_and_rip_from_the_stop_reply_without_reading_the_registers()
    {
        using var served = new ServedImage();
        ulong readMsr = served.Symbol("read_msr").Address;

        // read_msr begins with push %rdx: the step moves both RIP and RSP.
        string output = served.Gdb("break read_msr", "continue", "p/x $rsp", "set debug remote 1", "stepi", "p/x $rsp", "p/x $pc", "set debug remote 0");

        string afterStep = output[output.IndexOf("vCont;s", StringComparison.Ordinal)..];
        Assert.DoesNotContain("Sending packet: $g", afterStep);
        Assert.DoesNotContain("Sending packet: $p", afterStep);
        ulong rsp = served.Machine.State.Gpr[(int)Gpr.Rsp];
        Assert.Contains($"$1 = 0x{rsp + 8:x}", output);
        Assert.Contains($"$2 = 0x{rsp:x}", output);
        Assert.Contains($"$3 = 0x{readMsr + 1:x}", output);
    }

    [GdbFact]
    public void gdb_writes_registers_and_memory_into_the_machine_and_reads_them_back()
    {
        using var served = new ServedImage();

        string output = served.Gdb("set $rbx = 0x1122334455667788", "p/x $rbx", "set {unsigned int}0x200000 = 0xdeadbeef", "x/wx 0x200000");

        Assert.Contains("$1 = 0x1122334455667788", output);
        Assert.Contains("0x200000:\t0xdeadbeef", output);
        Assert.Equal(0x1122334455667788UL, served.Machine.ReadRegister(Register.Rbx));
        var bytes = new byte[4];
        served.Machine.ReadPhysical(0x200000, bytes);
        Assert.Equal(0xDEADBEEFu, BitConverter.ToUInt32(bytes));
    }

    [GdbFact]
    public void A_hardware_watchpoint_stops_gdb_after_the_write_with_the_old_and_new_values()
    {
        using var served = new ServedImage();

        // The 32-bit start writes the PDPT's first entry (pd | P | RW | US) while it builds the page tables.
        string output = served.Gdb("watch *(unsigned int *)&pdpt", "continue", "p/x *(unsigned int *)&pdpt");

        Assert.Contains("Hardware watchpoint 1: *(unsigned int *)&pdpt", output);
        Assert.Contains("Old value = 0", output);
        Assert.Contains($"$1 = 0x{served.Symbol("pd").Address + 7:x}", output);
    }

    [GdbFact]
    public void gdb_shows_monitor_command_output()
    {
        using var served = new ServedImage();

        string output = served.Gdb("monitor info mode");

        Assert.Contains("protected mode, CPL 0, 32-bit code, paging off", output);
    }

    [GdbFact]
    public void Ctrl_C_in_gdb_interrupts_a_running_guest_with_SIGINT()
    {
        using var served = new ServedImage();

        // The guest spins at main64 (jmp .); a second into the continue, gdb gets SIGINT as from a terminal.
        string output = served.Gdb("set {unsigned short}main64 = 0xfeeb", "shell (sleep 1; kill -INT $PPID) &", "continue", "p $pc");

        Assert.True(output.Contains("Program received signal SIGINT") && output.Contains("<main64>"), output);
    }

    [GdbFact]
    public void After_a_detach_gdb_reconnects_to_the_machine_stopped_where_it_was()
    {
        using var served = new ServedImage();
        served.Gdb("stepi", "stepi", "detach");

        string output = served.Gdb("p $pc");

        Assert.Contains("<_start+", output);
        Assert.Contains(served.Logged, line => line.Contains("listening on") && line.Contains("again"));
        Assert.NotEqual(served.Symbol("_start").Address, served.Machine.State.Rip);
    }

    [GdbFact]
    public void A_second_client_is_refused_while_one_is_attached()
    {
        using var served = new ServedImage();
        using var first = new TcpClient();
        first.Connect(served.EndPoint);
        // The first client's session is under way once it has answered a packet.
        first.GetStream().Write(Protocol.Frame("qC"u8));
        var answer = new byte[16];
        Assert.True(first.GetStream().Read(answer) > 0);

        string output = served.Gdb("p $pc");

        Assert.Contains("another debugger is already attached", output);
    }

    [GdbFact]
    public void gdb_given_only_target_remote_reads_the_image_from_the_target()
    {
        using var served = new ServedImage();

        string output = served.GdbWithoutImage("info symbol $pc");

        // qXfer:exec-file:read names the image, and gdb's default sysroot (target:) reads it through vFile rather
        // than from gdb's own file system ("does not support file transfer" would be the fallback).
        Assert.True(output.Contains("from remote target") && output.Contains("Reading symbols from target:"), output);
        Assert.Contains("_start in section .text", output);
    }
}
