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
            if (!_softwareBreakpoints.Contains(address) && !_hardwareBreakpoints.Contains(address))
                m.Cpu.Breakpoints.Remove(address);
        }
        return "OK";
    });

    /// <summary>A watchpoint as gdb names it: for Z2-Z4 the "kind" is the length in bytes.</summary>
    readonly record struct Watch(ulong Linear, ulong Length, WatchKind Kind);

    readonly List<Watch> _watchpoints = [];

    string ChangeWatchpoint(Watch watch, bool insert)
    {
        if (watch.Length == 0)
            return Error(Einval);
        return _host.Call(m =>
        {
            if (insert)
            {
                m.Watchpoints.Add(watch.Linear, watch.Length, watch.Kind);
                _watchpoints.Add(watch);
            }
            else if (_watchpoints.Remove(watch))
                m.Watchpoints.Remove(watch.Linear, watch.Length, watch.Kind);
            return "OK";
        });
    }

    /// <summary>The stop reason of a watchpoint hit (GDB manual, "Stop Reply Packets"): the data address, by kind.</summary>
    static string WatchReason(StopReason stop) =>
        $"{stop.Watch switch { WatchKind.Read => "rwatch", WatchKind.Access => "awatch", _ => "watch" }}:{stop.DataAddress ?? 0:x}";

    /// <summary>The stop reason for a breakpoint at <paramref name="rip"/>: hwbreak when gdb set it as a hardware one.</summary>
    string BreakpointReason(ulong rip) => _hardwareBreakpoints.Contains(rip) && !_softwareBreakpoints.Contains(rip) ? "hwbreak:" : "swbreak:";

    /// <summary>Takes out everything this session inserted: the next client knows nothing of it.</summary>
    void RemoveAllBreakpoints(Machine m)
    {
        foreach (ulong address in _softwareBreakpoints.Concat(_hardwareBreakpoints))
            m.Cpu.Breakpoints.Remove(address);
        _softwareBreakpoints.Clear();
        _hardwareBreakpoints.Clear();
        foreach (var w in _watchpoints)
            m.Watchpoints.Remove(w.Linear, w.Length, w.Kind);
        _watchpoints.Clear();
    }
}
