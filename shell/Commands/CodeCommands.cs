using System.Globalization;
using Repl.Machine.Asm;
using Repl.Shell.Debugging;

namespace Repl.Shell.Commands;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>disas, list and bt (<see cref="Backtrace"/>): the code around RIP, its source, and the calls that led there.</summary>
static class CodeCommands
{
    const int DefaultInstructions = 10, MaxInstructions = 4096, ListContext = 5;

    public static IReadOnlyList<ShellCommand> All { get; } =
    [
        new("disas", ["disassemble"], "Disassemble instructions at a location (default RIP)",
            $"disas [LOC] [N]\nDisassembles N instructions (default {DefaultInstructions}) from LOC (default RIP) in the current code size, with\nsymbols and, where the line table has them, source line headings. '=>' marks RIP.\nExample: disas sum 5",
            Disassemble, Arguments: Completions.FirstLocation),
        new("list", ["l"], "Show source lines around RIP (or a location)",
            $"list [LOC]\nShows the source lines around LOC (default RIP) from the loaded program's line table, {ListContext} on each side.\nNeeds a line table: a .S image, the built-in program, or an ELF with .debug_line.\nExample: list sum",
            List, Arguments: Completions.FirstLocation),
        new("bt", ["backtrace", "where"], "Show how RIP was reached, as far as the machine's state proves it",
            "bt\nAt an entry point (LSTAR, CSTAR, SYSENTER_EIP, an IDT gate) shows the interrupted RIP: RCX after SYSCALL, the CPU's\nframe after an interrupt or exception. In entry code, the pt_regs frame it built. At a function's first instruction,\nthe return address at RSP; then the frame-pointer chain from RBP. A return address must be canonical, mapped and\nright after a CALL; the last line says where the chain ends and why. Each frame says how it was found.\nExample: bt",
            Backtrace.Show),
    ];

    static void Disassemble(Debugger d, string args, TextWriter o)
    {
        string[] words = BreakpointCommands.Words(args);
        if (words.Length > 2)
            throw new CommandException("disas takes a location and a count, as in: disas sum 5");
        ulong rip = d.Machine.State.Rip;
        ulong start = words.Length > 0 ? d.ResolveLocation(words[0]) : rip;
        int count = words.Length > 1 ? Debugger.Count(words[1]) : DefaultInstructions;
        if (count > MaxInstructions)
            throw new CommandException($"disas shows at most {MaxInstructions} instructions at a time");
        var lines = Disassembler.Disassemble(d.Machine, start, count, symbols: d.Symbols);
        var marked = Disassembler.Listing(lines).ToList();
        // Listing's lines are its instructions with "file:line" headings between them: mark the one at RIP.
        int instruction = 0;
        foreach (string line in marked)
        {
            bool isInstruction = line.StartsWith("0x", StringComparison.Ordinal);
            bool atRip = isInstruction && instruction < lines.Count && lines[instruction].Address == rip && lines[instruction].Kind != DisassemblyKind.Unreadable;
            o.WriteLine((isInstruction ? atRip ? "=> " : "   " : "") + line);
            if (isInstruction)
                instruction++;
        }
    }

    static void List(Debugger d, string args, TextWriter o)
    {
        ulong address = args.Trim().Length == 0 ? d.Machine.State.Rip : d.ResolveLocation(args);
        if (d.Symbols.LineAt(address) is not { } entry)
            throw new CommandException($"no source line for {d.Program.Describe(address)} (lines come from a .S image or an ELF's .debug_line; try 'disas')");
        if (!d.Program.Sources.TryGetValue(entry.File, out var text))
            throw new CommandException($"{entry.File}:{entry.Line} is where it comes from, but the file cannot be read here");
        bool atRip = address == d.Machine.State.Rip;
        int first = Math.Max(1, entry.Line - ListContext), last = Math.Min(text.Length, entry.Line + ListContext);
        for (int n = first; n <= last; n++)
            o.WriteLine($"{(atRip && n == entry.Line ? "=>" : "  ")} {n.ToString(CultureInfo.InvariantCulture),4}  {text[n - 1].TrimEnd('\r')}");
    }
}
