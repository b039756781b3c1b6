using Repl.Shell.Debugging;

namespace Repl.Shell.Commands;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>'info SUBJECT': the breakpoint table and views of the machine's system structures.</summary>
static class InfoCommands
{
    /// <summary>The subjects, each with its one-line description for 'help info' and what Tab offers after it.</summary>
    readonly record struct Subject(string Name, string Summary, Action<Debugger, string, TextWriter> Show, ArgumentCompleter? Arguments = null);

    static readonly Subject[] Subjects =
    [
        new("breakpoints", "the breakpoints, watchpoints and catchpoints", (d, _, o) => BreakpointCommands.List(d, o)),
        new("registers", "as regs", (d, args, o) => d.Execute("regs " + args, o), Completions.First(StateCommands.Groups)),
        new("symbol", "ADDR: the symbol and offset an address belongs to", Symbol, Completions.FirstValue),
        new("mode", "the operating mode, CPL, code size and paging", Mode),
        new("gdt", "the GDT's descriptors, decoded", SystemViews.Gdt),
        new("idt", "the IDT's present gates: handler, selector, type, DPL, IST", SystemViews.Idt),
        new("ldt", "the LDT's descriptors, decoded", SystemViews.Ldt),
        new("tss", "the TSS: privilege-change stacks and the IST", SystemViews.Tss),
        new("apic", "the local APIC's registers and its ISR, TMR and IRR", SystemViews.Apic),
        new("tlb", "the translations the TLB holds: page, frame, page size, PCID, rights", SystemViews.Tlb),
        new("pt", "ADDR: the page walk of a linear address, each level's entry and flags", SystemViews.PageWalk, Completions.FirstValue),
        new("frame", "[ADDR]: the pt_regs frame at RSP (or ADDR), field by field", SystemViews.Frame, Completions.FirstValue),
    ];

    public static IReadOnlyList<ShellCommand> All { get; } =
    [
        new("info", ["i"], "Show breakpoints, registers, descriptor tables, paging and more",
            "info SUBJECT [ARGS]\n" + string.Join('\n', Subjects.Select(s => $"  {s.Name,-12} {s.Summary}")) + "\nExample: info pt $rip",
            Info, Repeat: Repeat.Same, Arguments: Arguments),
    ];

    static void Info(Debugger d, string args, TextWriter o)
    {
        string[] words = BreakpointCommands.Words(args);
        if (words.Length == 0)
            throw new CommandException($"info what? {string.Join(", ", Subjects.Select(s => s.Name))}");
        var matches = Matching(words[0]);
        if (matches.Count != 1)
            throw new CommandException(matches.Count == 0
                ? $"no info subject '{words[0]}' ({string.Join(", ", Subjects.Select(s => s.Name))})"
                : $"'{words[0]}' is ambiguous: {string.Join(", ", matches.Select(s => s.Name))}");
        matches[0].Show(d, string.Join(' ', words.Skip(1)), o);
    }

    /// <summary>gdb's abbreviations: any unambiguous prefix ("info b", "info reg").</summary>
    static List<Subject> Matching(string word) =>
        Subjects.Where(s => s.Name.StartsWith(word, StringComparison.OrdinalIgnoreCase)).ToList();

    /// <summary>The subjects, then what the subject named (or abbreviated) before takes.</summary>
    static IEnumerable<string> Arguments(Debugger d, string[] before, string word) =>
        before.Length == 0 ? Completions.Matching(word, Subjects.Select(s => s.Name))
        : Matching(before[0]) is [{ Arguments: { } arguments }] ? arguments(d, before[1..], word)
        : [];

    static void Symbol(Debugger d, string args, TextWriter o)
    {
        ulong address = d.Evaluate(args);
        if (d.Symbols.Find(address) is not { } s)
        {
            o.WriteLine($"No symbol matches 0x{address:x}.");
            return;
        }
        string line = d.Symbols.LineAt(address) is { } l ? $" ({l.File}:{l.Line})" : "";
        o.WriteLine($"{s.Name}{(s.Offset == 0 ? "" : $" + {s.Offset}")} at 0x{s.SymbolAddress:x}{line}");
    }

    static void Mode(Debugger d, string args, TextWriter o)
    {
        ref CpuState s = ref d.Machine.State;
        string paging = (s.Cr0 & CpuState.Cr0PG) == 0 ? "off"
            : (s.Efer & CpuState.EferLMA) != 0 ? ((s.Cr4 & (1 << 12)) != 0 ? "5-level" : "4-level")
            : (s.Cr4 & (1 << 5)) != 0 ? "PAE" : "32-bit";
        o.WriteLine($"mode {Debugger.ModeName(s.Mode)} ({s.Mode}), {s.CodeBitness}-bit code, CPL {s.Cpl}, paging {paging}, IF {((s.Rflags & (ulong)RflagsBit.IF) != 0 ? 1 : 0)}");
    }
}
