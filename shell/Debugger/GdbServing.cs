using System.Net;
using System.Net.Sockets;
using Repl.GdbStub;
using Repl.Machine.Kernel;

namespace Repl.Shell.Debugging;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>
/// gdbserver: the GDB stub serves this debugger's machine on a socket while the shell stays usable. One thread at a
/// time touches the machine (DESIGN): each shell command and each C# submission at the prompt runs in the machine's
/// turn (<see cref="Exclusively"/>), the lock the stub's <see cref="MachineHost"/> takes for gdb's packets and runs, so
/// it waits while gdb runs the machine (Ctrl-C's <see cref="Interrupt"/> stops that run), and running or replacing
/// the machine from here is refused: gdb drives it. gdb's runs are the debugger's all the same (<see cref="IRunHost"/>):
/// the shell's breakpoints, watchpoints and catchpoints stop them, and the C# hooks of <c>On</c> run in them, on the
/// stub's thread and in the machine's turn, so never at the same time as C# typed at the prompt. gdb's "monitor CMD"
/// runs shell commands.
/// </summary>
public sealed partial class Debugger : IRunHost
{
    /// <summary>The machine's turn: held by whoever uses the machine, the prompt or, while serving, the stub.</summary>
    readonly Lock _turn = new();
    MachineHost? _host;
    GdbServer? _server;
    CancellationTokenSource? _serving;

    /// <summary>Where the stub listens, while it does.</summary>
    public IPEndPoint? Serving => _server?.EndPoint;

    /// <summary>The temporary directory <see cref="WriteEntryKernel"/> wrote for this serving, removed when it stops.</summary>
    string? _servedFiles;

    /// <summary>The entry kernel has no file of its own: gdb gets one (qXfer:exec-file:read) in a fresh temporary
    /// directory, with the .S sources beside it as the DWARF's compilation directory, so that `list` shows them. gdb
    /// reads the sources when it lists them, at any time of the session, so the directory lasts until serving stops.</summary>
    string WriteEntryKernel()
    {
        string directory = Directory.CreateTempSubdirectory("repl-gdb-").FullName;
        _servedFiles = directory;
        foreach (var (name, text) in EntryKernel.Sources)
            File.WriteAllText(Path.Combine(directory, name), text);
        string path = Path.Combine(directory, EntryKernel.ImageName);
        File.WriteAllBytes(path, EntryKernel.Elf(Options.Defines, directory));
        return path;
    }

    /// <summary>Starts serving the machine to gdb at <paramref name="endPoint"/> (default 127.0.0.1:1234).</summary>
    /// <summary><paramref name="log"/> receives the stub's one-line notes (connections, refusals).</summary>
    public IPEndPoint ServeGdb(IPEndPoint? endPoint = null, Action<string>? log = null)
    {
        if (_server is not null)
            throw new CommandException($"already serving gdb on {_server.EndPoint} ('gdbserver stop' first)");
        var host = new MachineHost(Machine, _turn);
        var options = new StubOptions
        {
            RunHost = this,
            ExecutablePath = Options.Image switch
            {
                null when Options.WithoutImage == WithoutImage.EntryKernel => WriteEntryKernel(),
                { } image when !image.EndsWith(".S", StringComparison.OrdinalIgnoreCase) => Path.GetFullPath(image),
                _ => null,
            },
            Log = log ?? (_ => { }),
            Monitor = line =>
            {
                var output = new StringWriter();
                Execute(line, output);
                return output.ToString();
            },
        };
        try
        {
            _server = new GdbServer(host, endPoint ?? GdbServer.DefaultEndPoint, options);
        }
        catch (SocketException e)
        {
            host.Dispose();
            RemoveServedFiles();
            throw new CommandException($"cannot listen on {endPoint ?? GdbServer.DefaultEndPoint}: {e.Message} (try another port: gdbserver 127.0.0.1:1235)");
        }
        _host = host;
        _serving = new CancellationTokenSource();
        _ = _server.ServeAsync(_serving.Token);
        return _server.EndPoint;
    }

    /// <summary>Stops serving and removes the files written for gdb; a gdb still attached loses its connection. Does
    /// nothing when not serving.</summary>
    public void StopServing()
    {
        if (_server is null)
            return;
        _serving!.Cancel();
        // The attached gdb is disconnected, and a run of its ends, so that the stub's thread can finish.
        _server.Dispose();
        _host!.RequestStop();
        _host.Dispose();
        // With no run to take it, the request would stop the shell's next run at once.
        _host.CancelStopRequest();
        _serving.Dispose();
        (_server, _host, _serving) = (null, null, null);
        RemoveServedFiles();
    }

    void RemoveServedFiles()
    {
        if (_servedFiles is null)
            return;
        try
        {
            Directory.Delete(_servedFiles, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Still open in a gdb (Windows) or taken away by someone else: the system's temporary directory is cleaned in time.
        }
        _servedFiles = null;
    }

    /// <summary>Runs a command's handler in the machine's turn; while serving gdb, only if it leaves the running of the
    /// machine to gdb.</summary>
    void Dispatch(Commands.ShellCommand command, string args, TextWriter output)
    {
        if (command.RunsMachine)
            RefuseWhileServing($"'{command.Name}'");
        if (!command.InTurn)
        {
            command.Handler(this, args, output);
            return;
        }
        lock (_turn)
            command.Handler(this, args, output);
    }

    /// <summary>Runs <paramref name="work"/> in the machine's turn: while gdbserver serves, it waits for a run of gdb's to
    /// end (Ctrl-C ends it), and gdb's packets and runs, with the hooks that run in them, wait for it. The C# session
    /// evaluates each submission so. The turn is re-entrant: the work may run commands.</summary>
    public T Exclusively<T>(Func<T> work)
    {
        lock (_turn)
            return work();
    }

    void RefuseWhileServing(string what)
    {
        if (_server is { } server)
            throw new CommandException($"{what} is gdb's to do while gdbserver serves this machine on {server.EndPoint} (run it from gdb, or 'gdbserver stop' first)");
    }

    /// <summary>A run gdb started, sorted out as the shell's own runs are (<see cref="Sorted"/>): past hooks and false
    /// conditions, stopping at gdb's breakpoints and at the shell's; a stop of the shell's is explained on gdb's
    /// console as the shell reports it ("Breakpoint 2, ..."), and so is a hook or condition that failed.</summary>
    (StopReason Stop, string? Explanation) IRunHost.Run(Func<StopReason> run, Func<ulong, bool> clientBreaksAt)
    {
        try
        {
            var stop = Sorted(run, clientBreaksAt);
            return (stop, LastHit is null ? null : Reason(stop));
        }
        catch (Exception e) when (e is HookException or CommandException)
        {
            // The machine stopped where it is, for the shell's reason: a SIGTRAP to gdb, and the line says why.
            return (new StopReason(StopKind.EventCaught, Machine.State.Rip), e.Message);
        }
    }

    bool IRunHost.BreaksAt(ulong address) => ShellStops().Contains(address);
}
