using System.Buffers.Binary;
using System.Globalization;
using Repl.Machine.Asm;
using Repl.Machine.Kernel;
using Repl.Shell.Commands;

namespace Repl.Shell.Debugging;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>What the machine holds when no image is given.</summary>
public enum WithoutImage
{
    /// <summary>The entry kernel (<see cref="EntryKernel"/>), stopped at the multiboot hand-over: the default machine.</summary>
    EntryKernel,
    /// <summary>A long-mode machine with the small <see cref="BuiltInProgram"/>, for scripts that write their own code.</summary>
    BuiltInProgram,
}

/// <summary>How to build the debugger's machine: the vendor profile, RAM, and the image (none: see <see cref="WithoutImage"/>).</summary>
public sealed record DebuggerOptions
{
    public CpuVendor Vendor { get; init; } = CpuVendor.Intel;
    public ulong RamSize { get; init; } = MachineOptions.DefaultRamSize;
    /// <summary>An ELF or multiboot image, or a .S source our assembler builds; null for <see cref="WithoutImage"/>'s choice.</summary>
    public string? Image { get; init; }
    public WithoutImage WithoutImage { get; init; } = WithoutImage.EntryKernel;
    /// <summary>Symbols defined before a .S image's first line (as --defsym), and the entry kernel's switches.</summary>
    public IReadOnlyDictionary<string, long> Defines { get; init; } = new Dictionary<string, long>();
    /// <summary>Where the assembled entry kernel is kept between starts; null assembles it every time.</summary>
    public string? KernelCacheDirectory { get; init; } = KernelCache.DefaultDirectory;
}

/// <summary>
/// The debugger the shell's commands drive: one machine, what is known of the program in it, the numbered
/// breakpoints, watchpoints and catchpoints, and run control (step, next, finish, continue, until) that stops with
/// a <see cref="StopReason"/>. Everything runs on the caller's thread, and the runs gdb starts through gdbserver on the
/// stub's (GdbServing.cs: one at a time); <see cref="Interrupt"/> may be called from another (Ctrl-C) to stop a run.
/// </summary>
public sealed partial class Debugger
{
    readonly List<Breakpoint> _breakpoints = [];
    int _nextBreakpointId = 1;

    Debugger(DebuggerOptions options)
    {
        Options = options;
        (Machine, Program) = Build(options);
        Machine.Com1.Transmitted += OnSerial;
        Commands = CommandRegistry.All;
    }

    /// <summary>A debugger on a fresh machine holding <see cref="DebuggerOptions.Image"/>, stopped at its entry. An image
    /// that cannot be read or loaded throws <see cref="CommandException"/>, <see cref="LoaderException"/> or an
    /// <see cref="IOException"/> with a one-line message.</summary>
    public static Debugger Create(DebuggerOptions? options = null) => new(options ?? new DebuggerOptions());

    public DebuggerOptions Options { get; private set; }

    /// <summary>The machine; <c>load</c> and <c>reset</c> replace it (see <see cref="MachineChanged"/>).</summary>
    public Machine Machine { get; private set; }

    /// <summary>Each byte the guest sends to COM1, from whichever machine is current, on the thread that runs it.</summary>
    public event Action<byte>? SerialOutput;

    void OnSerial(byte value) => SerialOutput?.Invoke(value);

    /// <summary>Raised after <c>load</c> or <c>reset</c> put a new machine in <see cref="Machine"/>.</summary>
    public event Action<Machine>? MachineChanged;

    /// <summary>Symbols, line table and sources of the loaded program.</summary>
    public LoadedProgram Program { get; private set; }

    public ISymbolLookup Symbols => Program.Lookup;

    public IReadOnlyList<ShellCommand> Commands { get; }

    public IReadOnlyList<Breakpoint> Breakpoints => _breakpoints;

    /// <summary>Evaluates a breakpoint's C# condition; the scripting session provides it. Without it, conditions are refused.</summary>
    public Func<string, bool>? ConditionEvaluator { get; set; }

    /// <summary>Compiles a breakpoint's C# condition when it is set, throwing with the first error; the scripting session provides it.</summary>
    public Action<string>? ConditionCompiler { get; set; }

    /// <summary>Evaluates C# for <c>print</c>, throwing <see cref="CommandException"/> with its errors; the scripting session provides it.</summary>
    public Func<string, object?>? ExpressionEvaluator { get; set; }

    /// <summary>The values <c>print</c> showed, $1 first (its $N read them from here).</summary>
    public List<object?> ValueHistory { get; } = [];

    /// <summary>Runs a .csx file for <c>source</c>; the scripting session provides it.</summary>
    public Action<string, TextWriter>? ScriptRunner { get; set; }

    /// <summary>Set by <c>quit</c>: the interactive loop ends.</summary>
    public bool QuitRequested { get; private set; }

