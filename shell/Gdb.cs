using System.Net;
using System.Runtime.InteropServices;
using Repl.GdbStub;
using Repl.Shell.Debugging;

namespace Repl.Shell;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>
/// <c>repl gdb</c>: loads an image as the shell does (multiboot kernel, ELF, .S source, or the entry kernel) and
/// serves the machine to gdb or lldb, stopped at its first instruction until the debugger continues, as QEMU's
/// <c>-s -S</c> does. gdb's "monitor CMD" runs any shell command. The guest's COM1 output goes to stdout; the
/// stub's messages go to stderr. Ctrl+C (or SIGTERM, SIGHUP) ends the server.
/// </summary>
static class Gdb
{
    public static int Run(string? listen, string? imagePath, CpuVendor vendor, IReadOnlyDictionary<string, long> defines, Stream stdout, TextWriter stderr)
    {
        if (!TryParseEndPoint(listen, out var endPoint))
            return Fail(stderr, $"gdb: --listen '{listen}' is not ADDRESS:PORT with an IP address (try: --listen 127.0.0.1:1234)");
        Debugger debugger;
        try
        {
            debugger = Debugger.Create(new DebuggerOptions { Vendor = vendor, Image = imagePath, Defines = defines });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or LoaderException or CommandException)
        {
            return Fail(stderr, $"{imagePath ?? "entry kernel"}: {e.Message}");
        }
        debugger.Machine.Com1.Transmitted += b =>
        {
            stdout.WriteByte(b);
            stdout.Flush();
        };

        IPEndPoint at;
        try
        {
            at = debugger.ServeGdb(endPoint, line => stderr.WriteLine("repl: " + line));
        }
        catch (CommandException e)
        {
            return Fail(stderr, $"gdb: {e.Message}");
        }
        using var stop = new ManualResetEventSlim();
        // Ctrl+C, Ctrl+\, kill and a closed terminal all end the server through the finally below, which removes the
        // files written for gdb; left to the runtime, kill's SIGTERM ends the process without running it (status 143).
        var signals = new[] { PosixSignal.SIGINT, PosixSignal.SIGQUIT, PosixSignal.SIGTERM, PosixSignal.SIGHUP }
            .Select(signal => PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                stop.Set();
            }))
            .ToList();
        string image = imagePath ?? "the entry kernel";
        string client = imagePath is null || imagePath.EndsWith(".S", StringComparison.OrdinalIgnoreCase) ? "gdb" : $"gdb {imagePath}";
        stderr.WriteLine($"repl: {image} loaded, stopped at 0x{debugger.Machine.State.Rip:x}; listening on {at}; connect with: {client} -ex 'target remote {at}'");
        try
        {
            stop.Wait();
        }
        finally
        {
            signals.ForEach(s => s.Dispose());
            debugger.StopServing();
        }
        return 0;
    }

    /// <summary>ADDRESS:PORT, or [IPV6]:PORT; loopback unless an address is given explicitly.</summary>
    static bool TryParseEndPoint(string? text, out IPEndPoint endPoint)
    {
        endPoint = GdbServer.DefaultEndPoint;
        return text is null || IPEndPoint.TryParse(text, out endPoint!) && text.Contains(':');
    }

    static int Fail(TextWriter stderr, string message)
    {
        stderr.WriteLine($"repl: {message}");
        return Boot.BadInput;
    }
}
