using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Repl.GdbStub;
using Repl.Qemu;

namespace Repl.Bench;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>
/// The GDB stub against QEMU's gdbstub, side by side (issue 5, "Benchmark"): gdb in batch mode attaches to the kpti
/// image stopped at its first instruction, runs to user_main, then a script does what a user's would: <see cref="Steps"/>
/// <c>stepi</c> commands (the user loop, SYSCALL, the KPTI entry with its CR3 switches, SYSRETQ), and, from
/// entry_SYSCALL_64, <see cref="Reads"/> times <c>x/64gx $rsp</c> (gdb reads each quadword with an <c>m</c> packet of its
/// own). Each phase is timed inside gdb by <c>shell date</c> marks, so neither gdb's start nor the boot counts. Our stub
/// serves a machine in this process, as <c>repl gdb</c> does; QEMU runs with -S -gdb on the same image. The runs
/// alternate between the two, so that a busy host weighs on both alike; the median of <see cref="Repeats"/> is reported.
/// The target: at most a quarter of QEMU's time for each phase.
/// The floor: when gcc is there, a third stub with no machine behind it (NullStub.c) replays a transcript of a session
/// with ours, so gdb does the same work against answers that cost one read and one write each. Its time is what gdb
/// and the host's loopback take by themselves, which no stub can go under.
/// </summary>
static class GdbStubRoundTrip
{
    const int Steps = 5000, Reads = 200, Repeats = 5;
    /// <summary>More round trips than the steps can reach, so the stepped loop never ends.</summary>
    const int RoundTrips = 1_000_000;
    static readonly TimeSpan ClientTimeout = TimeSpan.FromMinutes(5);

    /// <summary>What one gdb session measured: the two phases, where the steps ended, and the CPU time the stub used
    /// over the whole session, when known.</summary>
    readonly record struct Phases(double Steps, double Reads, string SteppedTo, double? StubCpu);

    /// <summary>How a stub reports its CPU time, as a line added to the session's output.</summary>
    const string StubCpuLine = "stub-cpu ";

    public static bool Measure()
    {
        if (QemuImage.Missing("gdb", "as", "ld") is string missing)
        {
            Console.WriteLine($"gdb stub: skipped, {missing} not installed");
            return true;
        }
        string image = QemuImage.Build("kpti", elf64: true, $"ROUND_TRIPS={RoundTrips}");
        string script = WriteScript(Path.GetDirectoryName(image)!);
        bool withQemu = QemuImage.Missing("qemu-system-x86_64") is null;
        var built = BuildNullStub(image, script);
        string? nullStub = built?.Program;
        int packets = built?.Packets ?? 0;
        Console.WriteLine($"gdb stub: {GdbVersion()} on the kpti image, {Steps:N0} stepi, then {Reads} x/64gx $rsp ({Reads * 64:N0} m packets); median of {Repeats} runs each");

        var ours = new List<Phases>();
        var shell = new List<Phases>();
        var qemu = new List<Phases>();
        var floor = new List<Phases>();
        for (int i = 0; i < Repeats; i++)
        {
            if (Session("repl", image, script, ServeOurs) is not { } our)
                return false;
            ours.Add(our);
            if (Session("the shell's gdbserver", image, script, ServeShell) is not { } shells)
                return false;
            shell.Add(shells);
            if (nullStub is not null)
            {
                if (Session("the null stub", image, script, (_, at, client) => ServeNull(nullStub, at, client)) is not { } least)
                    return false;
                floor.Add(least);
            }
            if (!withQemu)
                continue;
            if (Session("qemu", image, script, ServeQemu) is not { } their)
                return false;
            qemu.Add(their);
        }
        var (steps, reads) = Median(ours);
        Print("repl", steps, reads);
        Print("shell", Median(shell).Steps, Median(shell).Reads);
        if (nullStub is null)
            Console.WriteLine("  floor: gcc not installed, so no null stub");
        else
            Print("floor", Median(floor).Steps, Median(floor).Reads);
        if (!withQemu)
        {
            Console.WriteLine("  qemu: qemu-system-x86_64 not installed");
            return true;
        }
        var (qemuSteps, qemuReads) = Median(qemu);
        Print("qemu", qemuSteps, qemuReads);
        Console.WriteLine($"  repl takes {steps / qemuSteps * 100:F0}% of QEMU's time for the steps and {reads / qemuReads * 100:F0}% for the reads (target: at most 25% each)");
        if (nullStub is not null)
        {
            Console.WriteLine($"  the null stub (the floor: gdb and the loopback alone) takes {Median(floor).Steps / qemuSteps * 100:F0}% and {Median(floor).Reads / qemuReads * 100:F0}%");
            // The stubs' own CPU over a whole session is steadier than the wall clock on a shared host.
            double ourCpu = MedianCpu(ours), shellCpu = MedianCpu(shell), floorCpu = MedianCpu(floor);
            Console.WriteLine($"  stub CPU per session ({packets:N0} packets from gdb): repl {ourCpu:F2} s ({ourCpu / packets * 1e6:F0} us per packet), shell {shellCpu:F2} s ({shellCpu / packets * 1e6:F0} us), null stub {floorCpu:F2} s ({floorCpu / packets * 1e6:F0} us)");
        }
        // QEMU now and then reports a step that did not advance (seen at the first access to the per-CPU area after
        // SYSCALL), so the two can end an instruction apart: worth a note, not a failure.
        if (ours[0].SteppedTo != qemu[0].SteppedTo)
            Console.WriteLine($"  note: the steps ended at {ours[0].SteppedTo} on repl and at {qemu[0].SteppedTo} on QEMU");
        return true;
    }

