namespace Repl.GdbStub;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>
/// Z and z. Software (Z0) and hardware (Z1) breakpoints are both host-side: addresses in Cpu.Breakpoints, where a
/// run stops before executing the instruction. Nothing is written to guest memory, so the guest cannot see or
/// overwrite them and m reads show the original bytes; and the guest's own DR0-DR7 stay the guest's. The two kinds
/// are kept apart only to report swbreak or hwbreak as gdb asked for them. Watchpoints (Z2 write, Z3 read, Z4
/// access) are the machine's host-side ones (Machine.Watchpoints): any length, any number, invisible to the guest;
/// the run stops after the accessing instruction, which is what gdb expects of a hardware watchpoint.
/// </summary>
public sealed partial class Session
{
    readonly HashSet<ulong> _softwareBreakpoints = [], _hardwareBreakpoints = [];

    /// <summary>Z type,addr,kind[;cond...]: conditions and commands evaluated by the target are not offered, so
    /// anything after the kind is ignored.</summary>
    string InsertBreakpoint(string arguments) => ChangeBreakpoint(arguments, insert: true);

    string RemoveBreakpoint(string arguments) => ChangeBreakpoint(arguments, insert: false);

    string ChangeBreakpoint(string arguments, bool insert)
    {
        string[] fields = arguments.Split(';')[0].Split(',');
        if (fields.Length != 3 || !Protocol.TryParseHex(fields[1], out ulong address) || !Protocol.TryParseHex(fields[2], out ulong kind))
            return Error(Einval);
        switch (fields[0])
        {
            case "0": return ChangeBreakpoint(_softwareBreakpoints, address, insert);
            case "1": return ChangeBreakpoint(_hardwareBreakpoints, address, insert);
            case "2": return ChangeWatchpoint(new Watch(address, kind, WatchKind.Write), insert);
            case "3": return ChangeWatchpoint(new Watch(address, kind, WatchKind.Read), insert);
            case "4": return ChangeWatchpoint(new Watch(address, kind, WatchKind.Access), insert);
            default: return "";
        }
    }

    string ChangeBreakpoint(HashSet<ulong> set, ulong address, bool insert) => _host.Call(m =>
    {
        if (insert)
        {
            set.Add(address);
            m.Cpu.Breakpoints.Add(address);
        }
        else
        {
            set.Remove(address);
            Disarm(m, address);
        }
        return "OK";
    });

    bool IsClientBreakpoint(ulong address) => _softwareBreakpoints.Contains(address) || _hardwareBreakpoints.Contains(address);

    /// <summary>Takes <paramref name="address"/> out of the machine's set unless a breakpoint of the other kind, or the
    /// host (the shell's breakpoints and hooks), still stops there.</summary>
    void Disarm(Machine m, ulong address)
    {
        if (!IsClientBreakpoint(address) && _options.RunHost?.BreaksAt(address) != true)
            m.Cpu.Breakpoints.Remove(address);
    }

    /// <summary>The client's breakpoint addresses, which a host keeps in the machine's set when it rebuilds it.</summary>
    internal IEnumerable<ulong> Breakpoints => _softwareBreakpoints.Concat(_hardwareBreakpoints);

    /// <summary>A watchpoint as gdb names it: for Z2-Z4 the "kind" is the length in bytes.</summary>
    readonly record struct Watch(ulong Linear, ulong Length, WatchKind Kind);

    /// <summary>The client's watchpoints with the machine's ids for them: a z removes the client's own, not a host's
    /// watchpoint on the same range.</summary>
    readonly List<(Watch Watch, int Id)> _watchpoints = [];

    string ChangeWatchpoint(Watch watch, bool insert)
    {
        if (watch.Length == 0)
            return Error(Einval);
        return _host.Call(m =>
        {
            if (insert)
                _watchpoints.Add((watch, m.Watchpoints.Add(watch.Linear, watch.Length, watch.Kind)));
            else if (_watchpoints.FindIndex(w => w.Watch == watch) is int i and >= 0)
            {
                m.Watchpoints.Remove(_watchpoints[i].Id);
                _watchpoints.RemoveAt(i);
            }
            return "OK";
        });
    }

    /// <summary>The stop reason of a watchpoint hit (GDB manual, "Stop Reply Packets"): the data address, by kind; none
    /// when the host's watchpoint stopped the run, which the client would not find among its own.</summary>
    string? WatchReason(StopReason stop) =>
        !_watchpoints.Any(w => stop.DataAddress - w.Watch.Linear < w.Watch.Length) ? null
        : $"{stop.Watch switch { WatchKind.Read => "rwatch", WatchKind.Access => "awatch", _ => "watch" }}:{stop.DataAddress ?? 0:x}";

    /// <summary>The stop reason for a breakpoint at <paramref name="rip"/>: hwbreak when gdb set it as a hardware one;
    /// none when only the host stops there: gdb takes a swbreak where it has no breakpoint for one it has just removed,
    /// and resumes without a word.</summary>
    string? BreakpointReason(ulong rip) =>
        _softwareBreakpoints.Contains(rip) ? "swbreak:" : _hardwareBreakpoints.Contains(rip) ? "hwbreak:" : null;

    /// <summary>Takes out everything this session inserted: the next client knows nothing of it.</summary>
    void RemoveAllBreakpoints(Machine m)
    {
        var addresses = Breakpoints.ToArray();
        _softwareBreakpoints.Clear();
        _hardwareBreakpoints.Clear();
        foreach (ulong address in addresses)
            Disarm(m, address);
        foreach (var (_, id) in _watchpoints)
            m.Watchpoints.Remove(id);
        _watchpoints.Clear();
    }
}
