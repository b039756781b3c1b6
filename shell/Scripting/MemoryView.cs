using System.Buffers.Binary;

namespace Repl.Shell.Scripting;

using Repl.Machine;

/// <summary>
/// <c>Mem</c> in scripts: linear memory through the current paging (<c>Mem.U64[addr]</c>), and <see cref="Phys"/>
/// with the same members over physical addresses. Accesses go in as a debugger's do: no access rights, no accessed
/// or dirty bits. An address that does not translate throws, naming it.
/// </summary>
public sealed class MemoryView
{
    readonly Func<ulong, Span<byte>, int> _read;
    readonly Func<ulong, ReadOnlySpan<byte>, int> _write;
    readonly string _space;

    /// <summary>Linear memory through the machine's current CR3.</summary>
    public MemoryView(Machine machine) : this("linear", (a, d) => machine.ReadVirtual(a, d), (a, s) => machine.WriteVirtual(a, s))
    {
        // The bus covers the whole physical address space (what is neither RAM nor a device reads as ones), so every
        // physical access completes.
        Phys = new MemoryView("physical", (a, d) => { machine.ReadPhysical(a, d); return d.Length; },
                              (a, s) => { machine.WritePhysical(a, s); return s.Length; });
    }

    MemoryView(string space, Func<ulong, Span<byte>, int> read, Func<ulong, ReadOnlySpan<byte>, int> write)
    {
        _space = space;
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
                $"{_space} address 0x{address + (ulong)done:x} is not mapped (after {done} of {wanted} bytes from 0x{address:x}; try Mem.Phys for physical memory)");
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