    static void Print(string name, double steps, double reads) =>
        Console.WriteLine($"  {name,-6} steps {steps,6:F2} s ({steps / Steps * 1e6,5:F0} us each)   reads {reads,6:F2} s ({reads / (Reads * 64) * 1e6,4:F0} us per m packet)");

    /// <summary>The script, written next to the image: the stepped and read phases between marks, one command a line,
    /// as a user writes it (a gdb <c>while</c> loop costs more on both sides, in gdb itself).</summary>
    static string WriteScript(string directory)
    {
        static string Mark(string name) => $"shell date +\"mark {name} %s.%N\"\n";
        var script = new StringBuilder();
        script.Append("tbreak user_main\ncontinue\n");
        script.Append(Mark("steps-start"));
        script.Insert(script.Length, "stepi\n", Steps);
        script.Append(Mark("steps-end"));
        script.Append("p/x $pc\n");
        // The reads start where RSP is the user's stack pointer: inside the entry it holds a CR3 value for a while.
        script.Append("tbreak entry_SYSCALL_64\ncontinue\n");
        script.Append(Mark("reads-start"));
        script.Insert(script.Length, "x/64gx $rsp\n", Reads);
        script.Append(Mark("reads-end"));
        script.Append("kill\n");
        string path = Path.Combine(directory, "round-trips.gdb");
        File.WriteAllText(path, script.ToString());
        return path;
    }

    /// <summary>Runs gdb with the script against a stub that <paramref name="serve"/> starts on the given port (and
    /// stops once gdb is done); null, after saying why, when the session did not go as the script says.</summary>
    static Phases? Session(string name, string image, string script, Func<string, IPEndPoint, Func<IPEndPoint, string>, string> serve)
    {
        var endPoint = new IPEndPoint(IPAddress.Loopback, FreePort());
        string output = serve(image, endPoint, at =>
        {
            var (stdout, stderr, _) = QemuImage.Execute("gdb", ["-batch", "-nx", image, "-ex", $"target remote {at}", "-x", script], ClientTimeout);
            return Encoding.UTF8.GetString(stdout) + Encoding.UTF8.GetString(stderr);
        });
        var marks = output.Split('\n').Where(l => l.StartsWith("mark ")).Select(l => l.Split(' '))
                          .ToDictionary(f => f[1], f => double.Parse(f[2], CultureInfo.InvariantCulture));
        string? steppedTo = output.Split('\n').FirstOrDefault(l => l.StartsWith("$1 = "))?[5..];
        if (marks.Count != 4 || steppedTo is null || output.Contains("Cannot access memory") || output.Contains("Error"))
        {
            Console.WriteLine($"  the gdb session with {name} did not run the script through; it ended with:");
            foreach (string line in output.Split('\n').Where(l => !l.StartsWith("0x")).TakeLast(8))
                Console.WriteLine("    " + line);
            return null;
        }
        double? cpu = output.Split('\n').FirstOrDefault(l => l.StartsWith(StubCpuLine)) is { } reported
            ? double.Parse(reported[StubCpuLine.Length..], CultureInfo.InvariantCulture) : null;
        return new Phases(marks["steps-end"] - marks["steps-start"], marks["reads-end"] - marks["reads-start"], steppedTo, cpu);
    }

