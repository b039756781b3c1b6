using Repl.Shell.Debugging;

namespace Repl.Shell.Commands;

/// <summary>What an empty line after a command does, as in gdb: nothing, the same line again (stepping goes on), or
/// the command without its arguments (x and list go on after what they showed). Each command does what gdb 13 does
/// at its prompt for the command of that name: run control, break and the other setters, enable, disable, set, info,
/// disas, bt, help and source repeat; delete, load and run (reset) do not. Commands gdb lacks (msr, inject, asm, trace,
/// gdbserver) do not either: no oracle, and an Enter that writes an MSR or injects an NMI again would be a surprise.</summary>
public enum Repeat { No, Same, WithoutArguments }

/// <summary>
/// One shell command: its name, the aliases gdb users type (si for stepi), a one-line summary for 'help', the full
/// help with a usage line and an example, and the handler, which gets the text after the name. A handler reports
/// a user's mistake by throwing <see cref="CommandException"/>, which <see cref="Debugger.Execute"/> prints as one line.
/// <see cref="RunsMachine"/> marks commands that run or replace the machine, which gdb alone may do while it is served.
/// A command runs in the machine's turn (<see cref="Debugger.Exclusively"/>) unless <see cref="InTurn"/> is false: one
/// that does not touch the machine and must not wait for it (gdbserver, whose stopping waits for the stub's thread,
/// which may itself be waiting for the turn).
/// <see cref="Arguments"/> says what Tab offers for its arguments (nothing when null).
/// </summary>
public sealed record ShellCommand(string Name, string[] Aliases, string Summary, string Help, Action<Debugger, string, TextWriter> Handler,
                                  bool RunsMachine = false, Repeat Repeat = Repeat.No, bool InTurn = true, ArgumentCompleter? Arguments = null);

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

    /// <summary>What Tab offers in place of <paramref name="word"/>, an argument typed after <paramref name="commandLine"/>
    /// (the command and the arguments before it): what that command's argument there takes.</summary>
    public static IEnumerable<string> Complete(Debugger debugger, string commandLine, string word)
    {
        string line = commandLine.TrimStart();
        int end = line.IndexOfAny([' ', '\t', '/']);
        if (end < 0)
            end = line.Length;
        if (Find(line[..end]) is not { Arguments: { } arguments })
            return [];
        // x/4gx's format counts as an argument: x's completion does not look at those before it.
        return arguments(debugger, BreakpointCommands.Words(line[end..]), word);
    }

    /// <summary>Whether a line starts with a command's name or alias: the console uses it to tell commands from C#.</summary>
    public static bool IsCommand(string line)
    {
        string trimmed = line.TrimStart();
        int end = trimmed.IndexOfAny([' ', '\t', '/']);
        return Find(end < 0 ? trimmed : trimmed[..end]) is not null;
    }
}
