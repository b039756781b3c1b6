using System.Diagnostics;
using System.Text;
using Repl.Qemu;

namespace Repl.Bench;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>
/// The KPTI round trip, side by side: the differential suite's kpti image (user code doing SYSCALL in a loop into
/// an entry that does SWAPGS, a CR3 switch to the kernel root, kernel work, the switch back, SWAPGS, SYSRETQ; see
/// tests/Machine.Tests/Qemu/images/kpti.S) built with N round trips and booted end to end on our machine, in
/// process, and under qemu-system-x86_64 when installed. Each side also boots it with no round trips, and the
/// difference of the two times is what N round trips cost, without the boot (QEMU's process start, firmware and
/// loader; our machine's construction and loading).
/// </summary>
static class KptiRoundTrip
{
    const int Repeats = 3;
    const byte ExitCode = 0x24;
    static readonly TimeSpan QemuTimeout = TimeSpan.FromMinutes(10);

    public static bool Measure(int roundTrips)
    {
        if (QemuImage.Missing("as", "ld") is string missing)
        {
            Console.WriteLine($"kpti syscall: skipped, {missing} not installed (the image is assembled with GNU binutils)");
            return true;
        }
        string empty = QemuImage.Build("kpti", elf64: true, "ROUND_TRIPS=0");
        string loop = QemuImage.Build("kpti", elf64: true, $"ROUND_TRIPS={roundTrips}");
        Console.WriteLine($"kpti syscall image: {roundTrips:N0} round trips, less a boot with none; median of {Repeats} runs each");

        var ours = Time(roundTrips, empty, loop, RunOurs, Expected);
        if (ours is null)
            return false;
        var (seconds, boot, retired) = ours.Value;
        double rate = roundTrips / (seconds - boot);
        Console.WriteLine($"  {"repl",-6} {seconds,8:F2} s (boot {boot:F2} s) {rate / 1e3,10:N0} k round trips/s {retired / (seconds - boot) / 1e6,8:F1} MIPS");

        if (QemuImage.Missing("qemu-system-x86_64") is not null)
        {
            Console.WriteLine("  qemu: qemu-system-x86_64 not installed");
            return true;
        }
        var qemu = Time(roundTrips, empty, loop, RunQemu, Expected);
        if (qemu is null)
            return false;
        var (qemuSeconds, qemuBoot, _) = qemu.Value;
        double qemuRate = roundTrips / (qemuSeconds - qemuBoot);
        Console.WriteLine($"  {"qemu",-6} {qemuSeconds,8:F2} s (boot {qemuBoot:F2} s) {qemuRate / 1e3,10:N0} k round trips/s (TCG, no PCID: each CR3 write flushes)");
        Console.WriteLine($"  repl does {rate / qemuRate:F1} times QEMU's round trips per second");
        return true;
    }

    /// <summary>The median times of booting the empty and the looping kernel, and the instructions the loop retired;
    /// null, after saying why, if a run printed or exited other than <paramref name="expected"/> (given the run and
    /// its round trips) allows. Shared with <see cref="EntryKernelRoundTrip"/>.</summary>
    internal static (double Seconds, double Boot, ulong Retired)? Time(int roundTrips, string empty, string loop,
                                                                   Func<string, (byte[] Output, int Status, ulong Retired)> run,
                                                                   Func<(byte[] Output, int Status, ulong Retired), int, bool> expected)
    {
        var boots = new double[Repeats];
        var loops = new double[Repeats];
        ulong retired = 0;
        for (int i = 0; i < Repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            var booted = run(empty);
            boots[i] = clock.Elapsed.TotalSeconds;
            clock.Restart();
            var looped = run(loop);
            loops[i] = clock.Elapsed.TotalSeconds;
            if (!expected(booted, 0) || !expected(looped, roundTrips))
                return null;
            retired = looped.Retired - booted.Retired;
        }
        Array.Sort(boots);
        Array.Sort(loops);
        return (loops[Repeats / 2], boots[Repeats / 2], retired);
    }

    static bool Expected((byte[] Output, int Status, ulong Retired) run, int roundTrips)
    {
        string expected = $"kpti round trips {roundTrips:x16}\n", output = Encoding.Latin1.GetString(run.Output);
        if (output == expected && run.Status == ((ExitCode << 1) | 1))
            return true;
        Console.WriteLine($"  the kpti image printed {output.TrimEnd()} and exited with {run.Status}, not {expected.TrimEnd()} and {(ExitCode << 1) | 1}");
        return false;
    }

    internal static (byte[] Output, int Status, ulong Retired) RunOurs(string kernel)
    {
        var serial = new MemoryStream();
        var machine = QemuImage.Load(kernel, CpuVendor.Intel, serial);
        var stop = machine.Run();
        return (serial.ToArray(), stop.Kind == StopKind.DebugExit ? stop.ExitStatus!.Value & 0xFF : -1, machine.State.InstructionsRetired);
    }

    static (byte[] Output, int Status, ulong Retired) RunQemu(string kernel)
    {
        var (output, status) = QemuImage.RunQemu(kernel, CpuVendor.Intel, QemuTimeout);
        return (output, status, 0);
    }
}
