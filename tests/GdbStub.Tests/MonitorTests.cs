using System.Text;

namespace Repl.GdbStub.Tests;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

public class MonitorTests
{
    static string Monitor(InMemoryStub stub, string command)
    {
        string reply = stub.Request("qRcmd," + Protocol.Hex(command));
        return reply == "OK" ? "" : Encoding.UTF8.GetString(Convert.FromHexString(reply));
    }

    [Fact]
    public void Monitor_help_lists_the_commands()
    {
        using var stub = new InMemoryStub();

        string help = Monitor(stub, "help");

        foreach (string command in new[] { "phys", "virt", "cr3", "info mode", "info regs" })
            Assert.Contains(command, help);
    }

    [Fact]
    public void Monitor_info_mode_names_the_mode_and_cpl()
    {
        using var protectedMode = new InMemoryStub(Machine.CreateProtectedMode());
        using var longMode = new InMemoryStub();

        Assert.StartsWith("protected mode, CPL 0, 32-bit code, paging off", Monitor(protectedMode, "info mode"));
        Assert.StartsWith("64-bit mode (IA-32e), CPL 0, 64-bit code, 4-level paging", Monitor(longMode, "info mode"));
    }

    [Fact]
    public void Monitor_info_regs_shows_the_system_registers()
    {
        using var stub = new InMemoryStub();
        stub.Machine.State.Lstar = 0xFFFF_FFFF_8100_0000;

        Assert.Contains("lstar         0xffffffff81000000\n", Monitor(stub, "info regs"));
    }

    [Fact]
    public void An_unknown_command_goes_to_the_host_and_otherwise_gets_a_hint()
    {
        using var plain = new InMemoryStub();
        using var hosted = new InMemoryStub(options: new StubOptions { Monitor = command => command == "regs" ? "rax=0" : null });

        Assert.Equal("unknown monitor command 'regs' (try: monitor help)\n", Monitor(plain, "regs"));
        Assert.Equal("rax=0\n", Monitor(hosted, "regs"));
        Assert.Equal("unknown monitor command 'frob' (try: monitor help)\n", Monitor(hosted, "frob"));
    }

    [Fact]
    public void A_cr3_that_is_not_hex_gets_a_hint()
    {
        using var stub = new InMemoryStub();

        Assert.Contains("try: monitor cr3 0x1000", Monitor(stub, "cr3 kernel"));
    }
}
