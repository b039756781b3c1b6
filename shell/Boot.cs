namespace Repl.Shell;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;
using Repl.Machine.Kernel;

/// <summary>
/// <c>repl boot</c>: loads a multiboot kernel (by default the entry kernel), runs it headless, copies what it sends to COM1 to stdout byte for
/// byte, and turns the stop into the process's exit code, so that a run compares with QEMU's
/// <c>-kernel IMAGE -serial stdio -device isa-debug-exit</c>.
/// </summary>
static class Boot
{
    // Debug-exit statuses, (v << 1) | 1, are always odd; the machine's own endings use even codes so the two never meet.
    // BadInput: the image could not be loaded, or the command line is wrong.
    public const int BadInput = 2, TripleFault = 4, BudgetExhausted = 6, Halted = 8, UndeliveredFault = 10, InternalError = 12;
    /// <summary>The shell convention for a run ended by Ctrl+C (128 + SIGINT).</summary>
    public const int Interrupted = 130;
    public const ulong DefaultRamMiB = 256;
    /// <summary>QEMU's pc machine puts a PCI hole at 3.5 GiB, which this machine does not model.</summary>
    public const ulong MaxRamMiB = 3583;

    public static readonly string ExitCodeHelp =
        "Exit status: the guest's debug-exit status ((v << 1) | 1 for a write of v to port 0xf4, as QEMU's isa-debug-exit),\n"
        + $"or {BadInput} the image could not be loaded (or a usage error), {TripleFault} triple fault, {BudgetExhausted} instruction budget exhausted,\n"
        + $"{Halted} HLT with nothing to wake the processor, {UndeliveredFault} an exception the machine could not deliver,\n"
        + $"{InternalError} an internal error in the emulator, {Interrupted} interrupted by Ctrl+C.";

    /// <summary>Boots <paramref name="imagePath"/>, or without one the entry kernel assembled with <paramref name="defines"/>
    /// (the bytes `repl image` would write, under its file name).</summary>
    public static int Run(string? imagePath, IReadOnlyDictionary<string, long> defines, CpuVendor vendor, ulong? maxInstructions, ulong ramMiB,
                          Stream stdout, TextWriter stderr)
    {
        if (ramMiB is < 2 or > MaxRamMiB)
            return Fail(stderr, $"--ram {ramMiB}: give between 2 and {MaxRamMiB} MiB (the default is {DefaultRamMiB})", BadInput);
        byte[] image;
        try
        {
            image = imagePath is null ? EntryKernel.Elf(defines) : File.ReadAllBytes(imagePath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(stderr, $"cannot read {imagePath}: {e.Message}", BadInput);
        }
        catch (LoaderException e)
        {
            return Fail(stderr, $"{e.Message} (check the --define values)", BadInput);
        }
        imagePath ??= EntryKernel.ImageName;

        var machine = new Machine(new MachineOptions { Vendor = vendor, RamSize = ramMiB << 20 });
        try
        {
            // QEMU hands the kernel its file name as the command line.
            Multiboot.Load(machine, image, imagePath);
        }
        catch (LoaderException e)
        {
            return Fail(stderr, $"{imagePath}: {e.Message}", BadInput);
        }

        var output = new BufferedStream(stdout);
        machine.Com1.Transmitted += b =>
        {
            output.WriteByte(b);
            if (b == (byte)'\n')
                output.Flush();
        };
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            machine.RequestStop();
        };
        Console.CancelKeyPress += onCancel;
        StopReason stop;
        try
        {
            stop = machine.Run(maxInstructions ?? ulong.MaxValue);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
            output.Flush();
        }
        return Report(stop, machine.State, maxInstructions, stderr);
    }

    static int Report(StopReason stop, in CpuState state, ulong? budget, TextWriter stderr) => stop.Kind switch
    {
        // The process status keeps the low 8 bits, as QEMU's exit() does.
        StopKind.DebugExit => stop.ExitStatus!.Value & 0xFF,
        StopKind.TripleFault => Fail(stderr, $"triple fault at 0x{stop.Rip:x}{Detail(stop)}", TripleFault),
        StopKind.InstructionBudget => Fail(stderr, $"instruction budget of {budget} exhausted at 0x{stop.Rip:x} (raise --max-instructions)", BudgetExhausted),
        StopKind.Halted when (state.Rflags & (ulong)RflagsBit.IF) == 0 => Fail(stderr, $"guest halted with interrupts off at 0x{stop.Rip:x}", Halted),
        StopKind.Halted => Fail(stderr, $"guest halted at 0x{stop.Rip:x} waiting for an interrupt that nothing will raise", Halted),
        StopKind.Fault => Fail(stderr, $"guest stopped on {stop} (not delivered)", UndeliveredFault),
        StopKind.Interrupted => Fail(stderr, $"interrupted at 0x{stop.Rip:x}", Interrupted),
        _ => Fail(stderr, stop.ToString(), InternalError),
    };

    static string Detail(StopReason stop) => stop.Detail is null ? "" : ": " + stop.Detail;

    static int Fail(TextWriter stderr, string message, int code)
    {
        stderr.WriteLine($"repl: {message} (exit {code})");
        return code;
    }
}
