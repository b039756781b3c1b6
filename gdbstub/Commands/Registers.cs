using System.Buffers.Binary;

namespace Repl.GdbStub;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>g, G, p, P: registers in the layout of <see cref="TargetDescription"/>, little-endian hex.</summary>
public sealed partial class Session
{
    string ReadAllRegisters() => _host.Call(m =>
    {
        var hex = new System.Text.StringBuilder(TargetDescription.TotalBytes * 2);
        foreach (var r in TargetDescription.Registers)
            hex.Append(RegisterHex(m, r));
        return hex.ToString();
    });

    static string RegisterHex(Machine m, GdbRegister r)
    {
        // Values over 64 bits (x87, SSE) are zeros above the low quadword.
        Span<byte> bytes = stackalloc byte[Math.Max(8, r.Bytes)];
        bytes.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, r.Read(m));
        return Protocol.Hex(bytes[..r.Bytes]);
    }

    /// <summary>G: writes every writable register; the others (x87, SSE, mode, CPL) keep their values, since gdb
    /// sends back whatever it read for them.</summary>
    string WriteAllRegisters(string hex)
    {
        if (hex.Length != TargetDescription.TotalBytes * 2 || Protocol.TryDecodeHex(hex) is not { } bytes)
            return Error(Einval);
        return _host.Call(m =>
        {
            int offset = 0;
            foreach (var r in TargetDescription.Registers)
            {
                r.Write?.Invoke(m, Value(bytes.AsSpan(offset, r.Bytes)));
                offset += r.Bytes;
            }
            return "OK";
        });
    }

    string ReadOneRegister(string number) =>
        Register(number) is { } r ? _host.Call(m => RegisterHex(m, r)) : Error(Einval);

    /// <summary>P n=value: a register the machine does not hold, or a read-only one, refuses the write.</summary>
    string WriteOneRegister(string assignment)
    {
        int equals = assignment.IndexOf('=');
        if (equals < 0 || Register(assignment[..equals]) is not { } r || Protocol.TryDecodeHex(assignment[(equals + 1)..]) is not { } bytes
            || bytes.Length != r.Bytes)
            return Error(Einval);
        if (r.Write is not { } write)
            return Error(Einval);
        return _host.Call(m => { write(m, Value(bytes)); return "OK"; });
    }

    static GdbRegister? Register(string number) =>
        Protocol.TryParseHex(number, out ulong n) && n < (ulong)TargetDescription.Registers.Count ? TargetDescription.Registers[(int)n] : null;

    /// <summary>A register's bytes as a value; registers over 64 bits are never written, so 8 bytes suffice.</summary>
    static ulong Value(ReadOnlySpan<byte> littleEndian)
    {
        Span<byte> wide = stackalloc byte[8];
        wide.Clear();
        littleEndian[..Math.Min(8, littleEndian.Length)].CopyTo(wide);
        return BinaryPrimitives.ReadUInt64LittleEndian(wide);
    }
}
