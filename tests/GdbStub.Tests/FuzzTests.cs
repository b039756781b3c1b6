using System.Runtime.InteropServices;
using System.Text;

namespace Repl.GdbStub.Tests;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>
/// The packet parser fuzzed: random and mutated input, with fixed seeds so that a failure repeats. Nothing a client
/// sends may throw, and packets that only read must leave the machine exactly as it was.
/// </summary>
public class FuzzTests
{
    /// <summary>Packets that read state: whatever they turn into, none may change the machine.</summary>
    static readonly string[] ReadingPackets =
    [
        "?", "g", "p10", "p7a", "m1000,10", "m0,4000", "qSupported:multiprocess+;swbreak+", "qXfer:features:read:target.xml:0,ffb",
        "qXfer:features:read:system.xml:40,100", "qXfer:exec-file:read::0,100", "qC", "qfThreadInfo", "qsThreadInfo", "qAttached",
        "qHostInfo", "qRegisterInfo3", "qRcmd,68656c70", "qRcmd,696e666f206d6f6465", "Hg0", "T1", "vCont?", "vMustReplyEmpty",
    ];

    /// <summary>Letters of packets that write state or run the machine, which the state check leaves out.</summary>
    const string ChangingLetters = "GPMXZzcsCSvDkQ";

    static readonly byte[] Interesting = "$#}*+-:;,=0123456789abcdefxXmMgGpPqQvZz\x03\0\xff"u8.ToArray();

    static byte[] Mutate(Random random, byte[] packet)
    {
        var bytes = new List<byte>(packet);
        for (int n = random.Next(1, 4); n > 0; n--)
        {
            int at = bytes.Count == 0 ? 0 : random.Next(bytes.Count);
            switch (random.Next(5))
            {
                case 0 when bytes.Count > 0: bytes[at] = Interesting[random.Next(Interesting.Length)]; break;
                case 1: bytes.Insert(at, (byte)random.Next(256)); break;
                case 2 when bytes.Count > 0: bytes.RemoveAt(at); break;
                case 3: bytes.InsertRange(at, Enumerable.Repeat(Interesting[random.Next(Interesting.Length)], random.Next(1, 300))); break;
                default: bytes.RemoveRange(at, bytes.Count - at); break;
            }
        }
        return [.. bytes];
    }

    [Fact]
    public void The_decoder_survives_random_and_mutated_input_and_never_yields_an_oversized_packet()
    {
        var random = new Random(5);
        var decoder = new PacketDecoder();
        for (int round = 0; round < 20_000; round++)
        {
            byte[] input = random.Next(3) switch
            {
                0 => Mutate(random, Protocol.Frame(Encoding.Latin1.GetBytes(ReadingPackets[random.Next(ReadingPackets.Length)]))),
                1 => Enumerable.Range(0, random.Next(64)).Select(_ => Interesting[random.Next(Interesting.Length)]).ToArray(),
                _ => Enumerable.Range(0, random.Next(64)).Select(_ => (byte)random.Next(256)).ToArray(),
            };
            foreach (byte b in input)
                if (decoder.Feed(b) is { Kind: FrameKind.Packet } frame)
                    Assert.True(frame.Data.Length <= PacketDecoder.MaxPayload);
        }
        // Whatever came before, a well-formed packet after a '#' and two digits to close any open one decodes.
        foreach (byte b in "#00"u8)
            decoder.Feed(b);
        Frame? last = null;
        foreach (byte b in Protocol.Frame("qC"u8))
            last = decoder.Feed(b) ?? last;
        Assert.Equal((FrameKind.Packet, "qC"), (last!.Value.Kind, last.Value.Text));
    }

    static byte[] Snapshot(Machine m)
    {
        var state = m.State;
        var ram = new byte[0x10000];
        m.ReadPhysical(0, ram);
        return [.. MemoryMarshal.AsBytes(new ReadOnlySpan<CpuState>(ref state)), .. ram, (byte)m.Cpu.Breakpoints.Count];
    }

    [Fact]
    public void Mutated_reading_packets_never_throw_and_leave_the_machine_untouched()
    {
        var random = new Random(6);
        using var stub = new InMemoryStub();
        var session = new Session(new Connection(Stream.Null), stub.Host);
        byte[] before = stub.Host.Call(Snapshot);
        for (int round = 0; round < 5_000; round++)
        {
            byte[] packet = Mutate(random, Encoding.Latin1.GetBytes(ReadingPackets[random.Next(ReadingPackets.Length)]));
            if (packet.Length > 0 && ChangingLetters.Contains((char)packet[0]))
                continue;
            var exception = Record.Exception(() => session.Dispatch(packet));
            Assert.True(exception is null, $"{Encoding.Latin1.GetString(packet)}: {exception}");
        }
        Assert.Equal(before, stub.Host.Call(Snapshot));
    }

    [Fact]
    public void Malformed_writing_packets_get_errors_rather_than_exceptions()
    {
        var random = new Random(7);
        using var stub = new InMemoryStub();
        var session = new Session(new Connection(Stream.Null), stub.Host);
        string[] writing = ["G" + new string('0', TargetDescription.TotalBytes * 2), "P10=0010000000000000", "M2000,2:abcd", "X2000,2:ab", "Z0,1000,1", "z1,1000,1"];
        for (int round = 0; round < 5_000; round++)
        {
            byte[] packet = Mutate(random, Encoding.Latin1.GetBytes(writing[random.Next(writing.Length)]));
            // Mutations that turn into a resume would run the guest's endless loop; kills end the session.
            if (packet.Length == 0 || "cCsSvDkQ".Contains((char)packet[0]))
                continue;
            var exception = Record.Exception(() => session.Dispatch(packet));
            Assert.True(exception is null, $"{Encoding.Latin1.GetString(packet)}: {exception}");
        }
    }
}
