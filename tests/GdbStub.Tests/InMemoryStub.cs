using System.Text;
using System.Threading.Channels;

namespace Repl.GdbStub.Tests;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>One direction of an in-memory connection: what one end writes the other reads; completing it is the
/// writer hanging up.</summary>
sealed class Pipe
{
    readonly Channel<byte[]> _chunks = Channel.CreateUnbounded<byte[]>();
    byte[] _current = [];
    int _offset;

    public void Write(ReadOnlySpan<byte> bytes) => _chunks.Writer.TryWrite(bytes.ToArray());

    public void Complete() => _chunks.Writer.TryComplete();

    public int Read(Span<byte> buffer)
    {
        while (_offset == _current.Length)
        {
            if (!_chunks.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
                return 0;
            _chunks.Reader.TryRead(out _current!);
            _offset = 0;
        }
        int n = Math.Min(buffer.Length, _current.Length - _offset);
        _current.AsSpan(_offset, n).CopyTo(buffer);
        _offset += n;
        return n;
    }
}

/// <summary>An end of an in-memory duplex connection; disposing it hangs up.</summary>
sealed class PipeStream(Pipe incoming, Pipe outgoing) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => incoming.Read(buffer.AsSpan(offset, count));
    public override int Read(Span<byte> buffer) => incoming.Read(buffer);
    public override void Write(byte[] buffer, int offset, int count) => outgoing.Write(buffer.AsSpan(offset, count));
    public override void Write(ReadOnlySpan<byte> buffer) => outgoing.Write(buffer);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        outgoing.Complete();
        base.Dispose(disposing);
    }
}

/// <summary>
/// A session of the stub over an in-memory connection, and the client's end of it, speaking the protocol as gdb does
/// (acknowledging replies until no-ack mode). The machine is a 64-bit one with <see cref="Program"/> at
/// <see cref="Code"/>: two NOPs, INC RAX, then a JMP to itself, so a continue runs until stopped.
/// </summary>
sealed class InMemoryStub : IDisposable
{
    public const ulong Code = 0x1000;
    public static readonly byte[] Program = [0x90, 0x90, 0x48, 0xFF, 0xC0, 0xEB, 0xFE];
    public const ulong Loop = Code + 5;

    readonly PipeStream _client;
    readonly PacketDecoder _decoder = new();
    readonly byte[] _buffer = new byte[1];
    bool _noAck;

    public Machine Machine { get; }
    public MachineHost Host { get; }
    public Task<SessionEnd> Session { get; }
    /// <summary>What the stub printed on the client's console (O packets), in order.</summary>
    public StringBuilder Console { get; } = new();
    public List<string> Logged { get; } = [];

    public InMemoryStub(Machine? machine = null, StubOptions? options = null)
    {
        Machine = machine ?? Machine.CreateLongMode();
        if (machine is null)
        {
            Machine.WritePhysical(Code, Program);
            Machine.State.Rip = Code;
        }
        Host = new MachineHost(Machine);
        Pipe toStub = new(), toClient = new();
        _client = new PipeStream(toClient, toStub);
        var connection = new Connection(new PipeStream(toStub, toClient), Logged.Add);
        var session = new Session(connection, Host, (options ?? new StubOptions()) with { Log = Logged.Add });
        Session = Task.Run(() => session.Run());
    }

    /// <summary>Sends a packet and returns the stub's reply, acknowledging it, after any console output.</summary>
    public string Request(string payload)
    {
        Send(payload);
        return Reply();
    }

    public void Send(string payload) => SendRaw(Protocol.Frame(Encoding.Latin1.GetBytes(payload)));

    public void SendRaw(ReadOnlySpan<byte> bytes) => _client.Write(bytes);

    /// <summary>The next packet from the stub (after skipping its acknowledgements and console output).</summary>
    public string Reply()
    {
        while (true)
        {
            var frame = NextFrame();
            if (frame.Kind != FrameKind.Packet)
                continue;
            if (!_noAck)
                SendRaw("+"u8);
            string text = frame.Text;
            if (text.StartsWith('O') && text.Length > 1 && text.Length % 2 == 1 && Protocol.TryDecodeHex(text[1..]) is { } output)
            {
                Console.Append(Encoding.UTF8.GetString(output));
                continue;
            }
            return text;
        }
    }

    /// <summary>The next frame the stub sends, acknowledgements included; throws when the stub hung up.</summary>
    public Frame NextFrame()
    {
        while (true)
        {
            if (_client.Read(_buffer) == 0)
                throw new EndOfStreamException("the stub closed the connection");
            if (_decoder.Feed(_buffer[0]) is { } frame)
                return frame;
        }
    }

    public void StartNoAckMode()
    {
        Assert.Equal("OK", Request("QStartNoAckMode"));
        _noAck = true;
    }

    /// <summary>
    /// A stub whose guest says on COM1 that it is about to spin (mov dx, 0x3f8; out dx, al; then at <see cref="Loop"/>
    /// a JMP to itself), with <paramref name="whileRunning"/> called as it says so: on the machine's thread, inside the
    /// run, which cannot end by itself. What the client does there (a Ctrl-C, hanging up) reaches the stub while the
    /// run is certainly under way, with nothing left to the clock.
    /// </summary>
    public static InMemoryStub Announcing(Action<InMemoryStub> whileRunning)
    {
        var m = Machine.CreateLongMode();
        m.WritePhysical(Code, [0x66, 0xBA, 0xF8, 0x03, 0xEE, 0xEB, 0xFE]);
        m.State.Rip = Code;
        var stub = new InMemoryStub(m);
        m.Com1.Transmitted += _ => whileRunning(stub);
        return stub;
    }

    /// <summary>How the session ended, waiting for it (a test fails rather than hangs if it does not end).</summary>
    public SessionEnd End()
    {
        Assert.True(Session.Wait(TimeSpan.FromSeconds(10)), "the session did not end");
        return Session.Result;
    }

    /// <summary>The client goes away without a word.</summary>
    public void HangUp() => _client.Dispose();

    public static string Hex(ulong value, int bytes) => Convert.ToHexStringLower(BitConverter.GetBytes(value)[..bytes]);

    public void Dispose()
    {
        _client.Dispose();
        Session.Wait(TimeSpan.FromSeconds(10));
        Host.Dispose();
    }
}
