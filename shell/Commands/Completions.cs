using Repl.Shell.Debugging;

namespace Repl.Shell.Commands;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>
/// What Tab offers for a command's argument: the words that can replace <paramref name="word"/>, the argument being
/// typed, whole (what precedes a name in it, as '$' before a register or '*' before a location, is kept).
/// <paramref name="before"/> holds the arguments already typed before it.
/// </summary>
public delegate IEnumerable<string> ArgumentCompleter(Debugger debugger, string[] before, string word);

/// <summary>The kinds of argument commands share, for their <see cref="ArgumentCompleter"/>s.</summary>
static class Completions
{
    /// <summary>Names that complete the name at the end of <paramref name="word"/>, with what precedes it kept.</summary>
    public static IEnumerable<string> Matching(string word, IEnumerable<string> names)
    {
        int start = word.Length;
        while (start > 0 && (char.IsAsciiLetterOrDigit(word[start - 1]) || word[start - 1] is '_' or '.'))
            start--;
        string lead = word[..start], tail = word[start..];
        return names.Where(n => n.StartsWith(tail, StringComparison.Ordinal)).Select(n => lead + n);
    }

    /// <summary>The first argument is one of <paramref name="names"/> (a subcommand, a group); later ones are not completed.</summary>
    public static ArgumentCompleter First(params string[] names) =>
        (_, before, word) => before.Length == 0 ? Matching(word, names) : [];

    /// <summary>A location (break, until, disas, list): the program's symbols.</summary>
    public static IEnumerable<string> Location(Debugger d, string word) => Matching(word, d.Program.Addresses.Keys);

    /// <summary>A first argument that is a location.</summary>
    public static readonly ArgumentCompleter FirstLocation = (d, before, word) => before.Length == 0 ? Location(d, word) : [];

    /// <summary>A value (x, watch, info pt): symbols and registers, which <see cref="Debugger.Evaluate"/> takes bare or after $ or %.</summary>
    public static IEnumerable<string> Value(Debugger d, string word) => Matching(word, d.Program.Addresses.Keys.Concat(Registers));

    public static readonly ArgumentCompleter AnyValue = (d, _, word) => Value(d, word);

    /// <summary>A first argument that is a value (watch ADDR [LEN]).</summary>
    public static readonly ArgumentCompleter FirstValue = (d, before, word) => before.Length == 0 ? Value(d, word) : [];

    static readonly string[] Registers = [.. Enum.GetValues<Register>().Select(RegisterNames.NameOf)];

    public static IEnumerable<string> RegisterName(string word) => Matching(word, Registers);

    /// <summary>
    /// MSR names in every spelling msr and catch msr accept (IA32_LSTAR, LSTAR, Lstar, sfmask, Linux's MSR_ prefix),
    /// for the profile's registers. They are matched whatever their case and offered in the case typed: lower case
    /// for 'l' (lstar, as help writes it), upper case for 'L', and the C# spelling (KernelGsBase) for mixed case.
    /// </summary>
    public static IEnumerable<string> MsrName(Debugger d, string word)
    {
        string linux = word.StartsWith("msr_", StringComparison.OrdinalIgnoreCase) ? word[..4] : "";
        string typed = word[linux.Length..];
        bool upper = word.Any(char.IsAsciiLetterUpper), lower = word.Any(char.IsAsciiLetterLower);
        foreach (string name in ModelSpecificRegisters.NamesFor(d.Machine.Cpu.Vendor))
        {
            bool csharp = name.Any(char.IsAsciiLetterUpper) && name.Any(char.IsAsciiLetterLower);
            if (csharp == (upper && lower) && name.StartsWith(typed, StringComparison.OrdinalIgnoreCase))
                yield return linux + (csharp ? name : upper ? name.ToUpperInvariant() : name.ToLowerInvariant());
        }
    }

    /// <summary>The numbers of the breakpoints, watchpoints and catchpoints (delete, enable, disable).</summary>
    public static readonly ArgumentCompleter BreakpointNumbers = (d, _, word) => Matching(word, d.Breakpoints.Select(b => b.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>A file (load, source): the entries of the directory the word names so far, directories ending in '/'.
    /// Dot files only when the name typed starts with a dot, as shells do.</summary>
    public static readonly ArgumentCompleter FileName = (_, before, word) => before.Length == 0 ? Files(word) : [];

    static IEnumerable<string> Files(string word)
    {
        int slash = word.LastIndexOf('/');
        string directory = word[..(slash + 1)], name = word[(slash + 1)..];
        try
        {
            return new DirectoryInfo(directory.Length == 0 ? "." : directory).EnumerateFileSystemInfos()
                .Where(e => e.Name.StartsWith(name, StringComparison.Ordinal) && (name.StartsWith('.') || !e.Name.StartsWith('.')))
                .Select(e => directory + e.Name + (e is DirectoryInfo ? "/" : ""))
                .ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException or ArgumentException)
        {
            return [];
        }
    }
}
