using System.Text;
using Repl.Machine.Kernel;
using Repl.Machine.Tests.Asm;
using Repl.Machine.Tests.Kernel;
using Repl.Qemu;

namespace Repl.Machine.Tests.Qemu;

/// <summary>
/// The entry kernel against the QEMU oracle: the ELF that `repl image` writes boots under qemu-system-x86_64 -kernel
/// and under our machine (loaded the way `repl boot --image` loads it) and must print the same transcript and exit
/// with the same status, on both vendor profiles and with each KPTI/PCID setting. QEMU runs `-cpu max` so that SMEP
/// and SMAP exist there too; its TCG has no PCID, so PCID=1 boots without PCIDs there and with them here — the
/// transcript must not tell the difference. gdb reads the same ELF's lines.
/// </summary>
public class EntryKernelQemuTests
{
    static readonly TimeSpan QemuTimeout = TimeSpan.FromSeconds(60);

    [QemuTheory]
    [MemberData(nameof(EntryKernelTests.ProfilesAndSwitches), MemberType = typeof(EntryKernelTests))]
    public void The_entry_kernel_prints_the_same_transcript_and_exits_with_the_same_status_as_on_qemu(CpuVendor vendor, int kpti, int pcid)
    {
        string elf = WriteImage(new Dictionary<string, long> { ["KPTI"] = kpti, ["PCID"] = pcid });

        var (qemuOutput, qemuStatus) = QemuImage.RunQemu(elf, vendor, QemuTimeout, model: "max");
        var output = new MemoryStream();
        var stop = QemuImage.Load(elf, vendor, output).Run(50_000_000);

        Assert.Contains("PASS getpid", Encoding.Latin1.GetString(qemuOutput));
        Assert.Equal(Encoding.Latin1.GetString(qemuOutput), Encoding.Latin1.GetString(output.ToArray()));
        Assert.True(stop.Kind == StopKind.DebugExit, $"our machine stopped with {stop}");
        Assert.Equal(qemuStatus, stop.ExitStatus!.Value & 0xFF);
    }

    [GdbFact]
    public void Gdb_reading_the_image_places_entry_SYSCALL_64_on_its_first_instruction_in_entry_64_S()
    {
        string elf = WriteImage(new Dictionary<string, long>());
        var lines = EntryKernel.Sources["entry_64.S"].Split('\n');
        int label = Array.FindIndex(lines, l => l.StartsWith("entry_SYSCALL_64:", StringComparison.Ordinal));
        int swapgs = label + 2;		// 1-based: the line after the label

        var (stdout, _, status) = QemuImage.Execute("gdb", ["-batch", "-nx", "-ex", "info line entry_SYSCALL_64", elf], QemuTimeout);

        Assert.Equal(0, status);
        Assert.Equal("\tswapgs", lines[swapgs - 1][..7]);
        Assert.StartsWith($"Line {swapgs} of \"entry_64.S\" starts at address 0x{EntryKernel.Assemble().AddressOf("entry_SYSCALL_64"):x} <entry_SYSCALL_64>",
                          Encoding.UTF8.GetString(stdout));
    }

    static string WriteImage(IReadOnlyDictionary<string, long> defines)
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("repl-entry-").FullName, EntryKernel.ImageName);
        File.WriteAllBytes(path, EntryKernel.Elf(defines));
        return path;
    }
}
