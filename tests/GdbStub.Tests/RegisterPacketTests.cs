namespace Repl.GdbStub.Tests;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

public class RegisterPacketTests
{
    static int Number(string name) => TargetDescription.IndexOf(name);

    [Fact]
    public void The_g_reply_has_the_same_size_in_32_bit_protected_mode_and_in_64_bit_mode()
    {
        using var protectedMode = new InMemoryStub(Machine.CreateProtectedMode());
        using var longMode = new InMemoryStub();

        string g32 = protectedMode.Request("g"), g64 = longMode.Request("g");

        Assert.Equal(TargetDescription.TotalBytes * 2, g32.Length);
        Assert.Equal(g32.Length, g64.Length);
    }

    [Fact]
    public void The_g_reply_starts_with_rax_rbx_rcx_in_little_endian()
    {
        using var stub = new InMemoryStub();
        stub.Machine.WriteRegister(Register.Rax, 0x1122334455667788);
        stub.Machine.WriteRegister(Register.Rbx, 2);

        string g = stub.Request("g");

        Assert.StartsWith("8877665544332211" + "0200000000000000", g);
    }

    [Fact]
    public void P_writes_a_register_and_p_reads_it_back()
    {
        using var stub = new InMemoryStub();

        Assert.Equal("OK", stub.Request($"P{Number("r9"):x}={InMemoryStub.Hex(0xCAFE, 8)}"));

        Assert.Equal(0xCAFEUL, stub.Machine.ReadRegister(Register.R9));
        Assert.Equal(InMemoryStub.Hex(0xCAFE, 8), stub.Request($"p{Number("r9"):x}"));
    }

    [Fact]
    public void The_system_feature_reads_msrs_and_segment_caches()
    {
        using var stub = new InMemoryStub();
        stub.Machine.State.Lstar = 0xFFFF_FFFF_8100_0000;

        Assert.Equal(InMemoryStub.Hex(0xFFFF_FFFF_8100_0000, 8), stub.Request($"p{Number("lstar"):x}"));
        Assert.Equal(InMemoryStub.Hex(0xFFFF_FFFF, 4), stub.Request($"p{Number("cs_limit"):x}"));
        Assert.Equal(InMemoryStub.Hex((ulong)OperatingMode.Long64, 4), stub.Request($"p{Number("mode"):x}"));
    }

    [Theory]
    [InlineData("cpl")]
    [InlineData("mode")]
    [InlineData("xmm0")]
    [InlineData("st0")]
    public void Writes_to_read_only_and_absent_registers_are_refused(string name)
    {
        using var stub = new InMemoryStub();
        int bytes = TargetDescription.Registers[Number(name)].Bytes;

        Assert.StartsWith("E", stub.Request($"P{Number(name):x}={new string('1', bytes * 2)}"));
    }

    [Fact]
    public void G_writes_back_what_g_read_with_one_register_changed()
    {
        using var stub = new InMemoryStub();
        string g = stub.Request("g");
        int offset = TargetDescription.Registers.Take(Number("r12")).Sum(r => r.Bytes) * 2;
        string changed = g[..offset] + InMemoryStub.Hex(0x1212, 8) + g[(offset + 16)..];

        Assert.Equal("OK", stub.Request("G" + changed));

        Assert.Equal(0x1212UL, stub.Machine.ReadRegister(Register.R12));
        Assert.Equal(changed, stub.Request("g"));
    }

    [Theory]
    [InlineData("p")]
    [InlineData("pzz")]
    [InlineData("p999")]
    [InlineData("P0=12")]
    [InlineData("P0")]
    [InlineData("G00")]
    public void Malformed_register_packets_get_an_error(string packet)
    {
        using var stub = new InMemoryStub();

        Assert.StartsWith("E", stub.Request(packet));
    }
}
