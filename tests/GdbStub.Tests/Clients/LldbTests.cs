namespace Repl.GdbStub.Tests.Clients;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>lldb, in batch mode, against the stub serving the longmode image.</summary>
public class LldbTests
{
    [LldbFact]
    public void lldb_attaches_and_reads_registers()
    {
        using var served = new ServedImage();

        string output = served.Lldb("register read rip", "register read cr0 lstar");

        Assert.Contains($"rip = 0x{served.Symbol("_start").Address:x16}", output);
        Assert.Contains("cr0 = 0x0000000000000011", output);
        Assert.Contains("lstar = 0x0000000000000000", output);
    }

    [LldbFact]
    public void lldb_writes_a_register_into_the_machine()
    {
        using var served = new ServedImage();

        string output = served.Lldb("register write rax 0x4242", "register read rax");

        Assert.Contains("rax = 0x0000000000004242", output);
        Assert.Equal(0x4242UL, served.Machine.ReadRegister(Register.Rax));
    }
}
