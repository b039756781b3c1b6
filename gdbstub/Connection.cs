namespace Repl.GdbStub;

/// <summary>
/// One client's byte stream, framed. While the machine is stopped the session reads the stream itself, on its own
/// thread (<see cref="Receive"/>): a packet then costs the client one wake-up of the stub and the stub one of the
/// client, with no thread in between to hand it over, which on a busy host is most of a round trip. While the
/// machine runs, <see cref="WaitForInputAsync"/> reads on a pool thread, so that the session can wait for the run and
/// for a Ctrl-C at once; the bytes it got are decoded by the session (<see cref="ReceiveBuffered"/>, or the next
/// <see cref="Receive"/>). Packets are acknowledged as they are decoded, until no-ack mode; <see cref="Send"/> waits
/// for the client's '+' and retransmits on '-'. A stream that ends or fails ends the connection: <see cref="Receive"/>
/// then returns null.
/// </summary>
public sealed class Connection : IDisposable
{
    /// <summary>Retransmissions of one packet before the client is taken for gone.</summary>
    const int MaxRetransmissions = 8;

    readonly Stream _stream;
    readonly PacketDecoder _decoder = new();
    /// <summary>Bytes read and not yet decoded are _buffer[_next.._end].</summary>
    readonly byte[] _buffer = new byte[Protocol.PacketSize];
    int _next, _end;
    /// <summary>A read started while the machine ran, which may still be waiting for the client.</summary>
    Task<int>? _pendingRead;
    /// <summary>Frames decoded before the session asked for them: a packet or an interrupt that came instead of an
    /// acknowledgement, or what arrived while the machine ran.</summary>
    readonly Queue<Frame> _early = new();
    bool _noAck;

    public Connection(Stream stream, Action<string>? log = null)
    {
        _stream = stream;
        Log = log ?? (_ => { });
    }

    public Action<string> Log { get; }

    /// <summary>Sends the OK to QStartNoAckMode: the client acknowledges it, and the packets that follow that '+'
    /// are not acknowledged (decoding stops at the '+', so none of them has been acknowledged yet).</summary>
    public bool AcceptNoAckMode()
    {
        if (!Send("OK"u8))
            return false;
        _noAck = true;
        return true;
    }

    /// <summary>The next frame, waiting for it; null once the client has gone.</summary>
    public Frame? Receive() => _early.TryDequeue(out var early) ? early : Decode(wait: true);

    /// <summary>Completes when input is there to decode (true) or the client has gone (false), reading on a pool
    /// thread meanwhile: what a session waits for together with a run.</summary>
    public Task<bool> WaitForInputAsync()
    {
        if (_early.Count > 0 || _next < _end)
            return Task.FromResult(true);
        _pendingRead ??= Task.Run(() => _stream.Read(_buffer));
        return _pendingRead.ContinueWith(read => read.IsCompletedSuccessfully && read.Result > 0, TaskContinuationOptions.ExecuteSynchronously);
    }

    /// <summary>The next frame among the bytes already read, without waiting; null when they hold no whole frame.</summary>
    public Frame? ReceiveBuffered() => _early.TryDequeue(out var early) ? early : Decode(wait: false);

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
        while (Decode(wait: true) is { } frame)
        {
            switch (frame.Kind)
            {
                case FrameKind.Ack: return true;
                case FrameKind.Nak: return false;
                default:
                    _early.Enqueue(frame);
                    if (frame.Kind == FrameKind.Packet)
                        return true;
                    break;
            }
        }
        return null;
    }

    /// <summary>Decodes up to the next frame, acknowledging a good packet and NAKing a bad one; reads more when the
    /// buffer holds no whole frame if <paramref name="wait"/> (null when the client has gone), else returns null.</summary>
    Frame? Decode(bool wait)
    {
        while (true)
        {
            while (_next < _end)
            {
                if (_decoder.Feed(_buffer[_next++]) is not { } frame)
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
                return frame;
            }
            if (!wait && _pendingRead is not { IsCompleted: true })
                return null;
            if (!Fill())
                return null;
        }
    }

    /// <summary>Reads the next bytes into the (fully decoded) buffer: a read started while the machine ran, else one
    /// on this thread. False when the stream has ended or failed.</summary>
    bool Fill()
    {
        try
        {
            _end = _pendingRead is { } pending ? pending.GetAwaiter().GetResult() : _stream.Read(_buffer);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException or InvalidOperationException)
        {
            // The client went away mid-read: that ends the connection, as the end of the stream does.
            _end = 0;
        }
        _pendingRead = null;
        _next = 0;
        return _end > 0;
    }

    bool Write(ReadOnlySpan<byte> bytes)
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

    public void Dispose() => _stream.Dispose();
}
