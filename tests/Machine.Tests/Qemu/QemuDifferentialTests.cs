using System.Diagnostics;
using System.Text;

namespace Repl.Machine.Tests.Qemu;

/// <summary>
/// The QEMU oracle: each image in images/*.S is assembled and linked at test time with GNU as and ld, booted
/// under qemu-system-x86_64 -kernel and under our machine, and must print the same bytes to COM1 and exit with
/// the same debug-exit status. QEMU's -kernel loader takes only ELF32 multiboot kernels or images with the
/// header's address fields, so the images are 32-bit ELF, or ELF64 with the address fields (elf64: true);
/// either way their code starts in 32-bit protected mode, and an image that wants long mode switches to it.
/// To add an image: write images/NAME.S (it includes serial.inc) and add an InlineData line below; images/NAME.ld,
/// when present, replaces the common linker script image.ld.
/// </summary>
public class QemuDifferentialTests
{
    const int RamMiB = 256;
    const ulong InstructionBudget = 100_000_000;
    static readonly TimeSpan QemuTimeout = TimeSpan.FromSeconds(60);

    static readonly string ImagesDirectory = Path.Combine(AppContext.BaseDirectory, "Qemu", "images");

    [QemuTheory]
    [InlineData("hello", CpuVendor.Intel)]
    [InlineData("mbinfo", CpuVendor.Intel)]
    [InlineData("mbinfo", CpuVendor.Amd)]
    [InlineData("uart", CpuVendor.Intel)]
    [InlineData("kludge64", CpuVendor.Intel, true)]
    [InlineData("higherhalf", CpuVendor.Intel)]
    [InlineData("apic", CpuVendor.Intel)]
    public void Image_prints_the_same_transcript_and_exits_with_the_same_status_as_on_qemu(string image, CpuVendor vendor, bool elf64 = false)
    {
        string kernel = Build(image, elf64);

        var (qemuOutput, qemuStatus) = RunQemu(kernel, vendor);
        var (ourOutput, ourStatus) = RunRepl(kernel, vendor);

        Assert.NotEmpty(qemuOutput);
        // Latin-1 maps every byte to one character, so the comparison is byte-exact and a difference reads as text.
        Assert.Equal(Encoding.Latin1.GetString(qemuOutput), Encoding.Latin1.GetString(ourOutput));
        Assert.Equal(qemuStatus, ourStatus);
    }

    /// <summary>Assembles and links images/NAME.S into a fresh directory; returns the ELF kernel's path.</summary>
    static string Build(string image, bool elf64)
    {
        string dir = Directory.CreateTempSubdirectory("repl-qemu-").FullName;
        string source = Path.Combine(ImagesDirectory, image + ".S"), obj = Path.Combine(dir, image + ".o"), elf = Path.Combine(dir, image + ".elf");
        Tool("as", elf64 ? "--64" : "--32", "-I", ImagesDirectory, "-o", obj, source);
        string script = Path.Combine(ImagesDirectory, image + ".ld");
        if (!File.Exists(script))
            script = Path.Combine(ImagesDirectory, "image.ld");
        Tool("ld", "-m", elf64 ? "elf_x86_64" : "elf_i386", "-T", script, "--build-id=none", "-o", elf, obj);
        return elf;
    }

    static void Tool(string name, params string[] args)
    {
        var (_, stderr, status) = Execute(name, args, TimeSpan.FromSeconds(30));
        Assert.True(status == 0, $"{name} {string.Join(' ', args)} failed ({status}): {Encoding.UTF8.GetString(stderr)}");
    }

    /// <summary>
    /// QEMU's default processor (qemu64) with the vendor string of the profile under test: the vendor decides
    /// parts of the hand-over, such as the memory map's HyperTransport range on AMD.
    /// </summary>
    static (byte[] Output, int Status) RunQemu(string kernel, CpuVendor vendor)
    {
        string cpu = "qemu64,vendor=" + (vendor == CpuVendor.Amd ? "AuthenticAMD" : "GenuineIntel");
        var (stdout, _, status) = Execute("qemu-system-x86_64",
            ["-kernel", kernel, "-cpu", cpu, "-m", RamMiB.ToString(), "-serial", "stdio", "-display", "none",
             "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-no-reboot", "-nodefaults"], QemuTimeout);
        return (stdout, status);
    }

    static (byte[] Output, int Status) RunRepl(string kernel, CpuVendor vendor)
    {
        var m = new Machine(new MachineOptions { Vendor = vendor, RamSize = (ulong)RamMiB << 20 });
        Multiboot.Load(m, File.ReadAllBytes(kernel), kernel);
        var output = new MemoryStream();
        m.Com1.Transmitted += output.WriteByte;

        var stop = m.Run(InstructionBudget);

        Assert.True(stop.Kind == StopKind.DebugExit, $"our machine stopped with {stop}, not a debug exit; serial so far: {Encoding.Latin1.GetString(output.ToArray())}");
        return (output.ToArray(), stop.ExitStatus!.Value & 0xFF);
    }

    static (byte[] Stdout, byte[] Stderr, int Status) Execute(string program, string[] args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args)
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        var copyOut = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var copyErr = process.StandardError.BaseStream.CopyToAsync(stderr);
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{program} did not finish within {timeout.TotalSeconds} s");
        }
        Task.WaitAll(copyOut, copyErr);
        return (stdout.ToArray(), stderr.ToArray(), process.ExitCode);
    }
}

/// <summary>A theory that is skipped, with the reason printed, when GNU as, ld or qemu-system-x86_64 is not installed.</summary>
public sealed class QemuTheoryAttribute : TheoryAttribute
{
    static readonly string? MissingTools = FindMissing("as", "ld", "qemu-system-x86_64");

    public QemuTheoryAttribute()
    {
        if (MissingTools is not null)
            Skip = $"{MissingTools} not installed (.ci/run installs binutils and qemu-system-x86)";
    }

    static string? FindMissing(params string[] tools)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator);
        var missing = tools.Where(t => !path.Any(dir => File.Exists(Path.Combine(dir, t)))).ToList();
        return missing.Count == 0 ? null : string.Join(", ", missing);
    }
}