    /// <summary>What the last <c>x</c> showed, which the next one goes on from.</summary>
    internal MemoryCommands.Examined? LastExamined { get; set; }

    /// <summary>Where the last <c>list</c> ended, which a bare one goes on from.</summary>
    internal CodeCommands.Listed? LastListed { get; set; }

    /// <summary>Why the machine last stopped, if it has run.</summary>
    public StopReason? LastStop { get; private set; }

    /// <summary>Stops a run in progress; safe from another thread (the console's Ctrl-C handler).</summary>
    public void Interrupt() => Machine.RequestStop(StopRequester.Local);

    /// <summary>Withdraws an <see cref="Interrupt"/> that no run took up (the command or C# it was meant for ended
    /// without running the machine again), so that the next run is not stopped by it. Only the shell's own: while the
    /// shell serves gdb, a Ctrl-C from gdb that its run has not reached yet stays (<see cref="StopRequester"/>).</summary>
    public void CancelInterrupt() => Machine.CancelStopRequest(StopRequester.Local);

    /// <summary>"[long cpl0 entry_SYSCALL_64+12]": the mode, the privilege level and where RIP is.</summary>
    public string Prompt
    {
        get
        {
            ref CpuState s = ref Machine.State;
            string where = Symbols.Find(s.Rip) is { } sym ? sym.ToString() : $"0x{s.Rip:x}";
            return $"[{ModeName(s.Mode)} cpl{s.Cpl} {where}]";
        }
    }

    internal static string ModeName(CpuMode mode) => mode switch
    {
        CpuMode.Real => "real",
        CpuMode.Protected16 or CpuMode.Protected32 => "protected",
        CpuMode.Long64 => "long",
        _ => "compat",
    };

    /// <summary>
    /// Runs one command line, writing what it prints to <paramref name="output"/>. Errors are one line starting
    /// with "error:", written to <paramref name="error"/> when given (the shell's stderr when piped, as gdb's), else
    /// to the output; no input, however wrong, throws out of here. Returns false when the command failed.
    /// </summary>
    public bool Execute(string commandLine, TextWriter output, TextWriter? error = null)
    {
        error ??= output;
        string line = commandLine.Trim();
        if (line.Length == 0)
            return true;
        int space = line.IndexOfAny([' ', '\t', '/']);
        string name = space < 0 ? line : line[..space];
        string args = space < 0 ? "" : line[space..].TrimStart(' ', '\t');
        try
        {
            var command = CommandRegistry.Find(name)
                ?? throw new CommandException($"unknown command '{name}' (try 'help' for the list)");
            Dispatch(command, args, output);
            return true;
        }
        catch (HookException e)
        {
            // The user's hook stopped the run: where it stopped is worth seeing with why.
            error.WriteLine($"error: {e.Message}");
            WhereAmI(output);
            return false;
        }
        catch (Exception e) when (e is CommandException or ArgumentException or LoaderException or IOException
                                       or UnauthorizedAccessException or FormatException or OverflowException)
        {
            error.WriteLine($"error: {e.Message}");
            return false;
        }
        catch (Exception e)
        {
            // A bug in the shell or the machine: the session goes on, and the line says what to report.
            error.WriteLine($"error: internal error in '{name}' ({e.GetType().Name}: {e.Message}); please report it");
            return false;
        }
    }

    static (Machine, LoadedProgram) Build(DebuggerOptions debuggerOptions)
    {
        string? image = debuggerOptions.Image;
        var options = new MachineOptions { Vendor = debuggerOptions.Vendor, RamSize = debuggerOptions.RamSize };
        var defines = debuggerOptions.Defines;
        if (image is null)
            return debuggerOptions.WithoutImage == WithoutImage.BuiltInProgram
                ? BuiltInProgram.Load(Machine.CreateLongMode(options))
                : LoadEntryKernel(options, defines, debuggerOptions.KernelCacheDirectory);
        if (image.EndsWith(".S", StringComparison.Ordinal) || image.EndsWith(".s", StringComparison.Ordinal))
            return LoadSource(Machine.CreateLongMode(options), image, defines);
        byte[] file = File.ReadAllBytes(image);
        try
        {
            var machine = new Machine(options);
            var loaded = Multiboot.Load(machine, file, image);
            return (machine, LoadedProgram.FromImage(image, loaded, file));
        }
        catch (LoaderException) when (file.AsSpan().StartsWith("\x7f"u8 + "ELF"u8))
        {
            // An ELF without a multiboot header: a 64-bit program, started in long mode at its entry point.
            var machine = Machine.CreateLongMode(options);
            var loaded = Loader.LoadElf(machine, file);
            Start(machine, loaded.Entry);
            return (machine, LoadedProgram.FromImage(image, loaded, file));
        }
    }

