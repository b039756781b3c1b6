using System.Text;
using System.Xml.Linq;

namespace Repl.GdbStub.Tests;

public class QueryPacketTests
{
    [Fact]
    public void qSupported_offers_a_16_KiB_packet_the_target_description_no_ack_mode_and_stop_reasons()
    {
        using var stub = new InMemoryStub();

        string[] features = stub.Request("qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+").Split(';');

        Assert.Contains("PacketSize=4000", features);
        Assert.Contains("qXfer:features:read+", features);
        Assert.Contains("QStartNoAckMode+", features);
        Assert.Contains("swbreak+", features);
        Assert.Contains("hwbreak+", features);
        Assert.Contains("vContSupported+", features);
        Assert.Contains("qXfer:threads:read+", features);
        Assert.DoesNotContain("qXfer:exec-file:read+", features);
    }

    [Fact]
    public void The_exec_file_is_offered_and_served_when_the_image_path_is_known()
    {
        using var stub = new InMemoryStub(options: new StubOptions { ExecutablePath = "/images/kernel.elf" });

        Assert.Contains("qXfer:exec-file:read+", stub.Request("qSupported").Split(';'));
        Assert.Equal("l/images/kernel.elf", stub.Request("qXfer:exec-file:read:1:0,1000"));
    }

    [Fact]
    public void One_thread_is_listed_and_current()
    {
        using var stub = new InMemoryStub();

        Assert.Equal("m1", stub.Request("qfThreadInfo"));
        Assert.Equal("l", stub.Request("qsThreadInfo"));
        Assert.Equal("QC1", stub.Request("qC"));
        Assert.Equal("OK", stub.Request("Hg0"));
        Assert.Equal("OK", stub.Request("Hc-1"));
        Assert.Equal("OK", stub.Request("T1"));
        Assert.StartsWith("E", stub.Request("T2"));
    }

    [Fact]
    public void The_thread_list_document_names_the_one_thread_in_a_single_reply()
    {
        using var stub = new InMemoryStub();

        string reply = stub.Request("qXfer:threads:read::0,1000");

        Assert.StartsWith("l", reply);
        var thread = Assert.Single(XDocument.Parse(reply[1..]).Root!.Elements("thread"));
        Assert.Equal("1", thread.Attribute("id")?.Value);
    }

    [Fact]
    public void Unknown_packets_get_the_empty_reply()
    {
        using var stub = new InMemoryStub();

        Assert.Equal("", stub.Request("vMustReplyEmpty"));
        Assert.Equal("", stub.Request("qTStatus"));
        Assert.Equal("", stub.Request("!"));
    }

    /// <summary>Reads a qXfer object in small pieces, as a client with a small buffer would.</summary>
    static string ReadInPieces(InMemoryStub stub, string annex)
    {
        var document = new StringBuilder();
        while (true)
        {
            string reply = stub.Request($"qXfer:features:read:{annex}:{document.Length:x},100");
            Assert.True(reply[0] is 'm' or 'l', reply);
            document.Append(Encoding.Latin1.GetString(Protocol.UnescapeBinary(Encoding.Latin1.GetBytes(reply[1..]))!));
            if (reply[0] == 'l')
                return document.ToString();
        }
    }

    [Fact]
    public void target_xml_names_the_architecture_and_includes_each_feature()
    {
        using var stub = new InMemoryStub();

        string target = ReadInPieces(stub, "target.xml");

        Assert.Equal(TargetDescription.Document("target.xml"), target);
        Assert.Contains("<architecture>i386:x86-64</architecture>", target);
        foreach (var feature in TargetDescription.Features)
            Assert.Contains($"<xi:include href=\"{feature.File}\"/>", target);
    }

    [Fact]
    public void The_features_list_every_register_once_in_g_packet_order()
    {
        var registers = TargetDescription.Features
            .SelectMany(f => XDocument.Parse(TargetDescription.Document(f.File)!).Root!.Elements("reg"))
            .OrderBy(r => int.Parse(r.Attribute("regnum")!.Value))
            .Select(r => r.Attribute("name")!.Value);

        Assert.Equal(TargetDescription.Registers.Select(r => r.Name), registers);
    }

    [Fact]
    public void The_core_feature_is_gdbs_with_QEMUs_system_registers_after_gs()
    {
        var core = XDocument.Parse(TargetDescription.Document("core.xml")!).Root!;
        var names = core.Elements("reg").Select(r => r.Attribute("name")!.Value).ToList();

        Assert.Equal("org.gnu.gdb.i386.core", core.Attribute("name")!.Value);
        Assert.Equal(["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp"], names[..8]);
        Assert.Equal(["rip", "eflags", "cs", "ss", "ds", "es", "fs", "gs", "fs_base", "gs_base", "k_gs_base", "cr0", "cr2", "cr3", "cr4", "cr8", "efer", "st0"],
                     names[16..34]);
    }

    [Fact]
    public void An_unknown_annex_is_an_error()
    {
        using var stub = new InMemoryStub();

        Assert.StartsWith("E", stub.Request("qXfer:features:read:nonesuch.xml:0,100"));
    }

    [Fact]
    public void lldb_gets_its_host_and_register_information()
    {
        using var stub = new InMemoryStub();

        Assert.Contains("ptrsize:8;", stub.Request("qHostInfo"));
        Assert.Contains($"triple:{Protocol.Hex("x86_64-unknown-none-elf")};", stub.Request("qProcessInfo"));
        Assert.Equal("name:rax;bitsize:64;offset:0;encoding:uint;format:hex;set:General Purpose Registers;ehframe:0;dwarf:0;", stub.Request("qRegisterInfo0"));
        Assert.Contains("generic:pc;", stub.Request($"qRegisterInfo{TargetDescription.IndexOf("rip"):x}"));
        Assert.Equal("E45", stub.Request($"qRegisterInfo{TargetDescription.Registers.Count:x}"));
    }
}
