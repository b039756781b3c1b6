namespace Repl.GdbStub;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>
/// Z and z. Software (Z0) and hardware (Z1) breakpoints are both host-side: addresses in Cpu.Breakpoints, where a
/// run stops before executing the instruction. Nothing is written to guest memory, so the guest cannot see or
/// overwrite them and m reads show the original bytes; and the guest's own DR0-DR7 stay the guest's. The two kinds
/// are kept apart only to report swbreak or hwbreak as gdb asked for them. Watchpoints (Z2-Z4) are not offered yet:
/// the empty reply tells gdb so.
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
        if (fields.Length != 3 || !Protocol.TryParseHex(fields[1], out ulong address) || !Protocol.TryParseHex(fields[2], out _))
            return Error(Einval);
        HashSet<ulong>? set = fields[0] switch { "0" => _softwareBreakpoints, "1" => _hardwareBreakpoints, _ => null };
        if (set is null)
            return "";
        return _host.Call(m =>
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
    }

    /// <summary>The stop reason for a breakpoint at <paramref name="rip"/>: hwbreak when gdb set it as a hardware one.</summary>
    string BreakpointReason(ulong rip) => _hardwareBreakpoints.Contains(rip) && !_softwareBreakpoints.Contains(rip) ? "hwbreak:" : "swbreak:";

    void RemoveAllBreakpoints(Machine m)
    {
        foreach (ulong address in _softwareBreakpoints.Concat(_hardwareBreakpoints))
            m.Cpu.Breakpoints.Remove(address);
        _softwareBreakpoints.Clear();
        _hardwareBreakpoints.Clear();
    }
}
