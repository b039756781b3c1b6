using System.Buffers.Binary;

namespace Repl.Shell.Scripting;

using Repl.Machine;

/// <summary>
/// <c>Mem</c> in scripts: linear memory through the current paging (<c>Mem.U64[addr]</c>), and <see cref="Phys"/>
/// with the same members over physical addresses. Accesses go in as a debugger's do: no access rights, no accessed
/// or dirty bits, and the machine's rule for a debugger's reach (<see cref="Machine.ReadVirtual"/>): a byte it cannot reach
/// throws, naming the address and why.
/// </summary>
public sealed class MemoryView
{
    readonly Func<ulong, Span<byte>, int> _read;
    readonly Func<ulong, ReadOnlySpan<byte>, int> _write;
    readonly string _space;
    readonly Func<ulong, string> _why;

    /// <summary>Linear memory through the machine's current CR3.</summary>
    public MemoryView(Machine machine) : this("linear", (a, d) => machine.ReadVirtual(a, d), (a, s) => machine.WriteVirtual(a, s),
                                              a => machine.WhyUnreadable(a))
    {
        // The machine's debugger rule, as x follows it: no RAM or device, no byte (the processor would read ones).
        Phys = new MemoryView("physical", machine.ReadPhysicalBacked, machine.WritePhysicalBacked, a => $"no RAM or device at physical 0x{a:x}");
    }

    MemoryView(string space, Func<ulong, Span<byte>, int> read, Func<ulong, ReadOnlySpan<byte>, int> write, Func<ulong, string> why)
    {
        _space = space;
        _why = why;
        _read = read;
        _write = write;
        Phys = this;
        U8 = new(this, 1);
        U16 = new(this, 2);
        U32 = new(this, 4);
        U64 = new(this, 8);
    }

    /// <summary>Physical memory (for <c>Mem</c>; <c>Mem.Phys.Phys</c> is itself).</summary>
    public MemoryView Phys { get; }

    public Cells U8 { get; }
    public Cells U16 { get; }
    public Cells U32 { get; }
    public Cells U64 { get; }

    /// <summary>What <c>Mem</c> shows in the shell: how to use it (its contents are the machine's whole address space).</summary>
    public override string ToString() =>
        $"{_space} memory: .U8/.U16/.U32/.U64[address] read and write integers, .Read(address, count) and .Write(address, bytes) byte arrays"
        + (ReferenceEquals(Phys, this) ? "" : "; .Phys the same over physical addresses");

    public byte[] Read(ulong address, int count)
    {
        var bytes = new byte[count];
        Check(address, count, _read(address, bytes));
        return bytes;
    }

    public void Write(ulong address, params byte[] bytes) => Check(address, bytes.Length, _write(address, bytes));

    void Check(ulong address, int wanted, int done)
    {
        if (done < wanted)
            throw new InvalidOperationException(
                $"{_space} address 0x{address + (ulong)done:x} cannot be reached (after {done} of {wanted} bytes from 0x{address:x}): "
                + (address + (ulong)done < address ? "the range runs past the top of the address space" : _why(address + (ulong)done)));
    }

    /// <summary>Little-endian integers of one width: <c>Mem.U32[addr]</c> reads, <c>Mem.U32[addr] = v</c> writes
    /// the low bytes of v.</summary>
    public sealed class Cells(MemoryView memory, int size)
    {
        public ulong this[ulong address]
        {
            get
            {
                Span<byte> bytes = stackalloc byte[8];
                memory.Check(address, size, memory._read(address, bytes[..size]));
                return BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            }
            set
            {
                Span<byte> bytes = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
                memory.Check(address, size, memory._write(address, bytes[..size]));
            }
        }
    }
}
