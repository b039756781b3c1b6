using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Repl.Machine.Asm;

namespace Repl.Shell;

/// <summary>
/// <c>repl asm</c>: assembles a .S file as GNU as and ld with our layout rule would, and writes an ELF executable
/// with symbols and DWARF line info (for gdb, or <c>repl boot</c>), or with --binary the flat image objcopy -O
/// binary would give. Diagnostics go to stderr in GNU style; the exit status is 0, 1 for errors in the source,
/// or <see cref="Boot.BadInput"/> when the file cannot be read or written or the command line is wrong.
/// </summary>
static class Asm
{
    public const int SourceErrors = 1;

    /// <summary>Assembles with <paramref name="options"/> (origin, --defsym, -I); the file name is the source's.</summary>
    public static int Run(string sourcePath, string? outputPath, AsmOptions options, bool binary, TextWriter stdout, TextWriter stderr)
    {
        string text;
        try
        {
            text = File.ReadAllText(sourcePath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(stderr, $"cannot read {sourcePath}: {e.Message}");
        }

        var result = Assembler.Assemble(text, options with { FileName = sourcePath });
        foreach (var line in result.Printed)
            stdout.WriteLine(line);
        foreach (var d in result.Diagnostics)
            stderr.Write(d.ToString());
        if (!result.Success)
            return SourceErrors;

        outputPath ??= DefaultOutput(sourcePath, binary ? ".bin" : ".elf");
        try
        {
            File.WriteAllBytes(outputPath, binary ? result.Image() : ElfWriter.Write(result));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(stderr, $"cannot write {outputPath}: {e.Message}");
        }
        // The bytes the sections carry; .bss occupies memory but adds none.
        long bytes = result.Sections.Sum(s => (long)s.Bytes.Length);
        stdout.WriteLine($"wrote {outputPath}: {bytes} bytes of code/data in {result.Sections.Count} sections, {result.Symbols.Count} symbols");
        return 0;
    }

    /// <summary>FILE.elf (or .bin) next to FILE.S; out.elf there when the source itself has that extension.</summary>
    static string DefaultOutput(string sourcePath, string extension)
    {
        string path = Path.ChangeExtension(sourcePath, extension);
        return path == sourcePath ? Path.Combine(Path.GetDirectoryName(sourcePath) ?? "", "out" + extension) : path;
    }

    static int Fail(TextWriter stderr, string message)
    {
        stderr.WriteLine($"repl: {message}");
        return Boot.BadInput;
    }

    /// <summary>--origin: an address in hex (0x...) or decimal.</summary>
    public static ulong? ParseOrigin(ArgumentResult argument)
    {
        string text = argument.Tokens[0].Value;
        if (Number(text) is { } value)
            return value;
        argument.AddError($"--origin {text}: give an address in hex (0x100000) or decimal");
        return null;
    }

    /// <summary>A repeatable NAME=VALUE option (--defsym, --define) parsed by <see cref="ParseDefines"/>; empty when not given.</summary>
    public static Option<IReadOnlyDictionary<string, long>> DefinesOption(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "NAME=VALUE",
        Arity = ArgumentArity.ZeroOrMore,
        AllowMultipleArgumentsPerToken = false,
        DefaultValueFactory = _ => new Dictionary<string, long>(),
        CustomParser = ParseDefines,
    };

    /// <summary>Every --defsym NAME=VALUE, as GNU as takes them: VALUE in hex (0x...) or decimal, possibly negative.</summary>
    public static IReadOnlyDictionary<string, long> ParseDefines(ArgumentResult argument)
    {
        var defines = new Dictionary<string, long>();
        // --defsym for repl asm, --define for the shell: the message names the option the user wrote.
        string option = argument.Parent is OptionResult given ? given.Option.Name : "--defsym";
        foreach (var token in argument.Tokens)
        {
            if (ParseDefine(token.Value) is not var (name, value))
            {
                argument.AddError($"{option} {token.Value}: {DefineHint}");
                continue;
            }
            defines[name] = value;
        }
        return defines;
    }

    public const string DefineHint = "write NAME=VALUE, the value in hex (0x10) or decimal";

    /// <summary>One NAME=VALUE, VALUE in hex (0x...) or decimal, possibly negative; null when it is not that.</summary>
    public static (string Name, long Value)? ParseDefine(string text)
    {
        int equals = text.IndexOf('=');
        string name = equals < 0 ? "" : text[..equals], value = text[(equals + 1)..];
        bool negative = value.StartsWith('-');
        if (name.Length == 0 || Number(negative ? value[1..] : value) is not { } magnitude || magnitude > long.MaxValue)
            return null;
        return (name, negative ? -(long)magnitude : (long)magnitude);
    }

    static ulong? Number(string text) =>
        text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong hex) ? hex : null
            : ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong dec) ? dec : null;
}
