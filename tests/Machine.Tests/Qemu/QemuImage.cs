using System.Diagnostics;
using System.Text;

namespace Repl.Qemu;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>
/// Builds the multiboot images in images/*.S with GNU as and ld, and boots them under qemu-system-x86_64.
/// Shared, as one linked source file, by the differential tests and the benchmark (bench/Repl.Bench.csproj
/// compiles this file and copies the images): both need the same image built the same way, and neither the
/// machine library, which must not depend on host tools, nor a project of its own for one class is the place.
/// Failures throw <see cref="InvalidOperationException"/> with the tool's message.
/// </summary>
public static class QemuImage
{
    public const int RamMiB = 256;

    /// <summary>The images' sources, copied next to the assembly that uses them.</summary>
    public static readonly string ImagesDirectory = Path.Combine(AppContext.BaseDirectory, "Qemu", "images");


    /// <summary>
    /// Assembles and links images/NAME.S into a fresh directory and returns the ELF kernel's path. ELF64 images
    /// carry the multiboot address fields (QEMU's -kernel takes ELF64 no other way). <paramref name="symbols"/>
    /// are NAME=VALUE definitions for the assembler (--defsym). images/NAME.ld, when present, replaces image.ld.
    /// </summary>
    public static string Build(string image, bool elf64, params string[] symbols)
    {
        string dir = Directory.CreateTempSubdirectory("repl-qemu-").FullName;
        string source = Path.Combine(ImagesDirectory, image + ".S"), obj = Path.Combine(dir, image + ".o"), elf = Path.Combine(dir, image + ".elf");
        Tool("as", [elf64 ? "--64" : "--32", "-I", ImagesDirectory, .. symbols.SelectMany(s => new[] { "--defsym", s }), "-o", obj, source]);
        string script = Path.Combine(ImagesDirectory, image + ".ld");
        if (!File.Exists(script))
            script = Path.Combine(ImagesDirectory, "image.ld");
        Tool("ld", ["-m", elf64 ? "elf_x86_64" : "elf_i386", "-T", script, "--build-id=none", "--no-warn-rwx-segments", "-o", elf, obj]);
        return elf;
    }

    /// <summary>
    /// Boots the kernel under QEMU's processor <paramref name="model"/> (default qemu64, QEMU's own default) with the
    /// vendor string of the profile: the vendor decides parts of the hand-over, such as the memory map's
    /// HyperTransport range on AMD. Returns what the guest sent to COM1 and QEMU's exit status (the debug-exit
    /// status, when the guest left that way).
    /// </summary>
    public static (byte[] Output, int Status) RunQemu(string kernel, CpuVendor vendor, TimeSpan timeout, string model = "qemu64")
    {
        string cpu = model + ",vendor=" + (vendor == CpuVendor.Amd ? "AuthenticAMD" : "GenuineIntel");
        var (stdout, _, status) = Execute("qemu-system-x86_64",
            ["-kernel", kernel, "-cpu", cpu, "-m", RamMiB.ToString(), "-serial", "stdio", "-display", "none",
             "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-no-reboot", "-nodefaults"], timeout);
        return (stdout, status);
    }

    /// <summary>Loads the kernel into a fresh machine of the profile, with the same RAM as QEMU gets; what the guest
    /// sends to COM1 goes to <paramref name="serial"/>.</summary>
    public static Machine Load(string kernel, CpuVendor vendor, Stream serial)
    {
        var m = new Machine(new MachineOptions { Vendor = vendor, RamSize = (ulong)RamMiB << 20 });
        Multiboot.Load(m, File.ReadAllBytes(kernel), kernel);
        m.Com1.Transmitted += serial.WriteByte;
        return m;
    }

    public static void Tool(string name, string[] args)
    {
        var (_, stderr, status) = Execute(name, args, TimeSpan.FromSeconds(30));
        if (status != 0)
            throw new InvalidOperationException($"{name} {string.Join(' ', args)} failed ({status}): {Encoding.UTF8.GetString(stderr)}");
    }

    public static (byte[] Stdout, byte[] Stderr, int Status) Execute(string program, string[] args, TimeSpan timeout)
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
            throw new InvalidOperationException($"{program} did not finish within {timeout.TotalSeconds} s");
        }
        Task.WaitAll(copyOut, copyErr);
        return (stdout.ToArray(), stderr.ToArray(), process.ExitCode);
    }

    /// <summary>Which of the tools are missing from PATH, or null when none is.</summary>
    public static string? Missing(params string[] tools)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator);
        var missing = tools.Where(t => !path.Any(dir => File.Exists(Path.Combine(dir, t)))).ToList();
        return missing.Count == 0 ? null : string.Join(", ", missing);
    }
}
