using System.Globalization;
using Repl.Shell.Debugging;

namespace Repl.Shell.Commands;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>break, tbreak, watch, rwatch, awatch, catch, delete, disable, enable (and the table 'info breakpoints' shows).</summary>
static class BreakpointCommands
{
    const string LocationHelp = "LOC is an address (0x100000), a symbol, symbol+offset (sum+4) or file.S:line.";

    public static IReadOnlyList<ShellCommand> All { get; } =
    [
        new("break", ["b", "br"], "Set a breakpoint, optionally with a C# condition",
            $"break LOC [if CONDITION]\nStops before the instruction at LOC executes. {LocationHelp}\nCONDITION is C# evaluated at each hit; the machine stops only when it is true.\nExample: break entry_SYSCALL_64 if Cpu.Rax == 60",
            (d, args, o) => SetBreakpoint(d, args, o, temporary: false), Repeat: Repeat.Same, Arguments: Completions.FirstLocation),
        new("tbreak", [], "Set a temporary breakpoint, deleted when it stops the machine",
            $"tbreak LOC [if CONDITION]\nAs break, once. {LocationHelp}\nExample: tbreak sum",
            (d, args, o) => SetBreakpoint(d, args, o, temporary: true), Repeat: Repeat.Same, Arguments: Completions.FirstLocation),
        new("watch", [], "Stop after an instruction writes memory",
            "watch ADDR [LEN]\nStops after an instruction writes any of LEN bytes (default 8) at linear address ADDR.\nExample: watch result 8",
            (d, args, o) => SetWatchpoint(d, args, o, WatchKind.Write), Repeat: Repeat.Same, Arguments: Completions.FirstValue),
        new("rwatch", [], "Stop after an instruction reads memory",
            "rwatch ADDR [LEN]\nStops after an instruction reads any of LEN bytes (default 8) at ADDR.\nExample: rwatch $rsp 8",
            (d, args, o) => SetWatchpoint(d, args, o, WatchKind.Read), Repeat: Repeat.Same, Arguments: Completions.FirstValue),
        new("awatch", [], "Stop after an instruction reads or writes memory",
            "awatch ADDR [LEN]\nStops after an instruction reads or writes any of LEN bytes (default 8) at ADDR.\nExample: awatch 0x200000 4",
            (d, args, o) => SetWatchpoint(d, args, o, WatchKind.Access), Repeat: Repeat.Same, Arguments: Completions.FirstValue),
        new("catch", [], "Stop on a machine event: exception, syscall, cr3, msr, modeswitch",
            "catch exception [VECTOR] | syscall [NR] | cr3 | msr [INDEX] | modeswitch\nStops after the event: an exception delivered (any, or vector VECTOR, e.g. 14 or pf), a SYSCALL or SYSENTER\n(any, or with RAX = NR; NR may be a name the program defines as __NR_name, e.g. getpid), a CR3 write, a guest WRMSR (any, or to INDEX/name), a change of operating mode.\nExample: catch exception 14",
            SetCatchpoint, Repeat: Repeat.Same, Arguments: CatchArguments),
        new("delete", ["d"], "Delete breakpoints (all, or the numbers given)",
            "delete [N...]\nDeletes the numbered breakpoints, watchpoints and catchpoints; without numbers, all of them.\nExample: delete 2 3",
            (d, args, o) =>
            {
                if (args.Trim().Length == 0)
                    d.DeleteAll();
                foreach (int id in Numbers(args))
                    d.Delete(id);
            }, Arguments: Completions.BreakpointNumbers),
        new("disable", [], "Disable breakpoints (all, or the numbers given)",
            "disable [N...]\nKeeps the breakpoints but stops no more on them until enabled.\nExample: disable 1",
            (d, args, o) => Enable(d, args, false), Repeat: Repeat.Same, Arguments: Completions.BreakpointNumbers),
        new("enable", [], "Enable breakpoints (all, or the numbers given)",
            "enable [N...]\nStops on the breakpoints again.\nExample: enable 1",
            (d, args, o) => Enable(d, args, true), Repeat: Repeat.Same, Arguments: Completions.BreakpointNumbers),
    ];

    static void SetBreakpoint(Debugger d, string args, TextWriter o, bool temporary)
    {
        int at = args.IndexOf(" if ", StringComparison.Ordinal);
        string location = at < 0 ? args : args[..at];
        string? condition = at < 0 ? null : args[(at + 4)..].Trim();
        if (condition is "")
            throw new CommandException("'if' needs a C# condition after it, as in: break sum if Cpu.Rdi == 3");
        var b = d.Break(location, condition, temporary);
        o.WriteLine($"{(temporary ? "Temporary breakpoint" : "Breakpoint")} {b.Id} at {b.Describe(d.Program)}");
    }

    static void SetWatchpoint(Debugger d, string args, TextWriter o, WatchKind kind)
    {
        string[] words = Words(args);
        if (words.Length is 0 or > 2)
            throw new CommandException("give an address and optionally a length, as in: watch 0x200000 8");
        ulong length = words.Length == 2 ? d.Evaluate(words[1]) : 8;
        var b = d.Watch(d.Evaluate(words[0]), length, kind);
        o.WriteLine($"{char.ToUpperInvariant(b.TypeName[0])}{b.TypeName[1..]} {b.Id}: {b.Describe(d.Program)}");
    }

