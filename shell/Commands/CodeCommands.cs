using System.Globalization;
using Repl.Machine.Asm;
using Repl.Shell.Debugging;

namespace Repl.Shell.Commands;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>disas, list and bt (<see cref="Backtrace"/>): the code around RIP, its source, and the calls that led there.</summary>
static class CodeCommands
{
    /// <summary>gdb's list: 10 lines, the centre line the sixth (5 before it).</summary>
    const int DefaultInstructions = 10, MaxInstructions = 4096, ListedLines = 10, ListedBefore = 5;

    /// <summary>Where the last list ended: a bare list goes on from there, as gdb's does, until the machine runs
    /// (gdb lists around the new stop then). <see cref="Retired"/> is the instruction count it was made at.</summary>
    internal readonly record struct Listed(string File, int Next, ulong Retired);

    public static IReadOnlyList<ShellCommand> All { get; } =
    [
        new("disas", ["disassemble"], "Disassemble instructions at a location (default RIP)",
            $"disas [LOC] [N]\nDisassembles N instructions (default {DefaultInstructions}) from LOC (default RIP) in the current code size, with\nsymbols and, where the line table has them, source line headings. '=>' marks RIP.\nExample: disas sum 5",
            Disassemble, Repeat: Repeat.Same, Arguments: Completions.FirstLocation),
        new("list", ["l"], "Show source lines around RIP (or a location)",
            $"list [LOC]\nShows {ListedLines} source lines around LOC (default RIP) from the loaded program's line table, {ListedBefore} before its line.\nA bare list (or an empty line) goes on with the next {ListedLines}, until the machine runs. Needs a line table: a .S\nimage, the built-in program, or an ELF with .debug_line.\nExample: list sum",
            List, Repeat: Repeat.WithoutArguments, Arguments: Completions.FirstLocation),
        new("bt", ["backtrace", "where"], "Show how RIP was reached, as far as the machine's state proves it",
            "bt\nAt an entry point (LSTAR, CSTAR, SYSENTER_EIP, an IDT gate) shows the interrupted RIP: RCX after SYSCALL, the CPU's\nframe after an interrupt or exception. In entry code, the pt_regs frame it built. At a function's first instruction,\nthe return address at RSP; then the frame-pointer chain from RBP. A return address must be canonical, mapped and\nright after a CALL; the last line says where the chain ends and why. Each frame says how it was found.\nExample: bt",
            Backtrace.Show, Repeat: Repeat.Same),
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
        ulong rip = d.Machine.State.Rip, retired = d.Machine.State.InstructionsRetired;
        string file;
        int first;
        if (args.Trim().Length == 0 && d.LastListed is { } last && last.Retired == retired)
            (file, first) = (last.File, last.Next);
        else
        {
            ulong address = args.Trim().Length == 0 ? rip : d.ResolveLocation(args);
            if (d.Symbols.LineAt(address) is not { } entry)
                throw new CommandException($"no source line for {d.Program.Describe(address)} (lines come from a .S image or an ELF's .debug_line; try 'disas')");
            (file, first) = (entry.File, Math.Max(1, entry.Line - ListedBefore));
        }
        if (!d.Program.Sources.TryGetValue(file, out var text))
            throw new CommandException($"the line comes from {file}, but the file cannot be read here");
        // Sources split at '\n': a file that ends with a newline leaves an empty last element, which is no line.
        int lines = text.Length > 0 && text[^1].Length == 0 ? text.Length - 1 : text.Length;
        if (first > lines)
            throw new CommandException($"line {first} is past the end of {file}, which has {lines} lines (list LOC to list elsewhere)");
        int end = Math.Min(lines, first + ListedLines - 1);
        var atRip = d.Symbols.LineAt(rip);
        for (int n = first; n <= end; n++)
            o.WriteLine($"{(atRip is { } r && r.Line == n && r.File == file ? "=>" : "  ")} {n.ToString(CultureInfo.InvariantCulture),4}  {text[n - 1].TrimEnd('\r')}");
        d.LastListed = new Listed(file, end + 1, retired);
    }
}
