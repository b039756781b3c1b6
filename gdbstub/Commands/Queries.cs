using System.Text;

namespace Repl.GdbStub;

/// <summary>q, Q and v packets: what the stub supports, threads, the target description, lldb's host and
/// register queries, no-ack mode, and vCont/vKill (vFile is in HostIo.cs).</summary>
public sealed partial class Session
{
    const string Triple = "x86_64-unknown-none-elf";

    string? Query(string packet)
    {
        string name = packet.IndexOf(':') is int colon and > 0 ? packet[..colon] : packet;
        return name switch
        {
            "qSupported" => Supported(),
            "qAttached" => "1",
            "qC" => $"QC{StopReplies.ThreadId:x}",
            "qfThreadInfo" => $"m{StopReplies.ThreadId:x}",
            "qsThreadInfo" => "l",
            "qXfer" => Transfer(packet),
            _ when name.StartsWith("qRcmd,", StringComparison.Ordinal) => MonitorCommand(packet),
            "qHostInfo" => $"triple:{Protocol.Hex(Triple)};ptrsize:8;endian:little;",
            "qProcessInfo" => $"pid:1;triple:{Protocol.Hex(Triple)};ptrsize:8;endian:little;",
            _ when name.StartsWith("qRegisterInfo", StringComparison.Ordinal) =>
                Protocol.TryParseHex(name.AsSpan("qRegisterInfo".Length), out ulong n) && TargetDescription.RegisterInfo((int)Math.Min(n, int.MaxValue)) is { } info
                    ? info : "E45",
            _ when name.StartsWith("qThreadStopInfo", StringComparison.Ordinal) => _lastStop,
            _ => "",
        };
    }

    /// <summary>qSupported: what the client offers is not needed; PacketSize is in hex.</summary>
    string Supported()
    {
        var features = new StringBuilder($"PacketSize={Protocol.PacketSize:x};qXfer:features:read+;qXfer:threads:read+;QStartNoAckMode+;swbreak+;hwbreak+;vContSupported+");
        if (_options.ExecutablePath is not null)
            features.Append(";qXfer:exec-file:read+");
        return features.ToString();
    }

    string? Set(string packet)
    {
        if (packet != "QStartNoAckMode")
            return "";
        if (!_connection.AcceptNoAckMode())
            _end = SessionEnd.ClientGone;
        return null;
    }

    string? VerbosePacket(string packet)
    {
        if (packet == "vCont?")
            return "vCont;c;C;s;S;r";
        if (packet.StartsWith("vCont;", StringComparison.Ordinal))
            return ContinueWithActions(packet["vCont;".Length..]);
        if (packet.StartsWith("vFile:", StringComparison.Ordinal))
            return HostIo(packet);
        if (packet.StartsWith("vKill", StringComparison.Ordinal))
        {
            Kill();
            return "OK";
        }
        return "";
    }

    /// <summary>qXfer:OBJECT:read:ANNEX:OFFSET,LENGTH, for features (target.xml and its includes), exec-file (the
    /// image's path; the annex is a process id, which one machine does not need) and threads (the thread list, which
    /// gdb fetches after every stop: one packet where qfThreadInfo and qsThreadInfo take two). Replies are binary:
    /// 'm' for a part with more to come, 'l' for the last.</summary>
    string Transfer(string packet)
    {
        string[] parts = packet.Split(':');
        bool known = parts.Length > 1 && parts[1] is "features" or "exec-file" or "threads";
        if (parts.Length != 5 || parts[2] != "read" || !TryParseRange(parts[4], out ulong offset, out ulong length))
            return known ? Error(Einval) : "";
        string? document = parts[1] switch
        {
            "features" => TargetDescription.Document(parts[3]),
            "exec-file" => _options.ExecutablePath,
            "threads" => ThreadList,
            _ => null,
        };
        if (document is null)
            return known ? Error(0) : "";
        byte[] bytes = Encoding.UTF8.GetBytes(document);
        if (offset >= (ulong)bytes.Length)
            return "l";
        int count = (int)Math.Min(Math.Min(length, (ulong)bytes.Length - offset), Protocol.PacketSize / 2);
        bool last = offset + (ulong)count == (ulong)bytes.Length;
        return (last ? "l" : "m") + Encoding.Latin1.GetString(Protocol.EscapeBinary(bytes.AsSpan((int)offset, count)));
    }

    /// <summary>The thread list document (GDB manual, "Thread List Format"): the machine's one processor, as
    /// qfThreadInfo names it.</summary>
    static readonly string ThreadList = $"<?xml version=\"1.0\"?>\n<threads>\n  <thread id=\"{StopReplies.ThreadId:x}\" core=\"0\"/>\n</threads>\n";
}
