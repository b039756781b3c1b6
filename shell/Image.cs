using System.CommandLine;
using Repl.Machine.Asm;
using Repl.Machine.Kernel;

namespace Repl.Shell;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>
/// <c>repl image</c>: writes the entry kernel, assembled with the given switches, as the ELF64 multiboot image our
/// machine boots by default — with symbols and DWARF lines for gdb, and the header's address fields so that
/// QEMU's -kernel boots the same file.
/// </summary>
static class Image
{
    public static Command Command(Option<CpuVendor> cpu)
    {
        var output = Program.NotEmpty(new Option<string>("--out", "-o")
        {
            Description = "Where to write the ELF",
            HelpName = "entry.elf",
            Required = true,
        });
        var define = Asm.DefinesOption("--define", "Set a kernel switch (KPTI, PCID, LA57, SYSRET_CHECK, ILLUMOS: 0 or 1), as --defsym (repeatable)");
        var command = new Command("image", "Write the entry kernel as an ELF64 multiboot image with symbols and DWARF line info.\n"
                                           + "The same file boots under `repl boot --image` and qemu-system-x86_64 -kernel; --cpu only\n"
                                           + "chooses the vendor in the QEMU command line printed for it.\n"
                                           + $"Exit status: 0 when written, {Asm.SourceErrors} when the kernel does not assemble with these switches, {Boot.BadInput} when\n"
                                           + "the file cannot be written or the command line is wrong.\n"
                                           + "Example: repl image --out entry.elf --define KPTI=0") { output, define, cpu };
        command.SetAction(result => Run(result.GetValue(output)!, result.GetValue(define)!, result.GetValue(cpu), Console.Out, Console.Error));
        return command;
    }

    public static int Run(string outputPath, IReadOnlyDictionary<string, long> defines, CpuVendor vendor, TextWriter stdout, TextWriter stderr)
    {
        AssemblyResult result;
        try
        {
            result = EntryKernel.Assemble(defines);
        }
        catch (LoaderException e)
        {
            stderr.WriteLine($"repl: {e.Message} (check the --define values)");
            return Boot.BadInput;
        }
        foreach (var d in result.Diagnostics)
            stderr.Write(d.ToString());
        if (!result.Success)
            return Asm.SourceErrors;
        try
        {
            File.WriteAllBytes(outputPath, ElfWriter.Write(result));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"repl: cannot write {outputPath}: {e.Message}");
            return Boot.BadInput;
        }
        string vendorId = Identification.VendorString(vendor);
        stdout.WriteLine($"wrote {outputPath}: the entry kernel, {result.Symbols.Count} symbols");
        stdout.WriteLine($"boot it: repl boot --image {outputPath} --cpu {vendor.ToString().ToLowerInvariant()}");
        stdout.WriteLine($"    or: qemu-system-x86_64 -kernel {outputPath} -cpu max,vendor={vendorId} -serial stdio -display none "
                         + "-device isa-debug-exit,iobase=0xf4,iosize=0x04");
        return 0;
    }
}
