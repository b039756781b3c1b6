namespace Repl.GdbStub;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>How m, M and X addresses are taken: as linear addresses through the current paging (the default, what
/// the code being debugged sees), as physical addresses, or as linear addresses through a chosen CR3 (to read the
/// kernel's half while stopped on the user page tables under KPTI). The monitor commands phys, virt and cr3 switch.</summary>
public readonly record struct AddressSpace(AddressSpace.Kind Mode, ulong Cr3 = 0)
{
    public enum Kind { Current, Physical, Root }

    public static readonly AddressSpace Current = new(Kind.Current);

    public override string ToString() => Mode switch
    {
        Kind.Physical => "physical addresses",
        Kind.Root => $"linear addresses through CR3=0x{Cr3:x}",
        _ => "linear addresses through the current CR3 (identity while paging is off)",
    };

    /// <summary>The page-table root a linear access goes through: the chosen one, or null for the current CR3.</summary>
    ulong? Root => Mode == Kind.Root ? Cr3 : null;

    /// <summary>Reads as much of the range as is mapped and backed, from its start (the machine's debugger rule); returns how many bytes.</summary>
    public int Read(Machine m, ulong address, Span<byte> destination) =>
        Mode == Kind.Physical ? m.ReadPhysicalBacked(address, destination) : m.ReadVirtual(address, destination, Root);

    public int Write(Machine m, ulong address, ReadOnlySpan<byte> source) =>
        Mode == Kind.Physical ? m.WritePhysicalBacked(address, source) : m.WriteVirtual(address, source, Root);
}

/// <summary>m, M, X: memory, through <see cref="AddressSpace"/>. Software breakpoints are host-side (Cpu.Breakpoints),
/// so memory holds no INT3 for m to show or the guest to find.</summary>
public sealed partial class Session
{
    AddressSpace _addressSpace = AddressSpace.Current;

    /// <summary>m addr,length: as many bytes as are mapped from addr (the protocol allows a short reply); E14 when none is.</summary>
    string ReadMemory(string arguments)
    {
        if (!TryParseRange(arguments, out ulong address, out ulong length))
            return Error(Einval);
        // Each byte takes two characters; the reply must fit the announced packet size.
        int count = (int)Math.Min(length, Protocol.PacketSize / 2);
        var space = _addressSpace;
        return _host.Call(m =>
        {
            var bytes = new byte[count];
            int read = space.Read(m, address, bytes);
            return read == 0 && count != 0 ? Error(Efault) : Protocol.Hex(bytes.AsSpan(0, read));
        });
    }

    /// <summary>M addr,length:hex.</summary>
    string WriteMemoryHex(string arguments)
    {
        int colon = arguments.IndexOf(':');
        if (colon < 0 || !TryParseRange(arguments[..colon], out ulong address, out ulong length)
            || Protocol.TryDecodeHex(arguments[(colon + 1)..]) is not { } bytes || (ulong)bytes.Length != length)
            return Error(Einval);
        return WriteMemory(address, bytes);
    }

    /// <summary>X addr,length:binary, the data escaped with '}' (gdb probes support with a zero-length X).</summary>
    string WriteMemoryBinary(byte[] packet)
    {
        int colon = Array.IndexOf(packet, (byte)':');
        if (colon < 0 || !TryParseRange(System.Text.Encoding.Latin1.GetString(packet, 1, colon - 1), out ulong address, out ulong length)
            || Protocol.UnescapeBinary(packet.AsSpan(colon + 1)) is not { } bytes || (ulong)bytes.Length != length)
            return Error(Einval);
        return WriteMemory(address, bytes);
    }

    string WriteMemory(ulong address, byte[] bytes)
    {
        var space = _addressSpace;
        return _host.Call(m => space.Write(m, address, bytes) == bytes.Length ? "OK" : Error(Efault));
    }

    /// <summary>"addr,length" in hex.</summary>
    static bool TryParseRange(string text, out ulong address, out ulong length)
    {
        length = 0;
        int comma = text.IndexOf(',');
        return Protocol.TryParseHex(comma < 0 ? "" : text[..comma], out address) && Protocol.TryParseHex(text.AsSpan(comma + 1), out length);
    }
}
