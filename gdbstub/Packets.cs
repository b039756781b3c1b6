using System.Text;

namespace Repl.GdbStub;

/// <summary>What arrives from the client, once framed: a packet with a good checksum, a packet whose checksum does
/// not match (to be NAKed), an acknowledgement, or the interrupt byte (Ctrl-C, 0x03).</summary>
public enum FrameKind { Packet, BadPacket, Ack, Nak, Interrupt }

/// <summary>One framed unit; <see cref="Data"/> is a packet's payload with run-length encoding already expanded
/// (binary escapes are left for the packet that carries binary data, such as X, to undo).</summary>
public readonly record struct Frame(FrameKind Kind, byte[] Data)
{
    public static readonly Frame Ack = new(FrameKind.Ack, []), Nak = new(FrameKind.Nak, []), Interrupt = new(FrameKind.Interrupt, []);

    public string Text => Encoding.Latin1.GetString(Data);
}

/// <summary>
/// The remote protocol's framing (GDB manual, "Overview" of the remote serial protocol): <c>$payload#cs</c> where
/// cs is the modulo-256 sum of the payload's bytes as two hex digits, '+' and '-' acknowledgements, 0x03 outside a
/// packet for an interrupt. Bytes arrive one at a time in <see cref="Feed"/>, which never throws: junk between
/// packets is skipped, a '$' inside a packet starts over (the sender began again), and a payload longer than
/// <see cref="MaxPayload"/> is reported as bad once its end arrives, so the client retransmits or gives up.
/// </summary>
public sealed class PacketDecoder
{
    /// <summary>What the stub announces in qSupported (PacketSize) is what it must accept, with room for run-length
    /// expansion of a packet that size.</summary>
    public const int MaxPayload = 4 * Protocol.PacketSize;

    enum State { Idle, Payload, Checksum1, Checksum2 }

    readonly List<byte> _payload = [];
    State _state;
    int _checksum, _received;
    bool _oversize;

    public Frame? Feed(byte b)
    {
        switch (_state)
        {
            case State.Idle:
                switch (b)
                {
                    case (byte)'$': Start(); return null;
                    case (byte)'+': return Frame.Ack;
                    case (byte)'-': return Frame.Nak;
                    case 0x03: return Frame.Interrupt;
                    default: return null;
                }
            case State.Payload:
                if (b == '$')
                    Start();
                else if (b == '#')
                    _state = State.Checksum1;
                else
                {
                    _checksum += b;
                    if (_payload.Count < MaxPayload)
                        _payload.Add(b);
                    else
                        _oversize = true;
                }
                return null;
            case State.Checksum1:
                _received = HexDigit(b) << 4;
                _state = State.Checksum2;
                return null;
            default:
                _received |= HexDigit(b);
                _state = State.Idle;
                if (_oversize || _received != (_checksum & 0xFF) || _received < 0)
                    return new Frame(FrameKind.BadPacket, []);
                return RunLength.Expand(_payload) is { } data ? new Frame(FrameKind.Packet, data) : new Frame(FrameKind.BadPacket, []);
        }
    }

    void Start()
    {
        _payload.Clear();
        _checksum = 0;
        _oversize = false;
        _state = State.Payload;
    }

    /// <summary>A hex digit's value, or a large negative number that poisons the checksum comparison.</summary>
    static int HexDigit(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -0x1000,
    };
}

/// <summary>
/// Run-length encoding (GDB manual, "Overview"): "X*n" stands for X repeated n - 29 + 1 times in all. gdb itself
/// never sends it, but the protocol allows it in either direction, and other clients do.
/// </summary>
public static class RunLength
{
    /// <summary>The expanded payload, or null when a '*' has nothing before it or a count out of range, or the
    /// expansion would pass <see cref="PacketDecoder.MaxPayload"/>.</summary>
    public static byte[]? Expand(List<byte> payload)
    {
        if (!payload.Contains((byte)'*'))
            return [.. payload];
        var result = new List<byte>(payload.Count);
        for (int i = 0; i < payload.Count; i++)
        {
            if (payload[i] != '*')
            {
                result.Add(payload[i]);
                continue;
            }
            if (result.Count == 0 || i + 1 == payload.Count)
                return null;
            int repeat = payload[++i] - 29;
            // The manual rules out counts that would make the count character '#' or '$' (6, 7) and printable
            // characters below ' ' are meaningless: take what is positive, as gdb's own decoder does.
            if (repeat <= 0 || result.Count + repeat > PacketDecoder.MaxPayload)
                return null;
            byte repeated = result[^1];
            for (int k = 0; k < repeat; k++)
                result.Add(repeated);
        }
        return [.. result];
    }
}

/// <summary>Encoding helpers of the protocol: framing out, checksums, hex, and binary escapes.</summary>
public static class Protocol
{
    /// <summary>The largest packet the stub accepts, as announced in qSupported; 16 KiB lets gdb move memory in
    /// large blocks where it reads a block (a dump, a code cache line). x/64gx is not one: gdb reads each quadword it
    /// prints with an m packet of its own, whatever the packet size.</summary>
    public const int PacketSize = 0x4000;

    /// <summary>'}' escapes '#', '$', '}' and '*' in binary data: the escaped byte is XORed with 0x20.</summary>
    const byte Escape = (byte)'}', EscapeXor = 0x20;

    public static byte[] Frame(ReadOnlySpan<byte> payload)
    {
        var framed = new byte[payload.Length + 4];
        framed[0] = (byte)'$';
        payload.CopyTo(framed.AsSpan(1));
        int sum = 0;
        foreach (byte b in payload)
            sum += b;
        framed[^3] = (byte)'#';
        framed[^2] = (byte)"0123456789abcdef"[(sum >> 4) & 0xF];
        framed[^1] = (byte)"0123456789abcdef"[sum & 0xF];
        return framed;
    }

    public static byte[] EscapeBinary(ReadOnlySpan<byte> data)
    {
        var escaped = new List<byte>(data.Length + 8);
        foreach (byte b in data)
        {
            if (b is (byte)'#' or (byte)'$' or Escape or (byte)'*')
            {
                escaped.Add(Escape);
                escaped.Add((byte)(b ^ EscapeXor));
            }
            else
                escaped.Add(b);
        }
        return [.. escaped];
    }

    /// <summary>Undoes <see cref="EscapeBinary"/>; null when the data ends in a lone escape byte.</summary>
    public static byte[]? UnescapeBinary(ReadOnlySpan<byte> data)
    {
        var plain = new byte[data.Length];
        int n = 0;
        for (int i = 0; i < data.Length; i++)
        {
            if (data[i] != Escape)
                plain[n++] = data[i];
            else if (++i < data.Length)
                plain[n++] = (byte)(data[i] ^ EscapeXor);
            else
                return null;
        }
        return plain[..n];
    }

    public static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    public static string Hex(string text) => Hex(Encoding.UTF8.GetBytes(text));

    public static bool TryParseHex(ReadOnlySpan<char> text, out ulong value) =>
        ulong.TryParse(text, System.Globalization.NumberStyles.AllowHexSpecifier, null, out value) && text.Length > 0;

    public static byte[]? TryDecodeHex(string text)
    {
        if (text.Length % 2 != 0)
            return null;
        try
        {
            return Convert.FromHexString(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
