namespace Repl.Shell.Debugging;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>The three things gdb numbers in one list: code breakpoints, watchpoints and catchpoints.</summary>
public enum BreakpointType { Breakpoint, Watchpoint, Catchpoint }

/// <summary>The machine events a catchpoint can stop on (gdb's "catch", with x86 system events for kernel code).</summary>
public enum CatchKind { Exception, Syscall, Cr3, Msr, ModeSwitch }

/// <summary>
/// One numbered entry of <c>info breakpoints</c>. A code breakpoint stops before the instruction at
/// <see cref="Address"/> executes (when its C# <see cref="Condition"/>, if any, holds); a watchpoint stops after an
/// instruction that accessed [<see cref="Address"/>, +<see cref="Length"/>); a catchpoint stops after the machine event
/// <see cref="Catch"/>, filtered by <see cref="Filter"/> (a vector, a system call number, an MSR index).
/// </summary>
public sealed class Breakpoint
{
    public required int Id { get; init; }
    public required BreakpointType Type { get; init; }
    public bool Enabled { get; set; } = true;
    /// <summary>A tbreak: deleted when it stops the machine.</summary>
    public bool Temporary { get; init; }
    public int Hits { get; set; }
    public ulong Address { get; init; }
    public string? Condition { get; init; }
    public ulong Length { get; init; }
    public WatchKind Watch { get; init; }
    public CatchKind Catch { get; init; }
    public ulong? Filter { get; init; }

    /// <summary>The program whose symbols name the place, when the breakpoint was set (C# shows it with <see cref="ToString"/>).</summary>
    internal LoadedProgram? Program { get; set; }

    /// <summary>The machine's id for an enabled watchpoint.</summary>
    internal int? MachineWatchId { get; set; }

    /// <summary>gdb's Type column: "breakpoint", "hw watchpoint", "read watchpoint", "acc watchpoint", "catchpoint".</summary>
    public string TypeName => Type switch
    {
        BreakpointType.Breakpoint => "breakpoint",
        BreakpointType.Watchpoint => Watch switch { WatchKind.Read => "read watchpoint", WatchKind.Access => "acc watchpoint", _ => "hw watchpoint" },
        _ => "catchpoint",
    };

    /// <summary>What stops: the place, the watched range, or the caught event.</summary>
    public string Describe(LoadedProgram? program) => Type switch
    {
        BreakpointType.Breakpoint => (program?.Describe(Address) ?? $"0x{Address:x}") + (Condition is null ? "" : $" if {Condition}"),
        BreakpointType.Watchpoint => $"0x{Address:x} len {Length}",
        _ => Catch switch
        {
            CatchKind.Exception => Filter is { } v ? $"exception {VectorNames.Mnemonic((Vector)v)} ({v})" : "exception (any)",
            CatchKind.Syscall => Filter is { } nr ? $"syscall {nr}" : "syscall (any)",
            CatchKind.Cr3 => "cr3 write",
            CatchKind.Msr => Filter is { } index ? $"msr 0x{index:x} write" : "msr write (any)",
            _ => "mode switch",
        },
    };

    /// <summary>As C# shows it, in the words the shell's break, watch and catch answer with: "breakpoint 1 at 0x... &lt;entry_SYSCALL_64&gt;".</summary>
    public override string ToString() =>
        $"{TypeName} {Id}{(Type == BreakpointType.Breakpoint ? " at " : ": ")}{Describe(Program)}"
        + (Enabled ? "" : ", disabled") + (Hits == 0 ? "" : $", hit {Hits} time{(Hits == 1 ? "" : "s")}");
}
