using System.Net;
using Repl.Shell.Debugging;

namespace Repl.Shell.Commands;

/// <summary>The session: help, load, reset, gdbserver, source, quit.</summary>
static class SessionCommands
{
    public static IReadOnlyList<ShellCommand> All { get; } =
    [
        new("help", ["h", "?"], "List the commands, or explain one: help CMD",
            "help [CMD]\nWithout CMD, one line per command; with it, its usage and an example.\nExample: help x",
            Help, Repeat: Repeat.Same, Arguments: (_, before, word) => before.Length == 0 ? Completions.Matching(word, CommandRegistry.All.SelectMany(c => c.Aliases.Prepend(c.Name))) : []),
        new("load", [], "Load an image into a fresh machine: ELF, multiboot, or a .S source",
            "load IMAGE\nBuilds a new machine holding IMAGE, stopped at its entry: a multiboot kernel (in protected mode, as its\nloader leaves it), a 64-bit ELF (in long mode at its entry point), or a .S file our assembler builds (long mode,\nwith symbols and source lines). ELF and .S programs start with RSP at the top of free RAM (below the page tables in\nRAM's last 8 KiB), so CALL and PUSH work at once. Breakpoints carry over.\nExample: load kernel.elf",
            (d, args, o) =>
            {
                string image = args.Trim().Trim('"');
                if (image.Length == 0)
                    throw new CommandException("load what? give an image file, as in: load kernel.elf");
                d.Load(image);
                o.WriteLine($"loaded {d.Program.Name}: {d.Program.Addresses.Count} symbols, {d.Program.Lines.Count} line entries");
                d.WhereAmI(o);
            }, RunsMachine: true, Arguments: Completions.FileName),
        new("reset", [], "Start over: a fresh machine with the same image",
            "reset\nRebuilds the machine from its image (or the entry kernel), stopped at the first instruction.\nBreakpoints carry over.\nExample: reset",
            (d, args, o) =>
            {
                d.Reset();
                d.WhereAmI(o);
            }, RunsMachine: true),
        new("gdbserver", [], "Serve this machine to gdb while the shell stays usable",
            "gdbserver [ADDRESS:PORT | stop]\nListens for gdb or lldb (default 127.0.0.1:1234; other than loopback only when given). While it serves, gdb runs\nthe machine: run commands here are refused, and so are C#'s Continue(), Step()..., Reset() and Load(); other\ncommands and C# wait while gdb's run lasts (Ctrl-C stops it), and gdb's 'monitor CMD' runs this shell's commands.\ngdb's runs are the shell's runs too: the shell's breakpoints (when their C# condition holds), watchpoints and\ncatchpoints stop them with SIGTRAP and a line on gdb's console ('repl: Breakpoint 2, ...'), and the hooks of On\nrun in them; one that throws stops the run, and gdb shows why. Hooks and conditions run on the stub's thread,\nnever at the same time as C# typed here. 'gdbserver stop' ends it.\nExample: gdbserver, then: gdb -ex 'target remote 127.0.0.1:1234'",
            GdbServer, InTurn: false, Arguments: Completions.First("stop")),
        new("source", [], "Run the commands in a file (a .csx file goes to the C# session)",
            "source FILE\nRuns FILE's lines as commands, stopping at the first that fails; blank lines and lines starting with #\nare skipped. A .csx file is run by the C# session instead.\nExample: source breakpoints.cmd",
            Source, Repeat: Repeat.Same, Arguments: Completions.FileName),
        new("quit", ["q", "exit"], "Leave the shell",
            "quit\nEnds the session (Ctrl-D does too).\nExample: quit",
            (d, args, o) =>
            {
                d.StopServing();
                d.Quit();
            }),
    ];

    static void GdbServer(Debugger d, string args, TextWriter o)
    {
        string what = args.Trim();
        if (what == "stop")
        {
            if (d.Serving is null)
                throw new CommandException("gdbserver is not running (start it with: gdbserver 127.0.0.1:1234)");
            d.StopServing();
            o.WriteLine("gdbserver stopped; the shell runs the machine again");
            return;
        }
        IPEndPoint? endPoint = null;
        if (what.Length != 0 && !(what.Contains(':') && IPEndPoint.TryParse(what, out endPoint)))
            throw new CommandException($"'{what}' is not ADDRESS:PORT with an IP address (try: gdbserver 127.0.0.1:1234)");
        var at = d.ServeGdb(endPoint);
        o.WriteLine($"gdbserver listening on {at}; connect with: gdb -ex 'target remote {at}' (shell run commands wait for 'gdbserver stop')");
    }

    static void Source(Debugger d, string args, TextWriter o)
    {
        string path = args.Trim().Trim('"');
        if (path.Length == 0)
            throw new CommandException("source what? give a file of commands, as in: source setup.cmd");
        if (path.EndsWith(".csx", StringComparison.OrdinalIgnoreCase))
        {
            var run = d.ScriptRunner ?? throw new CommandException($"{path} is C#, and no C# session is running here (run it with 'repl run {path}')");
            run(path, o);
            return;
        }
        string[] lines = File.ReadAllLines(path);
        for (int n = 0; n < lines.Length && !d.QuitRequested; n++)
        {
            string line = lines[n].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
                continue;
            var captured = new StringWriter();
            bool ok = d.Execute(line, captured);
            o.Write(captured.ToString());
            if (!ok)
                throw new CommandException($"{path}:{n + 1}: '{line}' failed; the rest of the file was not run");
        }
    }

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
