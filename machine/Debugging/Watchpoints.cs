namespace Repl.Machine;

/// <summary>Which data accesses a watchpoint catches, as gdb's Z2 (write), Z3 (read) and Z4 (access) packets ask.</summary>
public enum WatchKind
{
    Write,
    Read,
    /// <summary>Reads and writes.</summary>
    Access,
}

/// <summary>A host-side watch on <see cref="Length"/> bytes of linear memory from <see cref="Linear"/>.</summary>
public readonly record struct Watchpoint(int Id, ulong Linear, ulong Length, WatchKind Kind)
{
    /// <summary>Whether an access of <paramref name="size"/> bytes at <paramref name="address"/> touches any watched byte
    /// (in modular arithmetic, so a range may end at the top of the address space).</summary>
    public bool Overlaps(ulong address, int size) => address - Linear < Length || Linear - address < (ulong)size;

    /// <summary>Whether an access of kind <paramref name="access"/> (a read or a write) is one this watchpoint catches.</summary>
    public bool Catches(WatchKind access) => Kind == WatchKind.Access || Kind == access;
}

/// <summary>
/// Watchpoints for debuggers (the GDB stub's Z2-Z4, the shell's watch commands): unlike the guest's DR0-DR7, which
/// System/Debug.cs emulates for the guest's own use, they are invisible to the guest, take any length and any number,
/// and stop the run instead of raising #DB. They see every data access of the processor at a linear address: the
/// instructions' operands, stack pushes and pops, and the implicit accesses of event delivery and descriptor loads
/// (descriptor tables, TSS); not instruction fetches, page-table walks, nor a debugger's own reads and writes.
/// <para>Semantics are those gdb expects from QEMU: the stop comes after the accessing instruction completes (a trap),
/// with RIP on the next instruction and a written value already in memory, and reports the first watched byte the
/// access touched. A REP string instruction stops after the iteration that hit, RIP still on it if iterations remain.
/// An access that faults, or an instruction that faults after a watched access, is not reported: the fault is
/// delivered (or caught) instead, as the instruction has not completed. An event delivery that touches a watched byte
/// stops with RIP on the handler's first instruction.</para>
/// <para>The set may be changed from another thread while the machine runs: the processor reads a snapshot.</para>
/// </summary>
public sealed class Watchpoints : IReadOnlyCollection<Watchpoint>
{
    readonly Cpu _cpu;
    readonly Lock _changing = new();
    int _lastId;

    /// <summary>The current set; replaced as a whole on every change, so the processor never sees one half-made.</summary>
    internal Watchpoint[] All { get; private set; } = [];

    internal Watchpoints(Cpu cpu) => _cpu = cpu;

    public int Count => All.Length;

    /// <summary>Watches <paramref name="length"/> bytes from linear address <paramref name="linear"/> for accesses of
    /// <paramref name="kind"/>; returns the watchpoint's id, for <see cref="Remove(int)"/>.</summary>
    public int Add(ulong linear, ulong length, WatchKind kind)
    {
        ArgumentOutOfRangeException.ThrowIfZero(length);
        if (!Enum.IsDefined(kind))
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "a watchpoint catches writes, reads or both (access)");
        lock (_changing)
        {
            var added = new Watchpoint(++_lastId, linear, length, kind);
            Replace([.. All, added]);
            return added.Id;
        }
    }

    /// <summary>Removes the watchpoint with this id; false if there is none.</summary>
    public bool Remove(int id) => RemoveFirst(w => w.Id == id);

    public void Clear()
    {
        lock (_changing)
            Replace([]);
    }

    public IEnumerator<Watchpoint> GetEnumerator() => ((IEnumerable<Watchpoint>)All).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    bool RemoveFirst(Predicate<Watchpoint> match)
    {
        lock (_changing)
        {
            int index = Array.FindIndex(All, match);
            if (index < 0)
                return false;
            Replace([.. All[..index], .. All[(index + 1)..]]);
            return true;
        }
    }

    void Replace(Watchpoint[] all)
    {
        All = all;
        _cpu.Watching = all.Length != 0;
    }
}

public sealed partial class Cpu
{
    /// <summary>Host-side watchpoints for debuggers, invisible to the guest (see <see cref="Repl.Machine.Watchpoints"/>).</summary>
    public Watchpoints Watchpoints => field ??= new Watchpoints(this);

    /// <summary>Whether any watchpoint is set: the one check the memory access path pays while none is.</summary>
    internal bool Watching;

    /// <summary>Whether the current instruction has asked to stop once it completes (a watchpoint hit, or a device):
    /// a REP string instruction then ends its chunk after the current iteration.</summary>
    internal bool StopPending => _deviceStop is not null;

    /// <summary>After a successful data access: the first watchpoint it hits asks the run to stop once the instruction
    /// completes. Later hits of the same instruction are not reported, as gdb takes one watchpoint per stop.</summary>
    void WatchAccess(ulong linear, int size, WatchKind access)
    {
        if (StopPending)
            return;
        foreach (var w in Watchpoints.All)
        {
            if (w.Catches(access) && w.Overlaps(linear, size))
            {
                ulong firstWatchedByte = w.Overlaps(linear, 1) ? linear : w.Linear;
                StopAfterInstruction(new StopReason(StopKind.Watchpoint, 0, DataAddress: firstWatchedByte, Watch: w.Kind));
                return;
            }
        }
    }

    /// <summary>An instruction that faults has not completed: a watchpoint hit by one of its earlier accesses is not
    /// reported, the fault is.</summary>
    void ForgetWatchHit()
    {
        if (_deviceStop?.Kind == StopKind.Watchpoint)
            _deviceStop = null;
    }
}
