using System.Net;
using System.Net.Sockets;

namespace Repl.GdbStub;

/// <summary>
/// The stub on a TCP port: one client at a time (another one gets a clear refusal as its first reply), and after a
/// client detaches, kills or vanishes the stub listens again with the machine stopped where it was. Loopback unless
/// the caller chose another address.
/// </summary>
public sealed class GdbServer : IDisposable
{
    public static readonly IPEndPoint DefaultEndPoint = new(IPAddress.Loopback, 1234);

    /// <summary>How long a refused client gets to send its first packet, to which the refusal is the reply.</summary>
    static readonly TimeSpan RefusalWait = TimeSpan.FromSeconds(2);

    readonly TcpListener _listener;
    readonly MachineHost _host;
    readonly StubOptions _options;
    int _sessionActive;
    Session? _session;

    public GdbServer(MachineHost host, IPEndPoint endPoint, StubOptions? options = null)
    {
        _host = host;
        _options = options ?? new StubOptions();
        _listener = new TcpListener(endPoint);
        _listener.Start();
    }

    /// <summary>Where the stub listens (with the port the system chose, when asked for port 0).</summary>
    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>The attached client's breakpoint addresses (none without a client). Read them under the machine host's
    /// lock, under which the client changes them: a host that rebuilds the machine's breakpoint set keeps these.</summary>
    public IEnumerable<ulong> ClientBreakpoints => Volatile.Read(ref _session)?.Breakpoints ?? [];

    /// <summary>Accepts clients until <paramref name="cancel"/> fires or the server is disposed.</summary>
    public async Task ServeAsync(CancellationToken cancel = default)
    {
        while (!cancel.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(cancel);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            client.NoDelay = true; // one small packet per step: waiting to coalesce would only add latency
            if (Interlocked.CompareExchange(ref _sessionActive, 1, 0) != 0)
            {
                _ = Task.Run(() => Refuse(client));
                continue;
            }
            _ = Task.Run(() => Serve(client));
        }
    }

    void Serve(TcpClient client)
    {
        string peer = client.Client.RemoteEndPoint?.ToString() ?? "a client";
        _options.Log($"{peer} attached");
        // The slot is freed once: by the session as it winds up, or here if it failed before.
        int freed = 0;
        void Free()
        {
            if (Interlocked.Exchange(ref freed, 1) == 0)
            {
                Volatile.Write(ref _session, null);
                Volatile.Write(ref _sessionActive, 0);
            }
        }
        try
        {
            using var connection = new Connection(client.GetStream(), _options.Log);
            var session = new Session(connection, _host, _options);
            Volatile.Write(ref _session, session);
            var end = session.Run(ended: Free);
            _options.Log(end switch
            {
                SessionEnd.Detached => $"{peer} detached; listening on {EndPoint} again, the machine stopped",
                SessionEnd.Killed => $"{peer} ended the session; listening on {EndPoint} again, the machine stopped",
                _ => $"{peer} went away; listening on {EndPoint} again, the machine stopped",
            });
        }
        catch (Exception bug) when (bug is not OutOfMemoryException)
        {
            // A failure of the stub ends this client's session, not the server: the machine is stopped (it only runs
            // inside a session's resume, which waits for the run to end) and the next client can attach.
            _options.Log($"internal error in the stub, session with {peer} ended (please report it): {bug.GetType().Name}: {bug.Message}");
        }
        finally
        {
            client.Dispose();
            Free();
        }
    }

    /// <summary>A second client: answered with an error that says why, after its first packet, then closed.</summary>
    void Refuse(TcpClient client)
    {
        _options.Log($"refused {client.Client.RemoteEndPoint}: another debugger is attached");
        using (client)
        {
            var stream = client.GetStream();
            stream.ReadTimeout = (int)RefusalWait.TotalMilliseconds;
            var decoder = new PacketDecoder();
            var buffer = new byte[1024];
            try
            {
                while (true)
                {
                    int n = stream.Read(buffer);
                    if (n == 0)
                        return;
                    for (int i = 0; i < n; i++)
                        if (decoder.Feed(buffer[i]) is { Kind: FrameKind.Packet })
                        {
                            stream.Write("+"u8);
                            stream.Write(Protocol.Frame(System.Text.Encoding.ASCII.GetBytes(Refusal)));
                            return;
                        }
                }
            }
            catch (IOException)
            {
                // It sent nothing in time or went away: closing is the refusal.
            }
        }
    }

    /// <summary>gdb prints an "E." reply's text (GDB manual, "Standard Replies").</summary>
    public const string Refusal = "E.repl: another debugger is already attached to this machine; detach it first (one client at a time)";

    public void Dispose() => _listener.Stop();
}
