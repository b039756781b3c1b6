using System.CommandLine;
using Repl.Machine.Asm;

namespace Repl.Shell;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

static class Program
{
    /// <summary>A file name given empty is refused as the command line is read, with the rest of its mistakes: the file
    /// system would only throw on it.</summary>
    internal static T NotEmpty<T>(T symbol) where T : System.CommandLine.Symbol
    {
        void Check(System.CommandLine.Parsing.SymbolResult result)
        {
            if (result.Tokens.Any(token => token.Value.Length == 0))
                result.AddError($"{symbol.Name} needs a file name, not an empty string");
        }
        switch (symbol)
        {
            case Option option:
                option.Validators.Add(Check);
                break;
            case Argument argument:
                argument.Validators.Add(Check);
                break;
        }
        return symbol;
    }

    static int Main(string[] args)
    {
        StartupTrace.Mark("main");
        var cpu = new Option<CpuVendor>("--cpu")
        {
            Description = "Vendor profile of the emulated processor: intel or amd",
            DefaultValueFactory = _ => CpuVendor.Intel,
        };
        var demo = new Command("demo", "Run the built-in demonstration program and print the machine's state.\n"
                                       + "Example: repl demo --cpu amd") { cpu };
        demo.SetAction(result => Demo.Run(result.GetValue(cpu), Console.Out));

        var root = new RootCommand("Repl: an emulated x86-64 PC for understanding and testing kernel entry code.") { demo, BootCommand(cpu), GdbCommand(cpu), AsmCommand(), Image.Command(cpu) };
        root.Subcommands.Add(Batch.RunCommand.Create(cpu));
        InteractiveShell(root, cpu);
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

    /// <summary>`repl` alone: the interactive shell, with the options the machine it debugs is built from.</summary>
    static void InteractiveShell(RootCommand root, Option<CpuVendor> cpu)
    {
        var image = NotEmpty(new Option<string?>("--image")
        {
            Description = "The program to debug: a multiboot or ELF image, or a .S source to assemble (default: the entry kernel)",
        });
        var define = Asm.DefinesOption("--define", "Set an entry-kernel switch (KPTI, PCID, LA57, SYSRET_CHECK, ILLUMOS) or a .S image's symbol, as --defsym (repeatable)");
        var noColor = new Option<bool>("--no-color") { Description = "No colour in the prompt and the input (as a non-empty NO_COLOR does)" };
        root.Description += "\nWith no command: the interactive shell, a debugger with gdb-flavoured commands and C# on the machine.\n"
                            + "Example: repl --image kernel.elf --cpu amd";
        root.Add(image);
        root.Add(cpu);
        root.Add(define);
        root.Add(noColor);
        root.SetAction(result => Interactive.InteractiveShell.Run(
            new Debugging.DebuggerOptions { Image = result.GetValue(image), Vendor = result.GetValue(cpu), Defines = result.GetValue(define)! },
            result.GetValue(noColor)));
    }

    static Command BootCommand(Option<CpuVendor> cpu)
    {
        var image = NotEmpty(new Option<string?>("--image")
        {
            Description = "The kernel to boot: a multiboot image (ELF32, or any file whose header has the address fields); default: the entry kernel",
        });
        var define = Asm.DefinesOption("--define", "Set an entry-kernel switch (KPTI, PCID, LA57, SYSRET_CHECK, ILLUMOS: 0 or 1) when no --image is given (repeatable)");
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
                                       + "Without --image it boots the entry kernel, whose self-test prints PASS/FAIL lines and exits with the number\n"
                                       + "of failures (status 1 when all pass).\n"
                                       + "Example: repl boot --image kernel.elf --cpu amd > serial.txt; repl boot --define KPTI=0") { image, define, cpu, maxInstructions, ram };
        boot.SetAction(result => Boot.Run(result.GetValue(image), result.GetValue(define)!, result.GetValue(cpu), result.GetValue(maxInstructions),
                                          result.GetValue(ram), Console.OpenStandardOutput(), Console.Error));
        return boot;
    }

    static Command GdbCommand(Option<CpuVendor> cpu)
    {
        var listen = new Option<string?>("--listen")
        {
            Description = "Address and port to listen on (default 127.0.0.1:1234; other than loopback only when given)",
        };
        var image = NotEmpty(new Option<string?>("--image")
        {
            Description = "What to debug: a multiboot kernel, an ELF, or a .S source (default: the entry kernel)",
        });
        var define = Asm.DefinesOption("--define", "Set an entry-kernel switch (KPTI, PCID, LA57, SYSRET_CHECK, ILLUMOS) or a .S image's symbol (repeatable)");
        var gdb = new Command("gdb", "Serve the machine to gdb or lldb over the GDB remote protocol, stopped at its first instruction\n"
                                     + "until the debugger continues (like QEMU's -s -S). gdb's 'monitor CMD' runs any shell command.\n"
                                     + "Guest serial output goes to stdout.\n"
                                     + "Example: repl gdb --image kernel.elf, then: gdb kernel.elf -ex 'target remote 127.0.0.1:1234'") { listen, image, define, cpu };
        gdb.SetAction(result => Gdb.Run(result.GetValue(listen), result.GetValue(image), result.GetValue(cpu), result.GetValue(define)!,
                                        Console.OpenStandardOutput(), Console.Error));
        return gdb;
    }

    static Command AsmCommand()
    {
        var source = NotEmpty(new Argument<string>("FILE.S") { Description = "The assembly source, in GNU as syntax (AT&T by default, .intel_syntax switches)" });
        var output = NotEmpty(new Option<string?>("--output", "-o")
        {
            Description = "Where to write the result (default: FILE.elf, or FILE.bin with --binary, next to the source)",
            HelpName = "OUT.elf",
        });
        ulong defaultOrigin = new AsmOptions().Origin;
        var origin = new Option<ulong?>("--origin")
        {
            Description = $"The address of the first section (default: 0x{defaultOrigin:x}); the others follow in order of first appearance, .bss last",
            HelpName = "ADDR",
            CustomParser = Asm.ParseOrigin,
        };
        var defsym = Asm.DefinesOption("--defsym", "Define an absolute symbol before the first line, as GNU as's --defsym (repeatable)");
        var include = new Option<string[]>("--include-dir", "-I")
        {
            Description = "Search this directory for .include and .incbin files after the including file's own, as GNU as's -I (repeatable)",
            HelpName = "DIR",
            Arity = ArgumentArity.ZeroOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        var binary = new Option<bool>("--binary") { Description = "Write the flat loadable image (as objcopy -O binary) instead of an ELF executable" };
        var asm = new Command("asm", "Assemble a .S file into an ELF64 executable with symbols and DWARF line info, which gdb reads.\n"
                                     + "Errors are printed as file:line:col: error: message, with the line and a caret.\n"
                                     + $"Exit status: 0 when assembled, {Asm.SourceErrors} when the source has errors, {Boot.BadInput} when the file cannot be read\n"
                                     + "or written or the command line is wrong.\n"
                                     + "Example: repl asm boot.S -o kernel.elf --origin 0x100000 --defsym DEBUG=1 -I include") { source, output, origin, defsym, include, binary };
        asm.SetAction(result => Asm.Run(result.GetValue(source)!, result.GetValue(output), new AsmOptions
        {
            Origin = result.GetValue(origin) ?? defaultOrigin,
            Defines = result.GetValue(defsym)!,
            IncludePaths = result.GetValue(include) ?? [],
        }, result.GetValue(binary), Console.Out, Console.Error));
        return asm;
    }
}
