using System.Diagnostics;
using System.Text;
using Repl.Machine.Asm;
using Repl.Qemu;

namespace Repl.Bench;

/// <summary>
/// The assembler on a 5,000-line entry-code-like source (see <see cref="AssemblerSource"/>), warm: the target is
/// under 200 ms. GNU as on the same file is timed beside it when installed, as a reference (its time includes
/// starting the process) and as a check that the generated source is valid GNU as.
/// </summary>
static class AssemblerBench
{
    const int Lines = 5_000;
    const int Repeats = 5;
    /// <summary>Runs before timing, so that the tiered JIT has compiled the hot paths with full optimisation.</summary>
    const int WarmUps = 10;
    const double TargetMilliseconds = 200;

    public static bool Measure()
    {
        string source = AssemblerSource.Generate(Lines);
        var options = new AsmOptions { FileName = "bench.S" };
        Console.WriteLine($"assembler: a {Lines:N0}-line entry-code-like source ({source.Length / 1024:N0} KiB), warm ({WarmUps} runs first), median of {Repeats} runs");

        AssemblyResult result = Assembler.Assemble(source, options);
        if (!result.Success)
        {
            var errors = result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            Console.WriteLine($"  FAILED: the source does not assemble ({errors.Count} errors); the first {Math.Min(5, errors.Count)}:");
            foreach (var error in errors.Take(5))
                Console.Write("  " + error.ToString().Replace("\n", "\n  ").TrimEnd(' '));
            return false;
        }
        for (int i = 1; i < WarmUps; i++)
            Assembler.Assemble(source, options);

        var times = new double[Repeats];
        for (int i = 0; i < Repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            result = Assembler.Assemble(source, options);
            times[i] = clock.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        double median = times[Repeats / 2];
        ulong bytes = (ulong)result.Sections.Sum(s => (long)s.Size);
        Console.WriteLine($"  {"repl",-8} {median,8:F1} ms {Lines / median * 1000,12:N0} lines/s   {bytes:N0} bytes in {result.Sections.Count} sections, {result.Symbols.Count:N0} symbols (target < {TargetMilliseconds:N0} ms: {(median < TargetMilliseconds ? "met" : "MISSED")})");
        return GnuAsReference(source);
    }

    /// <summary>GNU as --64 on the same text, to an object file; false if it rejects the source.</summary>
    static bool GnuAsReference(string source)
    {
        if (QemuImage.Missing("as") is not null)
        {
            Console.WriteLine("  gnu as: not installed");
            return true;
        }
        string dir = Directory.CreateTempSubdirectory("repl-asm-bench-").FullName;
        try
        {
            string input = Path.Combine(dir, "bench.S"), output = Path.Combine(dir, "bench.o");
            File.WriteAllText(input, source);
            var times = new double[Repeats];
            for (int i = 0; i < Repeats; i++)
            {
                var clock = Stopwatch.StartNew();
                var (_, stderr, status) = QemuImage.Execute("as", ["--64", "-o", output, input], TimeSpan.FromMinutes(1));
                times[i] = clock.Elapsed.TotalMilliseconds;
                if (status != 0)
                {
                    Console.WriteLine($"  FAILED: GNU as rejects the generated source:\n{Encoding.UTF8.GetString(stderr)}");
                    return false;
                }
            }
            Array.Sort(times);
            Console.WriteLine($"  {"gnu as",-8} {times[Repeats / 2],8:F1} ms {Lines / times[Repeats / 2] * 1000,12:N0} lines/s   (a process per run, start-up included)");
            return true;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
