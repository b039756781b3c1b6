using System.Net;
using Repl.GdbStub;

namespace Repl.Shell;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>
/// <c>repl gdb</c>: loads a multiboot kernel and serves the machine to gdb or lldb, stopped at its first instruction
/// until the debugger continues, as QEMU's <c>-s -S</c> does. The guest's COM1 output goes to stdout; the stub's
/// messages go to stderr. Ctrl+C ends the server.
/// </summary>
static class Gdb
{
    public static int Run(string? listen, string? imagePath, CpuVendor vendor, Stream stdout, TextWriter stderr)
    {
        if (imagePath is null)
            return Fail(stderr, "gdb: --image is required until the built-in entry kernel exists (try: repl gdb --image kernel.elf)");
        if (!TryParseEndPoint(listen, out var endPoint))
            return Fail(stderr, $"gdb: --listen '{listen}' is not ADDRESS:PORT with an IP address (try: --listen 127.0.0.1:1234)");
        byte[] image;
        try
        {
            image = File.ReadAllBytes(imagePath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(stderr, $"cannot read {imagePath}: {e.Message}");
        }
        var machine = new Machine(new MachineOptions { Vendor = vendor });
        try
        {
            Multiboot.Load(machine, image, imagePath);
        }
        catch (LoaderException e)
        {
            return Fail(stderr, $"{imagePath}: {e.Message}");
        }
        machine.Com1.Transmitted += b =>
        {
            stdout.WriteByte(b);
            stdout.Flush();
        };

        using var host = new MachineHost(machine);
        var options = new StubOptions { ExecutablePath = Path.GetFullPath(imagePath), Log = line => stderr.WriteLine("repl: " + line) };
        GdbServer server;
        try
        {
            server = new GdbServer(host, endPoint, options);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            return Fail(stderr, $"gdb: cannot listen on {endPoint}: {e.Message} (try another port: --listen 127.0.0.1:1235)");
        }
        using (server)
        using (var stop = new CancellationTokenSource())
        {
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                e.Cancel = true;
                stop.Cancel();
            };
            Console.CancelKeyPress += onCancel;
            var at = server.EndPoint;
            stderr.WriteLine($"repl: {imagePath} loaded, stopped at 0x{machine.State.Rip:x}; listening on {at}; connect with: gdb {imagePath} -ex 'target remote {at}'");
            try
            {
                server.ServeAsync(stop.Token).GetAwaiter().GetResult();
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
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
