using Repl.Shell.Debugging;

namespace Repl.Shell.Commands;

/// <summary>What an empty line after a command does, as in gdb: nothing, the same line again (stepping goes on), or
/// the command without its arguments (x goes on after the memory it showed).</summary>
public enum Repeat { No, Same, WithoutArguments }

/// <summary>
/// One shell command: its name, the aliases gdb users type (si for stepi), a one-line summary for 'help', the full
/// help with a usage line and an example, and the handler, which gets the text after the name. A handler reports
/// a user's mistake by throwing <see cref="CommandException"/>, which <see cref="Debugger.Execute"/> prints as one line.
/// <see cref="RunsMachine"/> marks commands that run or replace the machine, which gdb alone may do while it is served.
/// </summary>
public sealed record ShellCommand(string Name, string[] Aliases, string Summary, string Help, Action<Debugger, string, TextWriter> Handler,
                                  bool RunsMachine = false, Repeat Repeat = Repeat.No);

/// <summary>Every command, by family; names and aliases are unique.</summary>
public static class CommandRegistry
{
    public static IReadOnlyList<ShellCommand> All { get; } =
        [.. RunCommands.All, .. BreakpointCommands.All, .. StateCommands.All, .. PrintCommands.All, .. MemoryCommands.All, .. CodeCommands.All, .. InfoCommands.All, .. SessionCommands.All];

    static readonly Dictionary<string, ShellCommand> ByName = BuildIndex();

    static Dictionary<string, ShellCommand> BuildIndex()
    {
        var index = new Dictionary<string, ShellCommand>(StringComparer.OrdinalIgnoreCase);
        foreach (var c in All)
            foreach (string name in c.Aliases.Prepend(c.Name))
                index.Add(name, c);
        return index;
    }

    /// <summary>The command a name or alias names, or null.</summary>
    public static ShellCommand? Find(string name) => ByName.GetValueOrDefault(name);

    /// <summary>The line an empty line after <paramref name="commandLine"/> runs, or null when it runs nothing.</summary>
    public static string? Repeated(string commandLine)
    {
        string line = commandLine.Trim();
        int end = line.IndexOfAny([' ', '\t', '/']);
        string name = end < 0 ? line : line[..end];
        return Find(name)?.Repeat switch
        {
            Repeat.Same => line,
            Repeat.WithoutArguments => name,
            _ => null,
        };
    }

    /// <summary>Whether a line starts with a command's name or alias: the console uses it to tell commands from C#.</summary>
    public static bool IsCommand(string line)
    {
        string trimmed = line.TrimStart();
        int end = trimmed.IndexOfAny([' ', '\t', '/']);
        return Find(end < 0 ? trimmed : trimmed[..end]) is not null;
    }
}