    /// <summary>Our stub, in this process, on the image as <c>repl gdb</c> loads it: stopped at its first instruction.
    /// Its CPU time is this process's over the session (the stub's, and the little that reading gdb's output takes).</summary>
    static string ServeOurs(string image, IPEndPoint endPoint, Func<IPEndPoint, string> client)
    {
        var machine = QemuImage.Load(image, CpuVendor.Intel, Stream.Null);
        using var host = new MachineHost(machine);
        var server = new GdbServer(host, endPoint, new StubOptions { ExecutablePath = image });
        using var stop = new CancellationTokenSource();
        var serving = server.ServeAsync(stop.Token);
        try
        {
            return WithCpu(() => client(server.EndPoint));
        }
        finally
        {
            stop.Cancel();
            server.Dispose();
            serving.Wait();
        }
    }

    /// <summary>The stub as the shell's gdbserver hosts it, on the same image: each of gdb's runs goes through the
    /// debugger, which sorts out its stops for the shell's breakpoints, catchpoints and C# hooks (none are set here),
    /// to show what that costs the packets.</summary>
    static string ServeShell(string image, IPEndPoint endPoint, Func<IPEndPoint, string> client)
    {
        var debugger = Repl.Shell.Debugging.Debugger.Create(new() { Image = image, RamSize = (ulong)QemuImage.RamMiB << 20 });
        var at = debugger.ServeGdb(endPoint);
        try
        {
            return WithCpu(() => client(at));
        }
        finally
        {
            debugger.StopServing();
        }
    }

