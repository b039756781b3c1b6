using System.Threading.Channels;

namespace Repl.GdbStub;

/// <summary>
/// One client's byte stream, framed. A reader thread turns incoming bytes into <see cref="Frame"/>s (so that a
/// Ctrl-C is seen while the machine runs) and acknowledges packets as they arrive; the session takes frames with
/// <see cref="Receive"/> and sends with <see cref="Send"/>, which, until no-ack mode, waits for the client's '+'
/// and retransmits on '-'. A stream that ends or fails ends the connection: <see cref="Receive"/> then returns null.
/// </summary>
public sealed class Connection : IDisposable
{
    /// <summary>Retransmissions of one packet before the client is taken for gone.</summary>
    const int MaxRetransmissions = 8;

    readonly Stream _stream;
    readonly Channel<Frame> _frames = Channel.CreateUnbounded<Frame>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    readonly Lock _writeLock = new();
    readonly Queue<Frame> _early = new();
    volatile bool _noAck, _noAckAfterNextAck;

    public Connection(Stream stream, Action<string>? log = null)
    {
        _stream = stream;
        Log = log ?? (_ => { });
        new Thread(ReadLoop) { IsBackground = true, Name = "gdb-stub reader" }.Start();
    }

    public Action<string> Log { get; }

    /// <summary>Sends the OK to QStartNoAckMode: the client acknowledges it, and the packets that follow that '+'
    /// (which the reader thread may see before the session runs again) are not acknowledged.</summary>
    public bool AcceptNoAckMode()
    {
        _noAckAfterNextAck = true;
        return Send("OK"u8);
    }

    /// <summary>Whether a frame is waiting (or the connection has ended), without taking it.</summary>
    public Task<bool> WaitToReceiveAsync() => _early.Count > 0 ? Task.FromResult(true) : _frames.Reader.WaitToReadAsync().AsTask();

    /// <summary>The next frame, waiting for it; null once the client has gone.</summary>
    public Frame? Receive()
    {
        if (_early.TryDequeue(out var early))
            return early;
        if (SpinForFrame() is { } frame)
            return frame;
        try
        {
            return _frames.Reader.ReadAsync().AsTask().GetAwaiter().GetResult();
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    /// <summary>A stepping debugger sends its next packet within tens of microseconds of a reply, and waking a blocked
    /// thread costs about as much as answering the packet: so wait a little while awake before going to sleep.</summary>
    Frame? SpinForFrame()
    {
        long until = System.Diagnostics.Stopwatch.GetTimestamp() + System.Diagnostics.Stopwatch.Frequency / 10_000; // 100 µs
        var spin = new SpinWait();
        do
        {
            if (_frames.Reader.TryRead(out var frame))
                return frame;
            spin.SpinOnce(sleep1Threshold: -1);
        }
        while (System.Diagnostics.Stopwatch.GetTimestamp() < until);
        return null;
    }

    /// <summary>Sends a packet; false when the client has gone (or never acknowledged it).</summary>
    public bool Send(ReadOnlySpan<byte> payload)
    {
        byte[] framed = Protocol.Frame(payload);
        for (int attempt = 0; attempt <= MaxRetransmissions; attempt++)
        {
            if (!Write(framed))
                return false;
            if (_noAck)
                return true;
            switch (AwaitAcknowledgement())
            {
                case true: return true;
                case null: return false;
            }
        }
        Log($"client did not acknowledge a packet after {MaxRetransmissions} retransmissions; dropping it");
        return false;
    }

    public bool Send(string payload) => Send(System.Text.Encoding.Latin1.GetBytes(payload));

    /// <summary>True on '+', false on '-'; null when the client went. A packet arriving instead counts as an
    /// acknowledgement (the client's '+' was lost) and is kept for <see cref="Receive"/>; a stray interrupt too.</summary>
    bool? AwaitAcknowledgement()
    {
        while (true)
        {
            Frame? frame;
            try
            {
                frame = _frames.Reader.ReadAsync().AsTask().GetAwaiter().GetResult();
            }
            catch (ChannelClosedException)
            {
                return null;
            }
            switch (frame.Value.Kind)
            {
                case FrameKind.Ack: return true;
                case FrameKind.Nak: return false;
                default:
                    _early.Enqueue(frame.Value);
                    if (frame.Value.Kind == FrameKind.Packet)
                        return true;
                    break;
            }
        }
    }

    bool Write(ReadOnlySpan<byte> bytes)
    {
        lock (_writeLock)
        {
            try
            {
                _stream.Write(bytes);
                _stream.Flush();
                return true;
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException)
            {
                return false;
            }
        }
    }

    void ReadLoop()
    {
        var decoder = new PacketDecoder();
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                int n = _stream.Read(buffer);
                if (n == 0)
                    break;
                for (int i = 0; i < n; i++)
                {
                    if (decoder.Feed(buffer[i]) is not { } frame)
                        continue;
                    if (frame.Kind == FrameKind.BadPacket)
                    {
                        // A NAK asks for the packet again; without acknowledgements there is nobody to ask.
                        Log("dropped a packet with a bad checksum or over the size limit");
                        if (!_noAck)
                            Write("-"u8);
                        continue;
                    }
                    if (frame.Kind == FrameKind.Packet && !_noAck)
                        Write("+"u8);
                    if (frame.Kind == FrameKind.Ack && _noAckAfterNextAck)
                        (_noAck, _noAckAfterNextAck) = (true, false);
                    _frames.Writer.TryWrite(frame);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException or InvalidOperationException)
        {
            // The client went away mid-read: that ends the connection, as the end of the stream does.
        }
        _frames.Writer.TryComplete();
    }

    public void Dispose() => _stream.Dispose();
}
