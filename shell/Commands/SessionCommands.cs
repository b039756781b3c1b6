using Repl.Shell.Debugging;

namespace Repl.Shell.Commands;

/// <summary>The session: help, quit.</summary>
static class SessionCommands
{
    public static IReadOnlyList<ShellCommand> All { get; } =
    [
        new("help", ["h", "?"], "List the commands, or explain one: help CMD",
            "help [CMD]\nWithout CMD, one line per command; with it, its usage and an example.\nExample: help x",
            Help),
        new("quit", ["q", "exit"], "Leave the shell",
            "quit\nEnds the session (Ctrl-D does too).\nExample: quit",
            (d, args, o) => d.Quit()),
    ];

    static void Help(Debugger d, string args, TextWriter o)
    {
        string name = args.Trim();
        if (name.Length != 0)
        {
            var command = CommandRegistry.Find(name) ?? throw new CommandException($"no command '{name}' (help alone lists them)");
            string aliases = command.Aliases.Length == 0 ? "" : $" (also: {string.Join(", ", command.Aliases)})";
            o.WriteLine($"{command.Name}{aliases}: {command.Summary}");
            o.WriteLine(command.Help);
            return;
        }
        Table.Write(o, ["Command", "What it does"], d.Commands.Select(c => new[] { c.Name, c.Summary }));
        o.WriteLine("help CMD explains one command, with an example.");
    }
}