    /// <summary>A session's output with this process's CPU time over it (the stub's, and the little that reading gdb's
    /// output takes) added as a line.</summary>
    static string WithCpu(Func<string> session)
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        string output = session();
        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        return output + $"\n{StubCpuLine}{cpu.TotalSeconds.ToString(CultureInfo.InvariantCulture)}\n";
    }

    /// <summary>QEMU stopped before its first instruction, with its gdbstub on the port (gdb retries the connection
    /// while QEMU starts up); gdb's kill ends it.</summary>
    static string ServeQemu(string image, IPEndPoint endPoint, Func<IPEndPoint, string> client)
    {
        var start = new ProcessStartInfo("qemu-system-x86_64") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in (string[])["-kernel", image, "-cpu", "qemu64,vendor=GenuineIntel", "-m", QemuImage.RamMiB.ToString(),
                                          "-display", "none", "-nodefaults", "-no-reboot", "-serial", "null", "-S", "-gdb", $"tcp:{endPoint}"])
            start.ArgumentList.Add(arg);
        using var qemu = Process.Start(start)!;
        try
        {
            return client(endPoint);
        }
        finally
        {
            if (!qemu.WaitForExit(TimeSpan.FromSeconds(10)))
                qemu.Kill();
        }
    }

    /// <summary>Builds the null stub next to the image and records its transcript: a session of the script with our
    /// stub, through a proxy that notes each packet as it passes. Returns the program and how many packets gdb sent;
    /// null, after saying why, when that cannot be done.</summary>
    static (string Program, int Packets)? BuildNullStub(string image, string script)
    {
        if (QemuImage.Missing("gcc") is not null)
            return null;
        string directory = Path.GetDirectoryName(image)!, program = Path.Combine(directory, "nullstub");
        QemuImage.Tool("gcc", ["-O2", "-o", program, Path.Combine(AppContext.BaseDirectory, "NullStub.c")]);
        var transcript = new List<string>();
        if (Session("repl (recording the transcript)", image, script, (img, at, client) => ServeOurs(img, new IPEndPoint(IPAddress.Loopback, 0), stub => Record(at, stub, client, transcript))) is null)
            return null;
        File.WriteAllLines(program + ".transcript", transcript);
        return (program, transcript.Count(line => line[0] == 'c'));
    }

    /// <summary>Runs the client against a proxy on <paramref name="at"/> that forwards to <paramref name="stub"/> and
    /// adds each packet to the transcript ("c HEX" from the client, "s HEX" from the stub) before passing it on, so that
    /// a reply is always noted before the packet it lets the client send.</summary>
    static string Record(IPEndPoint at, IPEndPoint stub, Func<IPEndPoint, string> client, List<string> transcript)
    {
        var listener = new TcpListener(at);
        listener.Start();
        var proxy = Task.Run(async () =>
        {
            using var fromClient = await listener.AcceptTcpClientAsync();
            using var toStub = new TcpClient { NoDelay = true };
            fromClient.NoDelay = true;
            await toStub.ConnectAsync(stub);
            await Task.WhenAll(Pump(fromClient, toStub, 'c'), Pump(toStub, fromClient, 's'));
        });
        try
        {
            return client(at);
        }
        finally
        {
            proxy.Wait(ClientTimeout);
            listener.Stop();
        }

        Task Pump(TcpClient from, TcpClient to, char tag) => Task.Run(() =>
        {
            var decoder = new PacketDecoder();
            var buffer = new byte[65536];
            int n;
            while ((n = Read(from, buffer)) > 0)
            {
                for (int i = 0; i < n; i++)
                    if (decoder.Feed(buffer[i]) is { Kind: FrameKind.Packet } frame)
                        lock (transcript)
                            transcript.Add($"{tag} {Convert.ToHexStringLower(frame.Data)}");
                try
                {
                    to.GetStream().Write(buffer, 0, n);
                }
                catch (IOException)
                {
                    break;
                }
            }
            to.Client.Shutdown(SocketShutdown.Send);
        });

        static int Read(TcpClient from, byte[] buffer)
        {
            try
            {
                return from.GetStream().Read(buffer);
            }
            catch (IOException)
            {
                return 0;
            }
        }
    }

    /// <summary>The null stub replaying the transcript on the port, for one client.</summary>
    static string ServeNull(string program, IPEndPoint endPoint, Func<IPEndPoint, string> client)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(endPoint.Port.ToString(CultureInfo.InvariantCulture));
        start.ArgumentList.Add(program + ".transcript");
        using var stub = Process.Start(start)!;
        var complaint = stub.StandardError.ReadToEndAsync();
        if (stub.StandardOutput.ReadLine() != "listening")
            return "the null stub did not start: " + complaint.Result;
        string output = client(endPoint);
        if (!stub.WaitForExit(TimeSpan.FromSeconds(10)))
            stub.Kill();
        // Its CPU time comes last on its output, as it exits.
        return output + "\n" + stub.StandardOutput.ReadToEnd() + complaint.Result;
    }

    /// <summary>A loopback port nothing listens on now (the system's choice for port 0).</summary>
    static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    static string GdbVersion()
    {
        var (stdout, _, _) = QemuImage.Execute("gdb", ["--version"], ClientTimeout);
        return Encoding.UTF8.GetString(stdout).Split('\n')[0];
    }

    static double MedianCpu(List<Phases> runs) => runs.Select(r => r.StubCpu ?? double.NaN).Order().ElementAt(runs.Count / 2);

    static (double Steps, double Reads) Median(List<Phases> runs) =>
        (runs.Select(r => r.Steps).Order().ElementAt(runs.Count / 2), runs.Select(r => r.Reads).Order().ElementAt(runs.Count / 2));
}
