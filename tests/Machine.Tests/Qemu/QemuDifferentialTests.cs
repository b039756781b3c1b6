using System.Text;
using Repl.Qemu;

namespace Repl.Machine.Tests.Qemu;

/// <summary>
/// The QEMU oracle: each image in images/*.S is assembled and linked at test time with GNU as and ld, booted
/// under qemu-system-x86_64 -kernel and under our machine, and must print the same bytes to COM1 and exit with
/// the same debug-exit status. QEMU's -kernel loader takes only ELF32 multiboot kernels or images with the
/// header's address fields, so the images are 32-bit ELF, or ELF64 with the address fields (elf64: true);
/// either way their code starts in 32-bit protected mode, and an image that wants long mode switches to it.
/// To add an image: write images/NAME.S (it includes serial.inc, or longmode.inc, which enters 64-bit mode and is
/// built as ELF64) and add an InlineData line below; images/NAME.ld, when present, replaces the common linker
/// script image.ld. <see cref="QemuImage"/> builds and boots them (the benchmark uses it too).
/// </summary>
public class QemuDifferentialTests
{
    const ulong InstructionBudget = 100_000_000;
    static readonly TimeSpan QemuTimeout = TimeSpan.FromSeconds(60);

    [QemuTheory]
    [InlineData("hello", CpuVendor.Intel)]
    [InlineData("mbinfo", CpuVendor.Intel)]
    [InlineData("mbinfo", CpuVendor.Amd)]
    [InlineData("uart", CpuVendor.Intel)]
    [InlineData("kludge64", CpuVendor.Intel, true)]
    [InlineData("higherhalf", CpuVendor.Intel)]
    [InlineData("longmode", CpuVendor.Intel, true)]
    [InlineData("longmode", CpuVendor.Amd, true)]
    [InlineData("pagefault", CpuVendor.Intel, true)]
    [InlineData("ist", CpuVendor.Intel, true)]
    [InlineData("syscall", CpuVendor.Intel, true)]
    [InlineData("syscall", CpuVendor.Amd, true)]
    [InlineData("kpti", CpuVendor.Intel, true)]
    [InlineData("apic", CpuVendor.Intel)]
    public void Image_prints_the_same_transcript_and_exits_with_the_same_status_as_on_qemu(string image, CpuVendor vendor, bool elf64 = false)
    {
        string kernel = QemuImage.Build(image, elf64);

        var (qemuOutput, qemuStatus) = QemuImage.RunQemu(kernel, vendor, QemuTimeout);
        var (ourOutput, ourStatus) = RunRepl(kernel, vendor);

        Assert.NotEmpty(qemuOutput);
        // Latin-1 maps every byte to one character, so the comparison is byte-exact and a difference reads as text.
        Assert.Equal(Encoding.Latin1.GetString(qemuOutput), Encoding.Latin1.GetString(ourOutput));
        Assert.Equal(qemuStatus, ourStatus);
    }

    static (byte[] Output, int Status) RunRepl(string kernel, CpuVendor vendor)
    {
        var output = new MemoryStream();
        var m = QemuImage.Load(kernel, vendor, output);

        var stop = m.Run(InstructionBudget);

        Assert.True(stop.Kind == StopKind.DebugExit, $"our machine stopped with {stop}, not a debug exit; serial so far: {Encoding.Latin1.GetString(output.ToArray())}");
        return (output.ToArray(), stop.ExitStatus!.Value & 0xFF);
    }
}

/// <summary>A theory that is skipped, with the reason printed, when GNU as, ld or qemu-system-x86_64 is not installed.</summary>
public sealed class QemuTheoryAttribute : TheoryAttribute
{
    static readonly string? MissingTools = QemuImage.Missing("as", "ld", "qemu-system-x86_64");

    public QemuTheoryAttribute()
    {
        if (MissingTools is not null)
            Skip = $"{MissingTools} not installed (.ci/run installs binutils and qemu-system-x86)";
    }
}