    /// <summary>The entry kernel with the switches in <paramref name="defines"/>, booted as `repl boot` boots it: stopped at
    /// the multiboot hand-over, its first instruction. Its symbols and lines come from the ELF that <c>repl image</c>
    /// writes, from the cache when an earlier start left it there, so that a start from the cache and one that
    /// assembles show the same program; the sources for <c>list</c> are the embedded ones.</summary>
    static (Machine, LoadedProgram) LoadEntryKernel(MachineOptions options, IReadOnlyDictionary<string, long> defines, string? cacheDirectory)
    {
        if (KernelCache.Read(cacheDirectory, defines) is { } cached)
        {
            try
            {
                return BootEntryKernel(options, cached);
            }
            catch (LoaderException)
            {
                // Not an image we wrote (damaged on disk): assemble it afresh and replace it.
            }
        }
        byte[] elf;
        try
        {
            elf = EntryKernel.Elf(defines);
        }
        catch (LoaderException e)
        {
            // A name that is no switch, or a value its switch refuses.
            throw new CommandException($"{e.Message} (check the --define values)");
        }
        KernelCache.Write(cacheDirectory, defines, elf);
        return BootEntryKernel(options, elf);
    }

    static (Machine, LoadedProgram) BootEntryKernel(MachineOptions options, byte[] elf)
    {
        var machine = new Machine(options);
        var loaded = Multiboot.Load(machine, elf, EntryKernel.ImageName);
        var sources = EntryKernel.Sources.ToDictionary(s => s.Key, s => s.Value.Split('\n'));
        return (machine, LoadedProgram.FromImage("the entry kernel", loaded, elf, sources));
    }

    static (Machine, LoadedProgram) LoadSource(Machine machine, string path, IReadOnlyDictionary<string, long> defines)
    {
        string text = File.ReadAllText(path);
        var result = Assembler.Assemble(text, new AsmOptions
        {
            FileName = path,
            Defines = defines,
            ReadFile = included => File.Exists(included) ? File.ReadAllBytes(included) : null,
        });
        if (result.Diagnostics.FirstOrDefault(d => d.Severity == DiagnosticSeverity.Error) is { } error)
            throw new CommandException($"{error.Location}: {error.Message} (fix the source, or assemble it with 'repl asm' for all errors)");
        var loaded = Loader.LoadAssembly(machine, result);
        Start(machine, loaded.Entry);
        var sources = result.Files.Where(File.Exists).ToDictionary(f => f, File.ReadAllLines);
        sources[path] = text.Split('\n');
        return (machine, LoadedProgram.FromAssembly(path, result, sources));
    }

    /// <summary>A loaded program's first state on the long-mode machine: RIP at its entry, and RSP at the top of the free
    /// RAM, just below the page tables, as a loader leaves a usable stack, so that a program's first CALL or PUSH works
    /// without it setting up a stack (with RSP 0 it would push below address 0 and fault, then triple-fault without an
    /// IDT). A program that sets RSP itself is unaffected.</summary>
    static void Start(Machine machine, ulong entry)
    {
        machine.State.Rip = entry;
        machine.State.Gpr[(int)Gpr.Rsp] = Machine.LongModeTables(machine.Bus.Ram.Size);
    }

    /// <summary>Replaces the machine with a fresh one holding <paramref name="image"/> (null: <see cref="WithoutImage"/>'s
    /// choice). Breakpoints, watchpoints and catchpoints carry over.</summary>
    public void Load(string? image) => Load(Options with { Image = image });

    /// <summary>Replaces the machine with a fresh one built from <paramref name="options"/> (another vendor, other switches,
    /// the other machine without an image), which <c>reset</c> keeps. Breakpoints, watchpoints and catchpoints carry over.</summary>
    public void Load(DebuggerOptions options)
    {
        RefuseWhileServing("replacing the machine");
        var (machine, program) = Build(options);
        Options = options;
        Replace(machine, program);
    }

    /// <summary>A fresh machine with the same image, stopped at its first instruction.</summary>
    public void Reset() => Load(Options.Image);

    void Replace(Machine machine, LoadedProgram program)
    {
        Unsubscribe();
        Machine.Com1.Transmitted -= OnSerial;
        machine.Com1.Transmitted += OnSerial;
        Machine = machine;
        Program = program;
        LastStop = null;
        LastListed = null;
        _hooksRan = null;
        foreach (var b in _breakpoints.Where(b => b.Type == BreakpointType.Watchpoint))
            b.MachineWatchId = null;
        SyncMachine();
        MachineChanged?.Invoke(machine);
    }

    /// <summary>Makes the symbols of code assembled into the machine (<c>asm</c>, the scripts' <c>Assemble</c>) known to
    /// locations, disassembly, the prompt and completion, until <c>load</c> or <c>reset</c> brings a fresh program.</summary>
    public void AddSymbols(AssemblyResult assembled) => Program = Program.WithAssembled(assembled);

