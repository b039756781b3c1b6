using System.CommandLine;

namespace Repl.Shell;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

static class Program
{
    static int Main(string[] args)
    {
        var cpu = new Option<CpuVendor>("--cpu")
        {
            Description = "Vendor profile of the emulated processor: intel or amd",
            DefaultValueFactory = _ => CpuVendor.Intel,
        };
        var demo = new Command("demo", "Run the built-in demonstration program and print the machine's state.\n"
                                       + "Example: repl demo --cpu amd") { cpu };
        demo.SetAction(result => Demo.Run(result.GetValue(cpu), Console.Out));

        var root = new RootCommand("Repl: an emulated x86-64 PC for understanding and testing kernel entry code.") { demo, BootCommand(cpu), GdbCommand(cpu) };
        root.Subcommands.Add(Batch.RunCommand.Create(cpu));
        var parsed = root.Parse(args);
        if (parsed.Errors.Count != 0)
        {
            // One line, with a hint, instead of the whole help text; 2 marks a usage error as it does a bad image.
            var command = parsed.CommandResult.Command;
            Console.Error.WriteLine($"repl: {parsed.Errors[0].Message} (try 'repl {(command == root ? "" : command.Name + " ")}--help')");
            return Boot.BadInput;
        }
        return parsed.Invoke();
    }

    static Command BootCommand(Option<CpuVendor> cpu)
    {
        var image = new Option<string>("--image")
        {
            Description = "The kernel to boot: a multiboot image (ELF32, or any file whose header has the address fields)",
            Required = true,
        };
        var maxInstructions = new Option<ulong?>("--max-instructions")
        {
            Description = "Stop after this many instructions (default: no limit)",
        };
        var ram = new Option<ulong>("--ram")
        {
            Description = $"RAM in MiB, 2 to {Boot.MaxRamMiB}",
            DefaultValueFactory = _ => Boot.DefaultRamMiB,
        };
        var boot = new Command("boot", "Boot a multiboot kernel headless, as QEMU's -kernel does: stdout carries exactly the bytes the guest\n"
                                       + "sends to COM1, and the process exits with the guest's debug-exit status.\n"
                                       + Boot.ExitCodeHelp + "\n"
                                       + "Example: repl boot --image kernel.elf --cpu amd > serial.txt") { image, cpu, maxInstructions, ram };
        boot.SetAction(result => Boot.Run(result.GetValue(image)!, result.GetValue(cpu), result.GetValue(maxInstructions), result.GetValue(ram),
                                          Console.OpenStandardOutput(), Console.Error));
        return boot;
    }

    static Command GdbCommand(Option<CpuVendor> cpu)
    {
        var listen = new Option<string?>("--listen")
        {
            Description = "Address and port to listen on (default 127.0.0.1:1234; other than loopback only when given)",
        };
        var image = new Option<string?>("--image")
        {
            Description = "The kernel to debug: a multiboot image (required until the built-in entry kernel exists)",
        };
        var gdb = new Command("gdb", "Serve the machine to gdb or lldb over the GDB remote protocol, stopped at its first instruction\n"
                                     + "until the debugger continues (like QEMU's -s -S). Guest serial output goes to stdout.\n"
                                     + "Example: repl gdb --image kernel.elf, then: gdb kernel.elf -ex 'target remote 127.0.0.1:1234'") { listen, image, cpu };
        gdb.SetAction(result => Gdb.Run(result.GetValue(listen), result.GetValue(image), result.GetValue(cpu), Console.OpenStandardOutput(), Console.Error));
        return gdb;
    }
}
