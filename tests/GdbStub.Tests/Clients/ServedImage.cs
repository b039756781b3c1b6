using System.Net;
using System.Text;
using Repl.Qemu;

namespace Repl.GdbStub.Tests.Clients;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>
/// The QEMU differential suite's longmode image (32-bit multiboot start, then long mode at main64), loaded into a
/// machine stopped at its first instruction and served on a free loopback port, as <c>repl gdb</c> serves it; and
/// the real clients run against it in batch mode.
/// </summary>
sealed class ServedImage : IDisposable
{
    static readonly Lazy<string> Image = new(() => QemuImage.Build("longmode", elf64: true));
    static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(60);

    readonly GdbServer _server;
    readonly CancellationTokenSource _stop = new();
    readonly Task _serving;

    public Machine Machine { get; }
    public MachineHost Host { get; }
    public List<string> Logged { get; } = [];
    public ElfSymbol Symbol(string name) => _symbols.Single(s => s.Name == name);
    readonly IReadOnlyList<ElfSymbol> _symbols;

    public ServedImage()
    {
        Machine = new Machine();
        _symbols = Multiboot.Load(Machine, File.ReadAllBytes(Image.Value), Image.Value).Symbols;
        Host = new MachineHost(Machine);
        _server = new GdbServer(Host, new IPEndPoint(IPAddress.Loopback, 0), new StubOptions
        {
            ExecutablePath = Image.Value,
            Log = line => { lock (Logged) Logged.Add(line); },
        });
        _serving = _server.ServeAsync(_stop.Token);
    }

    public IPEndPoint EndPoint => _server.EndPoint;

    /// <summary>Runs gdb in batch mode on the image, connected to the stub, with these commands; returns what it printed.</summary>
    public string Gdb(params string[] commands) =>
        Run("gdb", ["-batch", "-nx", Image.Value, "-ex", $"target remote {EndPoint}", .. commands.SelectMany(c => new[] { "-ex", c })]);

    /// <summary>gdb with no file: it asks the stub which image to use (qXfer:exec-file:read).</summary>
    public string GdbWithoutImage(params string[] commands) =>
        Run("gdb", ["-batch", "-nx", "-ex", $"target remote {EndPoint}", .. commands.SelectMany(c => new[] { "-ex", c })]);

    /// <summary>Runs lldb in batch mode, connected to the stub, with these commands.</summary>
    public string Lldb(params string[] commands) =>
        Run("lldb", ["-b", "-o", $"gdb-remote {EndPoint}", .. commands.SelectMany(c => new[] { "-o", c })]);

    static string Run(string program, string[] args)
    {
        var (stdout, stderr, _) = QemuImage.Execute(program, args, ClientTimeout);
        return Encoding.UTF8.GetString(stdout) + Encoding.UTF8.GetString(stderr);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _server.Dispose();
        _serving.Wait(TimeSpan.FromSeconds(10));
        Host.Dispose();
    }
}

/// <summary>A test that needs gdb (and GNU as and ld for the image); skipped with the reason when they are missing.</summary>
public sealed class GdbFactAttribute : FactAttribute
{
    static readonly string? MissingTools = QemuImage.Missing("gdb", "as", "ld");

    public GdbFactAttribute()
    {
        if (MissingTools is not null)
            Skip = $"{MissingTools} not installed (.ci/run installs gdb and binutils)";
    }
}

/// <summary>A test that needs lldb (and GNU as and ld for the image).</summary>
public sealed class LldbFactAttribute : FactAttribute
{
    static readonly string? MissingTools = QemuImage.Missing("lldb", "as", "ld");

    public LldbFactAttribute()
    {
        if (MissingTools is not null)
            Skip = $"{MissingTools} not installed (.ci/run installs lldb and binutils)";
    }
}
