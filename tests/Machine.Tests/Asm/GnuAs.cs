using System.Text;
using Repl.Qemu;

namespace Repl.Machine.Tests.Asm;

/// <summary>
/// The assembler's oracle: GNU as 2.40 followed by GNU ld, laying the sections out the way our assembler's rule
/// does (the given order from the origin, each at its own alignment), and the loaded bytes as objcopy -O binary
/// writes them.
/// </summary>
public static class GnuAs
{
    /// <summary>Why GNU as tests cannot run here, or null when as, ld and objcopy are all installed.</summary>
    public static readonly string? Missing = QemuImage.Missing("as", "ld", "objcopy");

    /// <summary>
    /// Assembles <paramref name="source"/> with as --64, links it with the sections in <paramref name="sections"/>
    /// order from <paramref name="origin"/>, and returns the image bytes. Throws InvalidOperationException with
    /// GNU as's message when it rejects the source.
    /// </summary>
    public static byte[] Image(string source, IEnumerable<string> sections, ulong origin, params string[] defsyms)
    {
        string dir = Directory.CreateTempSubdirectory("repl-gas-").FullName;
        try
        {
            string s = Path.Combine(dir, "in.S"), o = Path.Combine(dir, "in.o"), elf = Path.Combine(dir, "out.elf"),
                   ld = Path.Combine(dir, "layout.ld"), bin = Path.Combine(dir, "out.bin");
            File.WriteAllText(s, source);
            QemuImage.Tool("as", ["--64", .. defsyms.SelectMany(d => new[] { "--defsym", d }), "-o", o, s]);
            File.WriteAllText(ld, LinkerScript(sections, origin));
            QemuImage.Tool("ld", ["-m", "elf_x86_64", "-T", ld, "--build-id=none", "--no-warn-rwx-segments", "-o", elf, o]);
            QemuImage.Tool("objcopy", ["-O", "binary", elf, bin]);
            return File.ReadAllBytes(bin);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The linker script equivalent to our layout rule for these sections.</summary>
    public static string LinkerScript(IEnumerable<string> sections, ulong origin)
    {
        var script = new StringBuilder();
        script.AppendLine("SECTIONS").AppendLine("{").AppendLine($"  . = 0x{origin:x};");
        foreach (var name in sections)
            script.AppendLine($"  {name} : {{ *({name}) }}");
        script.AppendLine("  /DISCARD/ : { *(.note.GNU-stack) *(.comment) }").AppendLine("}");
        return script.ToString();
    }
}