    public void Quit() => QuitRequested = true;

    // ---- locations and values ----

    /// <summary>
    /// The address a location names: an expression (<see cref="Evaluate"/>), optionally after gdb's '*', or
    /// file.S:LINE from the line table.
    /// </summary>
    public ulong ResolveLocation(string location)
    {
        string text = location.Trim().TrimStart('*');
        if (text.Length == 0)
            throw new CommandException("a location is needed: an address, a symbol, symbol+offset or file.S:line");
        int colon = text.LastIndexOf(':');
        if (colon > 0 && int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int line))
        {
            string file = text[..colon];
            return Program.AddressOfLine(file, line)
                ?? throw new CommandException($"no code at {file}:{line} in the line table of {Program.Name} (try 'list' to see line numbers)");
        }
        return Evaluate(text);
    }

    /// <summary>
    /// A value: terms joined by + and -, each a number (0x hex, or decimal), a register or a part of one ($rax, %eax,
    /// $al, or bare when no symbol has the name), a symbol's address, or gdb's *TERM: the int (4 bytes, sign-extended)
    /// at the linear address TERM, as gdb reads through an integer.
    /// </summary>
    public ulong Evaluate(string expression)
    {
        string text = expression.Replace(" ", "", StringComparison.Ordinal);
        if (text.Length == 0)
            throw new CommandException("a value is needed: a number, a register ($rsp) or a symbol");
        ulong total = 0;
        int start = 0;
        bool negative = false;
        for (int i = 1; i <= text.Length; i++)
        {
            if (i < text.Length && text[i] is not ('+' or '-'))
                continue;
            string term = text[start..i];
            if (term.StartsWith('+') || term.StartsWith('-'))
            {
                negative = term[0] == '-';
                term = term[1..];
            }
            ulong value = Term(term);
            total = negative ? total - value : total + value;
            start = i;
        }
        return total;
    }

    ulong Term(string term)
    {
        if (term.StartsWith('*'))
            return Dereference(Term(term[1..]));
        if (term.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            return ulong.TryParse(term.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong hex)
                ? hex
                : throw new CommandException($"'{term}' is not a hexadecimal number (0x and up to 16 digits 0-9, a-f)");
        if (term.Length > 0 && char.IsAsciiDigit(term[0]))
            return ulong.TryParse(term, NumberStyles.None, CultureInfo.InvariantCulture, out ulong number)
                ? number
                : throw new CommandException($"'{term}' is not a number (write hex with 0x: 0x{term})");
        if (term.StartsWith('$') || term.StartsWith('%'))
            return RegisterNames.TryParsePart(term, out var part) ? ReadRegister(part)
                : throw new CommandException($"no register named '{term}' (try $rax, $eax, $al, $rsp, $rip, $cr3)");
        if (Program.Addresses.TryGetValue(term, out ulong address))
            return address;
        if (RegisterNames.TryParsePart(term, out var register))
            return ReadRegister(register);
        throw new CommandException($"no symbol '{term}' in {Program.Name} (try 'info symbol ADDR', or give an address: 0x...)");
    }

    ulong Dereference(ulong address)
    {
        Span<byte> bytes = stackalloc byte[4];
        if (Machine.ReadVirtual(address, bytes) < bytes.Length)
            throw new CommandException($"cannot read the int at 0x{address:x} for '*': not mapped (try 'info pt 0x{address:x}')");
        return (ulong)(long)BinaryPrimitives.ReadInt32LittleEndian(bytes);
    }

    /// <summary>A register or a part of one by name (rax, eax, ah, cr3), as <c>print</c>'s $rax reads it.</summary>
    public ulong ReadRegister(string name) =>
        RegisterNames.TryParsePart(name, out var part) ? ReadRegister(part) : throw new CommandException($"no register named '{name}'");

    /// <summary>A register, or the bits of it that a part (eax, ah) names.</summary>
    public ulong ReadRegister(RegisterPart part) => part.Read(Machine.ReadRegister(part.Register));

    /// <summary>Writes a register, or only the bits of it that a part names, as gdb does; returns the value it then holds.</summary>
    public ulong WriteRegister(RegisterPart part, ulong value)
    {
        Machine.WriteRegister(part.Register, part.Merge(Machine.ReadRegister(part.Register), value));
        return ReadRegister(part);
    }

    /// <summary>Parses a count argument (N of step N); empty means <paramref name="fallback"/>.</summary>
    internal static int Count(string text, int fallback = 1)
    {
        text = text.Trim();
        if (text.Length == 0)
            return fallback;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0
            ? n
            : throw new CommandException($"'{text}' is not a count (a positive number, as in 'stepi 10')");
    }
}