    static void SetCatchpoint(Debugger d, string args, TextWriter o)
    {
        string[] words = Words(args);
        if (words.Length == 0)
            throw new CommandException("catch what? exception [VECTOR], syscall [NR], cr3, msr [INDEX] or modeswitch");
        string? filter = words.Length > 1 ? words[1] : null;
        var b = words[0].ToLowerInvariant() switch
        {
            "exception" => d.Catch(CatchKind.Exception, filter is null ? null : VectorNumber(d, filter)),
            "syscall" => d.Catch(CatchKind.Syscall, filter is null ? null : SyscallNumber(d, filter)),
            "cr3" => d.Catch(CatchKind.Cr3),
            "msr" => d.Catch(CatchKind.Msr, filter is null ? null : MsrIndex(d, filter)),
            "modeswitch" => d.Catch(CatchKind.ModeSwitch),
            _ => throw new CommandException($"cannot catch '{words[0]}': exception [VECTOR], syscall [NR], cr3, msr [INDEX] or modeswitch"),
        };
        o.WriteLine($"Catchpoint {b.Id} ({b.Describe(d.Program)})");
    }

    /// <summary>The events catch takes, then a vector name after exception and an MSR name after msr.</summary>
    static IEnumerable<string> CatchArguments(Debugger d, string[] before, string word) => before switch
    {
        [] => Completions.Matching(word, ["exception", "syscall", "cr3", "msr", "modeswitch"]),
        ["exception"] => Completions.Matching(word, Enum.GetNames<Vector>().Select(n => n.ToLowerInvariant())),
        ["msr"] => Completions.MsrName(d, word),
        _ => [],
    };

    /// <summary>A vector by number or by its mnemonic (pf, #GP, nmi).</summary>
    static ulong VectorNumber(Debugger d, string text)
    {
        string name = text.TrimStart('#');
        if (Enum.TryParse<Vector>(name, ignoreCase: true, out var v) && name.Length != 0 && !char.IsAsciiDigit(name[0]))
            return (ulong)v;
        if (name.Length == 0 || !char.IsAsciiDigit(name[0]) && name[0] is not ('$' or '%'))
            throw new CommandException($"no exception named '{text}' (a vector 0-255, or one of {string.Join(' ', Enum.GetNames<Vector>().Select(n => n.ToLowerInvariant()))})");
        ulong vector = d.Evaluate(text);
        return vector <= byte.MaxValue ? vector : throw new CommandException($"vector {vector} is out of range (0-255, or a name: pf, gp, ud)");
    }

    /// <summary>A system call by number, or by name when the program defines __NR_name as Linux's headers do (the
    /// entry kernel's defs.inc: catch syscall getpid).</summary>
    static ulong SyscallNumber(Debugger d, string text)
    {
        if (char.IsAsciiDigit(text[0]) || text[0] is '$' or '%')
            return d.Evaluate(text);
        if (d.Program.Addresses.TryGetValue("__NR_" + text, out ulong number))
            return number;
        var known = d.Program.Addresses.Keys.Where(k => k.StartsWith("__NR_", StringComparison.Ordinal) && !k.StartsWith("__NR_compat_", StringComparison.Ordinal))
            .Select(k => k[5..]).Order(StringComparer.Ordinal).ToList();
        throw new CommandException(known.Count == 0
            ? $"no system call named '{text}': {d.Program.Name} defines no __NR_ names (give the number, as in: catch syscall 39)"
            : $"no system call named '{text}' in {d.Program.Name} (a number, or one of {string.Join(' ', known)})");
    }

    /// <summary>An MSR index by number or by name (lstar, IA32_EFER).</summary>
    internal static ulong MsrIndex(Debugger d, string text)
    {
        if (ModelSpecificRegisters.TryParse(text, out var msr))
            return (uint)msr;
        return char.IsAsciiDigit(text[0]) || text[0] is '$' or '%' ? d.Evaluate(text)
            : throw new CommandException($"no MSR named '{text}' (an index such as 0xc0000082, or a name: 'msr' alone lists them)");
    }

    static void Enable(Debugger d, string args, bool enabled)
    {
        var ids = args.Trim().Length == 0 ? d.Breakpoints.Select(b => b.Id).ToList() : Numbers(args);
        foreach (int id in ids)
            d.Enable(id, enabled);
    }

    static List<int> Numbers(string args) =>
        Words(args).Select(w => int.TryParse(w, NumberStyles.None, CultureInfo.InvariantCulture, out int n)
            ? n
            : throw new CommandException($"'{w}' is not a breakpoint number (see 'info breakpoints')")).ToList();

    internal static string[] Words(string args) => args.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);

    /// <summary>gdb's table: Num, Type, Disp, Enb, What, and how many times each was hit.</summary>
    internal static void List(Debugger d, TextWriter o)
    {
        if (d.Breakpoints.Count == 0)
        {
            o.WriteLine("No breakpoints, watchpoints or catchpoints.");
            return;
        }
        var rows = d.Breakpoints.Select(b => new[]
        {
            b.Id.ToString(CultureInfo.InvariantCulture), b.TypeName, b.Temporary ? "del" : "keep", b.Enabled ? "y" : "n",
            b.Describe(d.Program), b.Hits == 0 ? "" : $"hit {b.Hits} time{(b.Hits == 1 ? "" : "s")}",
        });
        Table.Write(o, ["Num", "Type", "Disp", "Enb", "What", "Hits"], rows);
    }
}
