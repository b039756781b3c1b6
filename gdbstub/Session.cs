using System.Text;

namespace Repl.GdbStub;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>What the stub offers beyond the machine: the image, named by qXfer:exec-file:read and read by vFile, where to send
/// log lines, and the monitor commands of whoever hosts the stub.</summary>
public sealed record StubOptions
{
    /// <summary>The ELF the machine was loaded from: gdb given only <c>target remote</c> reads its symbols there; the
    /// only file vFile serves.</summary>
    public string? ExecutablePath { get; init; }

    /// <summary>One-line progress and problem messages (the shell writes them to stderr).</summary>
    public Action<string> Log { get; init; } = _ => { };

    /// <summary>Monitor commands the stub does not know go here (the shell routes its whole command set); null for
    /// a command it does not know either. Called on the machine's thread, while the machine is stopped.</summary>
    public Func<string, string?>? Monitor { get; init; }

    /// <summary>A host with stops and code of its own in the machine's runs (the shell); null runs the machine
    /// directly.</summary>
    public IRunHost? RunHost { get; init; }
}

/// <summary>
/// A host of the stub that takes part in the runs the client starts: the shell, whose breakpoints, watchpoints and
/// catchpoints stop them too and whose C# hooks run in them, as in its own runs. Called under the machine host's lock,
/// on the thread that runs the machine.
/// </summary>
public interface IRunHost
{
    /// <summary>Runs <paramref name="run"/> (the client's continue, step or range step), again past the host's own
    /// stops that are not for stopping (a false condition, an instruction hook), until a stop the client or the host
    /// wants; <paramref name="clientBreaksAt"/> names the client's breakpoint addresses. Returns the stop, with the line
    /// that explains it when it is the host's (null when it is the client's own or explains itself).</summary>
    (StopReason Stop, string? Explanation) Run(Func<StopReason> run, Func<ulong, bool> clientBreaksAt);

    /// <summary>Whether the host stops at <paramref name="address"/> for itself: the client's z leaves it armed.</summary>
    bool BreaksAt(ulong address);
}

/// <summary>How a session ended.</summary>
public enum SessionEnd { Detached, Killed, ClientGone }

/// <summary>
/// One client's session: reads packets, answers them against the machine, and runs the machine when asked. Packet
/// families live in Commands/*, one file each; <see cref="Dispatch"/> routes by the packet's first letters. The
/// machine is stopped whenever a packet is being answered; it runs only inside <see cref="Resume"/>, which watches
/// for Ctrl-C and for the client going away (the machine is then stopped and the session ends), and for the one
/// instruction of a single step.
/// </summary>
public sealed partial class Session
{
    readonly Connection _connection;
    readonly MachineHost _host;
    readonly StubOptions _options;
    /// <summary>Packets that arrived while the machine ran (a client in all-stop mode sends none, but may).</summary>
    readonly Queue<Frame> _deferred = new();
    string _lastStop = StopReplies.Stopped(GdbSignal.Trap, null, []);
    SessionEnd? _end;

    public Session(Connection connection, MachineHost host, StubOptions? options = null)
    {
        _connection = connection;
        _host = host;
        _options = options ?? new StubOptions();
    }

    void Log(string message) => _options.Log(message);

    /// <summary>Serves the client until it detaches, kills or goes; the machine is left stopped either way, and the
    /// session is wound up: its breakpoints removed (the next client knows nothing of them), its open files closed, and
    /// then <paramref name="ended"/> called (the server frees its one client slot there). After D or k that happens
    /// before the last reply goes, so a client that reconnects as soon as it has the reply finds the stub free.</summary>
    public SessionEnd Run(Action? ended = null)
    {
        try
        {
            while (_end is null)
            {
                Frame? frame = _deferred.Count > 0 ? _deferred.Dequeue() : _connection.Receive();
                if (frame is null)
                    return SessionEnd.ClientGone;
                // An interrupt or a stray acknowledgement while the machine is stopped has nothing to act on.
                if (frame.Value.Kind != FrameKind.Packet)
                    continue;
                byte[]? reply = Dispatch(frame.Value.Data);
                if (_end is not null)
                    WindUp(ended);
                if (reply is not null && !_connection.Send(reply))
                    return SessionEnd.ClientGone;
            }
            return _end.Value;
        }
        finally
        {
            WindUp(ended);
        }
    }

    bool _woundUp;

    void WindUp(Action? ended)
    {
        if (_woundUp)
            return;
        _woundUp = true;
        _host.Call(m => { RemoveAllBreakpoints(m); return 0; });
        CloseAllFiles();
        ended?.Invoke();
    }

    /// <summary>The reply to one packet, or null for packets that get none (k). Unknown packets get the empty reply,
    /// which the protocol defines as "not supported".</summary>
    internal byte[]? Dispatch(byte[] packet)
    {
        if (packet.Length == 0)
            return [];
        string text = Encoding.Latin1.GetString(packet);
        string? reply = packet[0] switch
        {
            (byte)'?' => _lastStop,
            (byte)'g' => ReadAllRegisters(),
            (byte)'G' => WriteAllRegisters(text[1..]),
            (byte)'p' => ReadOneRegister(text[1..]),
            (byte)'P' => WriteOneRegister(text[1..]),
            (byte)'m' => ReadMemory(text[1..]),
            (byte)'M' => WriteMemoryHex(text[1..]),
            (byte)'X' => WriteMemoryBinary(packet),
            (byte)'c' or (byte)'s' or (byte)'C' or (byte)'S' => LegacyResume(text),
            (byte)'v' => VerbosePacket(text),
            (byte)'H' or (byte)'T' => text.Length > 1 && IsOurThread(text[(text[0] == 'H' ? 2 : 1)..]) ? "OK" : "E01",
            (byte)'Z' => InsertBreakpoint(text[1..]),
            (byte)'z' => RemoveBreakpoint(text[1..]),
            (byte)'q' => Query(text),
            (byte)'Q' => Set(text),
            (byte)'D' => Detach(),
            (byte)'k' => Kill(),
            _ => "",
        };
        return reply is null ? null : Encoding.Latin1.GetBytes(reply);
    }

    /// <summary>Thread ids the client may name: ours, 0 (any) and -1 (all), in plain or multiprocess (pPID.TID) form.</summary>
    static bool IsOurThread(string id)
    {
        if (id.StartsWith('p') && id.IndexOf('.') is int dot and > 0)
            id = id[(dot + 1)..];
        return id is "0" or "-1" || Protocol.TryParseHex(id, out ulong tid) && tid == StopReplies.ThreadId;
    }

    string? Detach()
    {
        Log("debugger detached; the machine stays stopped");
        _end = SessionEnd.Detached;
        return "OK";
    }

    /// <summary>k gets no reply (GDB manual); the machine is not reset, it stays stopped for the next client.</summary>
    string? Kill()
    {
        Log("debugger killed the session; the machine stays stopped");
        _end = SessionEnd.Killed;
        return null;
    }

    static string Error(int errno) => $"E{errno:x2}";

    /// <summary>EFAULT and EINVAL, the errnos gdbserver answers with for bad addresses and malformed packets.</summary>
    const int Efault = 14, Einval = 22;
}
