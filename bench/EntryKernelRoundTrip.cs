using System.Text;
using Repl.Machine.Kernel;
using Repl.Qemu;

namespace Repl.Bench;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>
/// The issue's figure: getpid round trips through the entry kernel's whole 64-bit path with KPTI (SWAPGS, the CR3
/// switch, pt_regs, the table dispatch, the exit-work check, the opportunistic SYSRET checks, the trampoline stack,
/// the CR3 switch back, SYSRETQ), on our machine and under qemu-system-x86_64 -cpu max, one image (built with
/// BENCH_GETPID=N, and =0 to subtract the boot), same run.
/// </summary>
static class EntryKernelRoundTrip
{
    static readonly TimeSpan QemuTimeout = TimeSpan.FromMinutes(10);

    public static bool Measure(int roundTrips)
    {
        string empty = Write(0), loop = Write(roundTrips);
        Console.WriteLine($"entry kernel getpid (KPTI=1 PCID=1): {roundTrips:N0} round trips, less a boot with none; median of 3 runs each");

        var ours = KptiRoundTrip.Time(roundTrips, empty, loop, KptiRoundTrip.RunOurs, Expected);
        if (ours is null)
            return false;
        var (seconds, boot, retired) = ours.Value;
        double rate = roundTrips / (seconds - boot);
        Console.WriteLine($"  {"repl",-6} {seconds,8:F2} s (boot {boot:F2} s) {rate / 1e3,10:N0} k round trips/s {retired / (seconds - boot) / 1e6,8:F1} MIPS"
                          + $" {(double)retired / roundTrips,6:F1} instructions per round trip");

        if (QemuImage.Missing("qemu-system-x86_64") is not null)
        {
            Console.WriteLine("  qemu: qemu-system-x86_64 not installed");
            return true;
        }
        var qemu = KptiRoundTrip.Time(roundTrips, empty, loop, RunQemu, Expected);
        if (qemu is null)
            return false;
        var (qemuSeconds, qemuBoot, _) = qemu.Value;
        double qemuRate = roundTrips / (qemuSeconds - qemuBoot);
        Console.WriteLine($"  {"qemu",-6} {qemuSeconds,8:F2} s (boot {qemuBoot:F2} s) {qemuRate / 1e3,10:N0} k round trips/s (TCG -cpu max: no PCID, each CR3 write flushes)");
        Console.WriteLine($"  repl does {rate / qemuRate:F1} times QEMU's round trips per second");
        return true;
    }

    static string Write(int roundTrips)
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("repl-bench-kernel-").FullName, EntryKernel.ImageName);
        File.WriteAllBytes(path, EntryKernel.Elf(new Dictionary<string, long> { ["BENCH_GETPID"] = roundTrips }));
        return path;
    }

    /// <summary>The benchmark build prints nothing and exits with 0: status (0 &lt;&lt; 1) | 1.</summary>
    static bool Expected((byte[] Output, int Status, ulong Retired) run, int roundTrips)
    {
        if (run.Output.Length == 0 && run.Status == 1)
            return true;
        Console.WriteLine($"  the kernel with {roundTrips} round trips printed '{Encoding.Latin1.GetString(run.Output).TrimEnd()}' and exited with {run.Status}, not nothing and 1");
        return false;
    }

    static (byte[] Output, int Status, ulong Retired) RunQemu(string kernel)
    {
        var (output, status) = QemuImage.RunQemu(kernel, CpuVendor.Intel, QemuTimeout, model: "max");
        return (output, status, 0);
    }
}
