using System.Net;
using System.Net.Sockets;
using Repl.GdbStub;
using Repl.Machine.Kernel;

namespace Repl.Shell.Debugging;

/// <summary>
/// gdbserver: the GDB stub serves this debugger's machine on a socket while the shell stays usable. One thread at a
/// time touches the machine (DESIGN): while serving, each shell command runs under the stub's <see cref="MachineHost"/>
/// lock, so it waits while gdb runs the machine (Ctrl-C's <see cref="Interrupt"/> stops that run), and commands that
/// would run or replace the machine are refused: gdb drives it. gdb's "monitor CMD" runs shell commands.
/// </summary>
public sealed partial class Debugger
{
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
        var host = new MachineHost(Machine);
        var options = new StubOptions
        {
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
        _server.Dispose();
        _host!.Dispose();
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

    /// <summary>Runs a command's handler: directly, or while serving gdb, under the host's lock and only if it leaves
    /// the running of the machine to gdb.</summary>
    void Dispatch(Commands.ShellCommand command, string args, TextWriter output)
    {
        if (_host is null)
        {
            command.Handler(this, args, output);
            return;
        }
        if (command.RunsMachine)
            throw new CommandException($"'{command.Name}' is gdb's to do while gdbserver serves this machine on {_server!.EndPoint} (run it from gdb, or 'gdbserver stop' first)");
        _host.Call(_ =>
        {
            command.Handler(this, args, output);
            return 0;
        });
    }
}
