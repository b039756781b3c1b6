using System.Buffers.Binary;

namespace Repl.Machine;

/// <summary>
/// Guest RAM from physical address 0 up to <see cref="Size"/>, backed lazily in 4 KiB pages: a page costs the
/// host nothing until the guest first writes it (an untouched page reads as zeros). Pages are found through a
/// two-level table of 2 MiB chunks, so even a 4 GiB guest pays only a few kilobytes for the table itself.
/// </summary>
public sealed class PhysicalMemory
{
    public const int PageShift = 12;
    public const int PageSize = 1 << PageShift;
    const int ChunkShift = 9; // pages per chunk: 512, so a chunk spans 2 MiB
    const int PagesPerChunk = 1 << ChunkShift;

    readonly byte[]?[]?[] _chunks;

    public ulong Size { get; }

    /// <summary>Pages the guest has written and the host therefore backs.</summary>
    public long BackedPages { get; private set; }

    public PhysicalMemory(ulong size)
    {
        if (size == 0 || size % PageSize != 0)
            throw new ArgumentException($"RAM size must be a non-zero multiple of 4 KiB, not 0x{size:x}", nameof(size));
        Size = size;
        ulong pages = size >> PageShift;
        _chunks = new byte[]?[]?[(pages + PagesPerChunk - 1) >> ChunkShift];
    }

    public bool Contains(ulong address) => address < Size;

    /// <summary>The page holding <paramref name="address"/>, or null when the guest never wrote it.</summary>
    public byte[]? PageIfBacked(ulong address)
    {
        ulong page = address >> PageShift;
        return _chunks[page >> ChunkShift]?[page & (PagesPerChunk - 1)];
    }

    /// <summary>The page holding <paramref name="address"/>, allocated (zeroed) on first use.</summary>
    public byte[] Page(ulong address)
    {
        ulong page = address >> PageShift;
        ref byte[]?[]? chunk = ref _chunks[page >> ChunkShift];
        chunk ??= new byte[]?[PagesPerChunk];
        ref byte[]? p = ref chunk[page & (PagesPerChunk - 1)];
        if (p is null)
        {
            p = new byte[PageSize];
            BackedPages++;
        }
        return p;
    }

    public byte ReadByte(ulong address) =>
        PageIfBacked(address) is { } p ? p[address & (PageSize - 1)] : (byte)0;

    public void WriteByte(ulong address, byte value) => Page(address)[address & (PageSize - 1)] = value;

    /// <summary>Reads bytes that lie within RAM, crossing pages as needed.</summary>
    public void Read(ulong address, Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            int offset = (int)(address & (PageSize - 1));
            int n = Math.Min(destination.Length, PageSize - offset);
            if (PageIfBacked(address) is { } p)
                p.AsSpan(offset, n).CopyTo(destination);
            else
                destination[..n].Clear();
            destination = destination[n..];
            address += (ulong)n;
        }
    }

    /// <summary>Writes bytes that lie within RAM, crossing pages as needed.</summary>
    public void Write(ulong address, ReadOnlySpan<byte> source)
    {
        while (!source.IsEmpty)
        {
            int offset = (int)(address & (PageSize - 1));
            int n = Math.Min(source.Length, PageSize - offset);
            source[..n].CopyTo(Page(address).AsSpan(offset, n));
            source = source[n..];
            address += (ulong)n;
        }
    }

    public ulong ReadUInt64(ulong address)
    {
        Span<byte> b = stackalloc byte[8];
        Read(address, b);
        return BinaryPrimitives.ReadUInt64LittleEndian(b);
    }
}
