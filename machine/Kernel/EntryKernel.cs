using System.Text.RegularExpressions;
using Repl.Machine.Asm;

namespace Repl.Machine.Kernel;

/// <summary>
/// The entry kernel: the .S sources in machine/Kernel (embedded in this assembly), assembled by our assembler with
/// the build switches as absolute symbols (KPTI, PCID, LA57, SYSRET_CHECK, ILLUMOS; see defs.inc), written as the
/// ELF64 multiboot image that `repl image` writes and QEMU's -kernel boots, and booted the way `repl boot --image`
/// boots such a file, so both machines run the same bytes.
/// </summary>
public static class EntryKernel
{
    /// <summary>The top-level source; it includes the others.</summary>
    public const string MainFile = "kernel.S";

    /// <summary>The command line the kernel finds in its multiboot information (QEMU passes the image's file name).</summary>
    public const string ImageName = "entry.elf";

    const string ResourcePrefix = "Kernel/";

    /// <summary>Every source file's text by file name (kernel.S, defs.inc, boot.S ...).</summary>
    public static IReadOnlyDictionary<string, string> Sources { get; } = LoadSources();

    static Dictionary<string, string> LoadSources()
    {
        var assembly = typeof(EntryKernel).Assembly;
        var sources = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var reader = new StreamReader(assembly.GetManifestResourceStream(name)!);
            sources[name[ResourcePrefix.Length..]] = reader.ReadToEnd();
        }
        return sources;
    }

    /// <summary>The names a define may set: those the sources test with .ifdef or .ifndef (defs.inc's switches, and
    /// selftest.S's BENCH_GETPID). Read from the sources, so that a switch added there is known here.</summary>
    public static IReadOnlyList<string> Switches { get; } =
        [.. Sources.Values.SelectMany(text => Regex.Matches(text, @"^\s*\.ifn?def\s+(\w+)", RegexOptions.Multiline))
                   .Select(m => m.Groups[1].Value).Distinct().Order(StringComparer.Ordinal)];

    /// <summary>Assembles the kernel with <paramref name="defines"/> (NAME = VALUE, as --defsym); the result carries the
    /// diagnostics (a bad switch value is an error there). A name that is none of <see cref="Switches"/> throws
    /// <see cref="LoaderException"/>: the assembler would take it as one more symbol, and a misspelt switch
    /// (KTPI=0) would boot the kernel with the switch at its default and no word said.</summary>
    public static AssemblyResult Assemble(IReadOnlyDictionary<string, long>? defines = null)
    {
        defines ??= new Dictionary<string, long>();
        if (defines.Keys.FirstOrDefault(name => !Switches.Contains(name)) is { } unknown)
            throw new LoaderException($"entry kernel: no switch named {unknown}; its switches are {string.Join(", ", Switches)}");
        return Assembler.Assemble(Sources[MainFile], new AsmOptions
        {
            FileName = MainFile,
            Defines = defines,
            ReadFile = file => Sources.TryGetValue(file, out string? text) ? System.Text.Encoding.UTF8.GetBytes(text) : null,
        });
    }

    /// <summary>The kernel as an ELF64 file with symbols and DWARF lines. Throws <see cref="LoaderException"/> with the
    /// first error when the sources do not assemble with these defines.</summary>
    public static byte[] Elf(IReadOnlyDictionary<string, long>? defines = null, string? compilationDirectory = null) =>
        ElfWriter.Write(Checked(Assemble(defines)), compilationDirectory: compilationDirectory);

    /// <summary>Loads the kernel into <paramref name="machine"/> exactly as `repl boot --image entry.elf` loads the
    /// file <see cref="Elf"/> writes (multiboot, by the header's address fields): the machine is left at the
    /// multiboot hand-over, the kernel's first instruction. Returns what was loaded, with the kernel's symbols.</summary>
    public static LoadedImage Boot(Machine machine, IReadOnlyDictionary<string, long>? defines = null) => Boot(machine, Assemble(defines));

    /// <summary>As <see cref="Boot(Machine, IReadOnlyDictionary{string, long}?)"/>, for a result of <see cref="Assemble"/>
    /// the caller keeps (for its symbols, lines and sources).</summary>
    public static LoadedImage Boot(Machine machine, AssemblyResult result) =>
        Multiboot.Load(machine, ElfWriter.Write(Checked(result)), ImageName);

    static AssemblyResult Checked(AssemblyResult result)
    {
        if (result.Diagnostics.FirstOrDefault(d => d.Severity == DiagnosticSeverity.Error) is { } error)
            throw new LoaderException($"entry kernel: {error.Location}: {error.Message}");
        return result;
    }
}
