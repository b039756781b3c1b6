using System.Text;

namespace Repl.GdbStub;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>
/// qRcmd (gdb's "monitor" command): the stub's own commands, then whatever <see cref="StubOptions.Monitor"/> knows
/// (the shell's). The reply is the output, hex-encoded; gdb prints it.
/// </summary>
public sealed partial class Session
{
    const string MonitorHelp = """
        monitor commands of the repl stub:
          help          this list
          phys          memory reads and writes (x, print *p, set var) use physical addresses
          virt          ... use linear addresses through the current CR3 (the default)
          cr3 VALUE     ... use linear addresses through the page tables at VALUE (e.g. the kernel's, under KPTI)
          info mode     the operating mode, CPL, code size and paging
          info regs     the system registers: segment caches, GDTR/IDTR/LDTR/TR, control and debug registers, MSRs

        """;

    string MonitorCommand(string packet)
    {
        string? command = packet.Length > "qRcmd,".Length ? Protocol.TryDecodeHex(packet["qRcmd,".Length..]) is { } bytes ? Encoding.UTF8.GetString(bytes) : null : "";
        if (command is null)
            return Error(Einval);
        string output = RunMonitor(command.Trim());
        return output.Length == 0 ? "OK" : Protocol.Hex(output);
    }

    string RunMonitor(string command)
    {
        string[] words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        switch (words)
        {
            case [] or ["help"]:
                return MonitorHelp + (_options.Monitor is null ? "" : "other commands go to the repl shell\n");
            case ["phys"]:
                return SetAddressSpace(new AddressSpace(AddressSpace.Kind.Physical));
            case ["virt"]:
                return SetAddressSpace(AddressSpace.Current);
            case ["cr3", var value]:
                return Protocol.TryParseHex(value.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? value[2..] : value, out ulong cr3)
                    ? SetAddressSpace(new AddressSpace(AddressSpace.Kind.Root, cr3))
                    : $"cr3: '{value}' is not a hex number (try: monitor cr3 0x1000)\n";
            case ["info", "mode"]:
                return _host.Call(DescribeMode);
            case ["info", "regs" or "registers"]:
                return _host.Call(DescribeSystemRegisters);
        }
        if (_options.Monitor is { } monitor && _host.Call(_ => monitor(command)) is { } output)
            return output.Length == 0 || output.EndsWith('\n') ? output : output + "\n";
        return $"unknown monitor command '{command}' (try: monitor help)\n";
    }

    string SetAddressSpace(AddressSpace space)
    {
        _addressSpace = space;
        return $"memory accesses now use {space}\n";
    }

    static string DescribeMode(Machine m)
    {
        ref var s = ref m.State;
        string paging = (s.Cr0 & CpuState.Cr0PG) == 0 ? "paging off"
            : (s.Efer & CpuState.EferLMA) != 0 ? ((s.Cr4 & CpuState.Cr4La57) != 0 ? "5-level paging" : "4-level paging")
            : (s.Cr4 & CpuState.Cr4Pae) != 0 ? "PAE paging" : "32-bit paging";
        return $"{OperatingModes.Describe(OperatingModes.Of(s))}, CPL {s.Cpl}, {s.CodeBitness}-bit code, {paging}, CR3=0x{s.Cr3:x}\n";
    }

    /// <summary>Every register of the system feature, one per line, as "info registers system" would show them, plus
    /// CR0-CR8 and EFER from the core feature.</summary>
    static string DescribeSystemRegisters(Machine m)
    {
        var text = new StringBuilder();
        foreach (var r in TargetDescription.Registers)
            if (r.Group == "system" || r.Name is "cr0" or "cr2" or "cr3" or "cr4" or "cr8" or "efer" or "k_gs_base" or "fs_base" or "gs_base")
                text.Append($"{r.Name,-14}0x{r.Read(m):x}\n");
        return text.ToString();
    }
}
