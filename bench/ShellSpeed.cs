using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace Repl.Bench;

/// <summary>
/// How quickly the interactive shell answers, as a user at a terminal feels it, and what it costs in memory: the
/// first prompt, the first C# value (typed ahead, before the prompt shows), a typical command's round trip, and
/// resident memory after one evaluation and after 1,000 and 2,000 more: the last two show whether a long session's
/// memory levels off. The terminal figures drive the built repl through
/// `script`, which gives it a pseudo-terminal; the memory figures use plain mode and read /proc. Run with
/// `dotnet run -c Release --project bench -- shell`.
/// </summary>
static class ShellSpeed
{
    const int Starts = 5, CommandRounds = 50, LongSession = 1000, LongSessions = 2;

    /// <summary>A C# expression whose value is text that neither the banner nor the typed line contains.</summary>
    const string Probe = "\"rea\" + \"dy!\"", ProbeValue = "ready!";

    static string ReplDll => Path.Combine(typeof(ShellSpeed).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                                              .Single(a => a.Key == "ReplDirectory").Value!, "repl.dll");

    public static bool Measure()
    {
        Console.WriteLine($"Repl shell speed: median of {Starts} starts, {CommandRounds} command rounds; {Environment.ProcessorCount} host cores, .NET {Environment.Version}");
        var prompt = new List<double>();
        var firstValue = new List<double>();
        for (int i = 0; i < Starts; i++)
        {
            using var shell = Child.OnTerminal();
            prompt.Add(shell.WaitFor("]>").At.TotalMilliseconds);
            shell.Close();

            using var typedAhead = Child.OnTerminal();
            typedAhead.Send(Probe + "\r");
            firstValue.Add(typedAhead.WaitFor(ProbeValue).At.TotalMilliseconds);
            typedAhead.Close();
        }
        Console.WriteLine($"{"first prompt",-38} {Median(prompt),8:F0} ms   (target < 200 ms)");
        Console.WriteLine($"{"first C# value, typed ahead",-38} {Median(firstValue),8:F0} ms   (target < 700 ms)");

        using (var shell = Child.OnTerminal())
        {
            shell.WaitFor("]>");
            foreach (string command in new[] { "regs", "stepi", "x/4gx $rsp" })
            {
                var rounds = new List<double>();
                for (int i = 0; i < CommandRounds; i++)
                {
                    var (from, sentAt) = shell.Mark();
                    shell.Send(command + "\r");
                    // The editor redraws the prompt with each key typed; the answer is complete when a prompt follows
                    // the newline that Enter ends the line with.
                    var (_, enter) = shell.WaitFor("\n", from);
                    var (answered, _) = shell.WaitFor("]>", enter);
                    rounds.Add((answered - sentAt).TotalMilliseconds);
                }
                Console.WriteLine($"{"command '" + command + "' to next prompt",-38} {Median(rounds),8:F1} ms   (target < 20 ms)");
            }
            shell.Close();
        }

        using (var plain = Child.Plain())
        {
            plain.Send(Probe + "\n");
            plain.WaitFor(ProbeValue);
            long first = plain.ResidentKiB(), before = first;
            Console.WriteLine($"{"resident after first C# value",-38} {first / 1024.0,8:F0} MiB  (target <= 300 MiB)");
            for (int session = 1; session <= LongSessions; session++)
            {
                for (int i = 0; i < LongSession; i++)
                    plain.Send($"Cpu.Rax + {i}\n");
                // A value that only the last evaluation prints: it has run when this shows.
                string marker = ProbeValue + new string('!', session);
                plain.Send($"\"{marker[..3]}\" + \"{marker[3..]}\"\n");
                plain.WaitFor(marker + "\"");
                long after = plain.ResidentKiB();
                Console.WriteLine($"{$"resident after {session * LongSession:N0} more evaluations",-38} {after / 1024.0,8:F0} MiB  ({(after - before) / (double)LongSession:F1} KiB per evaluation since the last line)");
                before = after;
            }
            plain.Close();
        }
        return true;
    }

    static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    /// <summary>A running repl whose output is gathered as it comes, with the time each part arrived.</summary>
    sealed class Child : IDisposable
    {
        readonly Process process;
        readonly Stopwatch clock = Stopwatch.StartNew();
        readonly StringBuilder output = new();
        readonly Thread reader;

        readonly bool terminal;

        Child(ProcessStartInfo start, bool terminal)
        {
            this.terminal = terminal;
            start.RedirectStandardInput = start.RedirectStandardOutput = true;
            start.RedirectStandardError = false;
            process = Process.Start(start)!;
            reader = new Thread(Read) { IsBackground = true };
            reader.Start();
        }

        /// <summary>repl on a pseudo-terminal of `script`'s, as a terminal would run it.</summary>
        public static Child OnTerminal() => new(new ProcessStartInfo("script", ["-qfc", $"dotnet {ReplDll}", "/dev/null"])
        {
            // The pseudo-terminal's size, which script takes from its own (absent) terminal, comes from these.
            Environment = { ["COLUMNS"] = "120", ["LINES"] = "40" },
        }, terminal: true);

        /// <summary>repl with stdin a pipe: plain mode, and the process is repl itself, so /proc describes it.</summary>
        public static Child Plain() => new(new ProcessStartInfo("dotnet", [ReplDll]), terminal: false);

        void Read()
        {
            var buffer = new char[4096];
            int n;
            while ((n = process.StandardOutput.Read(buffer, 0, buffer.Length)) > 0)
                lock (output)
                    output.Append(buffer, 0, n);
        }

        public void Send(string text)
        {
            process.StandardInput.Write(text);
            process.StandardInput.Flush();
        }

        /// <summary>Where the output stands now and when, for measuring from here.</summary>
        public (int Position, TimeSpan At) Mark()
        {
            lock (output)
                return (output.Length, clock.Elapsed);
        }

        /// <summary>When <paramref name="text"/> first appeared after output position <paramref name="from"/>, and the
        /// position just past it.</summary>
        public (TimeSpan At, int End) WaitFor(string text, int from = 0)
        {
            // Counted from the call: a thousand evaluations on a loaded machine take minutes.
            var giveUp = clock.Elapsed + TimeSpan.FromMinutes(5);
            while (true)
            {
                lock (output)
                {
                    int found = output.ToString(from, output.Length - from).IndexOf(text, StringComparison.Ordinal);
                    if (found >= 0)
                        return (clock.Elapsed, from + found + text.Length);
                }
                if (clock.Elapsed > giveUp)
                    throw new TimeoutException($"repl never printed '{text}'");
                Thread.Sleep(1);
            }
        }

        public long ResidentKiB()
        {
            string status = File.ReadAllText($"/proc/{process.Id}/status");
            string line = status.Split('\n').First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        }

        /// <summary>Ends input (Ctrl-D on a terminal, end of file on a pipe) and waits for repl to leave.</summary>
        public void Close()
        {
            if (terminal)
                process.StandardInput.Write('\u0004');
            process.StandardInput.Close();
            process.WaitForExit(10_000);
        }

        public void Dispose()
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
            process.Dispose();
        }
    }
}
