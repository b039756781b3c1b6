using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Repl.GdbStub.Tests;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>The TCP server with plain sockets for clients: loopback, one client at a time, listening again after one.</summary>
public sealed class ServerTests : IDisposable
{
    readonly MachineHost _host = new(Machine.CreateLongMode());
    readonly GdbServer _server;
    readonly CancellationTokenSource _stop = new();
    readonly Task _serving;

    public ServerTests()
    {
        _server = new GdbServer(_host, new IPEndPoint(IPAddress.Loopback, 0));
        _serving = _server.ServeAsync(_stop.Token);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _server.Dispose();
        _serving.Wait(TimeSpan.FromSeconds(10));
        _host.Dispose();
    }

    /// <summary>Sends a packet and returns the first packet that comes back (acknowledgements skipped).</summary>
    static string Request(TcpClient client, string payload)
    {
        var stream = client.GetStream();
        stream.ReadTimeout = 10_000;
        stream.Write(Protocol.Frame(Encoding.ASCII.GetBytes(payload)));
        var decoder = new PacketDecoder();
        var buffer = new byte[1];
        while (stream.Read(buffer) == 1)
            if (decoder.Feed(buffer[0]) is { Kind: FrameKind.Packet } frame)
            {
                stream.Write("+"u8);
                return frame.Text;
            }
        return "(connection closed)";
    }

    TcpClient Connect()
    {
        var client = new TcpClient();
        client.Connect(_server.EndPoint);
        return client;
    }

    [Fact]
    public void The_default_address_is_loopback_port_1234()
    {
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 1234), GdbServer.DefaultEndPoint);
    }

    [Fact]
    public void A_second_client_gets_a_refusal_that_says_why_while_the_first_is_served()
    {
        using var first = Connect();
        Assert.Equal("QC1", Request(first, "qC"));
        using var second = Connect();

        Assert.Equal(GdbServer.Refusal, Request(second, "qSupported"));
        Assert.Equal("QC1", Request(first, "qC"));
    }

    [Fact]
    public void A_client_that_connects_as_soon_as_the_last_one_has_its_detach_reply_is_served()
    {
        // As a script that runs gdb twice in a row does: the detached session must not still hold the one client slot.
        for (int i = 0; i < 20; i++)
        {
            using (var first = Connect())
                Assert.Equal("OK", Request(first, "D"));

            using var next = Connect();
            Assert.Equal("QC1", Request(next, "qC"));
            Assert.Equal("OK", Request(next, "D"));
        }
    }

    [Fact]
    public void After_a_client_goes_away_the_next_one_is_served_with_the_machine_where_it_was()
    {
        using (var first = Connect())
        {
            Assert.StartsWith("T05", Request(first, "s"));
        }
        ulong rip = _host.Call(m => m.State.Rip);

        string reply = "";
        // The server notices the first client's end asynchronously; until then a newcomer is refused.
        for (int attempt = 0; attempt < 100 && !reply.StartsWith("QC", StringComparison.Ordinal); attempt++)
        {
            using var next = Connect();
            reply = Request(next, "qC");
            if (reply.StartsWith("QC", StringComparison.Ordinal))
                Assert.Equal(InMemoryStub.Hex(rip, 8), Request(next, $"p{TargetDescription.IndexOf("rip"):x}"));
            else
                Thread.Sleep(50);
        }
        Assert.Equal("QC1", reply);
    }
}
