using System.Buffers.Binary;

namespace Repl.Machine;

/// <summary>A device that answers physical-memory accesses in a range (the local APIC, for example).</summary>
public interface IMmioDevice
{
    /// <summary>Reads <paramref name="size"/> bytes (1, 2, 4 or 8) at <paramref name="offset"/> from the range's base.</summary>
    ulong Read(ulong offset, int size);
    void Write(ulong offset, int size, ulong value);
}

/// <summary>A device on the I/O port bus (a UART, the debug-exit port).</summary>
public interface IPortDevice
{
    /// <summary>Reads <paramref name="size"/> bytes (1, 2 or 4) from <paramref name="port"/>.</summary>
    uint In(ushort port, int size);
    void Out(ushort port, int size, uint value);
}

/// <summary>
/// The physical address space and the I/O port space. RAM answers below its size; devices claim ranges
/// (and win over RAM where they overlap); anything else reads as all-ones and ignores writes, as an
/// unclaimed bus cycle does on a PC. The bus also remembers which RAM pages hold decoded code, so a write
/// there can tell the CPU to forget what it decoded (self-modifying code).
/// </summary>
public sealed class Bus
{
    readonly record struct MmioRange(ulong Base, ulong Length, IMmioDevice Device);

    readonly List<MmioRange> _mmio = [];
    ulong _lowestMmio = ulong.MaxValue;
    readonly Dictionary<ushort, IPortDevice> _ports = [];
    readonly ulong[] _codePages;

    public PhysicalMemory Ram { get; }

    /// <summary>Called with a physical page number when a write lands in a page marked as holding code.</summary>
    public Action<ulong>? CodeWritten { get; set; }

    public Bus(ulong ramSize)
    {
        Ram = new PhysicalMemory(ramSize);
        _codePages = new ulong[((ramSize >> PhysicalMemory.PageShift) + 63) / 64];
    }

    public void MapMmio(ulong @base, ulong length, IMmioDevice device)
    {
        _mmio.Add(new MmioRange(@base, length, device));
        _lowestMmio = Math.Min(_lowestMmio, @base);
    }

    /// <summary>Removes a device's ranges (the local APIC's window moves or goes away with IA32_APIC_BASE).</summary>
    public void UnmapMmio(IMmioDevice device)
    {
        _mmio.RemoveAll(r => r.Device == device);
        _lowestMmio = _mmio.Count == 0 ? ulong.MaxValue : _mmio.Min(r => r.Base);
    }

    public void MapPorts(ushort first, int count, IPortDevice device)
    {
        for (int i = 0; i < count; i++)
            _ports[(ushort)(first + i)] = device;
    }

    public void MarkCodePage(ulong page)
    {
        if (page < (ulong)_codePages.Length * 64)
            _codePages[page >> 6] |= 1UL << (int)(page & 63);
    }

    public void ClearCodePage(ulong page)
    {
        if (page < (ulong)_codePages.Length * 64)
            _codePages[page >> 6] &= ~(1UL << (int)(page & 63));
    }

    bool IsCodePage(ulong page) =>
        page < (ulong)_codePages.Length * 64 && (_codePages[page >> 6] & (1UL << (int)(page & 63))) != 0;

    /// <summary>True when the access lies entirely in one RAM page that no device overlaps.</summary>
    bool IsPlainRam(ulong address, int size) =>
        address + (ulong)size <= Ram.Size && address + (ulong)size - 1 < _lowestMmio
        && ((address ^ (address + (ulong)size - 1)) >> PhysicalMemory.PageShift) == 0;

    /// <summary>Reads a little-endian value of 1, 2, 4 or 8 bytes.</summary>
    public ulong Read(ulong address, int size)
    {
        if (IsPlainRam(address, size))
        {
            if (Ram.PageIfBacked(address) is not { } page)
                return 0;
            var span = page.AsSpan((int)(address & (PhysicalMemory.PageSize - 1)));
            return size switch
            {
                1 => span[0],
                2 => BinaryPrimitives.ReadUInt16LittleEndian(span),
                4 => BinaryPrimitives.ReadUInt32LittleEndian(span),
                _ => BinaryPrimitives.ReadUInt64LittleEndian(span),
            };
        }
        if (FindMmio(address) is { } range && address + (ulong)size <= range.Base + range.Length)
            return range.Device.Read(address - range.Base, size);
        ulong value = 0;
        for (int i = size - 1; i >= 0; i--)
            value = (value << 8) | ReadByte(address + (ulong)i);
        return value;
    }

    /// <summary>Writes a little-endian value of 1, 2, 4 or 8 bytes.</summary>
    public void Write(ulong address, int size, ulong value)
    {
        if (IsPlainRam(address, size))
        {
            ulong pageNumber = address >> PhysicalMemory.PageShift;
            if (IsCodePage(pageNumber))
                CodeWritten?.Invoke(pageNumber);
            var span = Ram.Page(address).AsSpan((int)(address & (PhysicalMemory.PageSize - 1)));
            switch (size)
            {
                case 1: span[0] = (byte)value; break;
                case 2: BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)value); break;
                case 4: BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)value); break;
                default: BinaryPrimitives.WriteUInt64LittleEndian(span, value); break;
            }
            return;
        }
        if (FindMmio(address) is { } range && address + (ulong)size <= range.Base + range.Length)
        {
            range.Device.Write(address - range.Base, size, value);
            return;
        }
        for (int i = 0; i < size; i++, value >>= 8)
            WriteByte(address + (ulong)i, (byte)value);
    }

    public byte ReadByte(ulong address)
    {
        if (FindMmio(address) is { } range)
            return (byte)range.Device.Read(address - range.Base, 1);
        return Ram.Contains(address) ? Ram.ReadByte(address) : (byte)0xFF;
    }

    public void WriteByte(ulong address, byte value)
    {
        if (FindMmio(address) is { } range)
            range.Device.Write(address - range.Base, 1, value);
        else if (Ram.Contains(address))
        {
            if (IsCodePage(address >> PhysicalMemory.PageShift))
                CodeWritten?.Invoke(address >> PhysicalMemory.PageShift);
            Ram.WriteByte(address, value);
        }
    }

    /// <summary>Copies bytes out of the physical address space (for loaders, debuggers, instruction fetch).</summary>
    public void Read(ulong address, Span<byte> destination)
    {
        if (address + (ulong)destination.Length <= Math.Min(Ram.Size, _lowestMmio) && address + (ulong)destination.Length >= address)
        {
            Ram.Read(address, destination);
            return;
        }
        for (int i = 0; i < destination.Length; i++)
            destination[i] = ReadByte(address + (ulong)i);
    }

    /// <summary>Copies bytes into the physical address space.</summary>
    public void Write(ulong address, ReadOnlySpan<byte> source)
    {
        if (address + (ulong)source.Length <= Math.Min(Ram.Size, _lowestMmio) && address + (ulong)source.Length >= address)
        {
            for (ulong page = address >> PhysicalMemory.PageShift; page << PhysicalMemory.PageShift < address + (ulong)source.Length; page++)
                if (IsCodePage(page))
                    CodeWritten?.Invoke(page);
            Ram.Write(address, source);
            return;
        }
        for (int i = 0; i < source.Length; i++)
            WriteByte(address + (ulong)i, source[i]);
    }

    MmioRange? FindMmio(ulong address)
    {
        if (address < _lowestMmio)
            return null;
        foreach (var r in _mmio)
            if (address - r.Base < r.Length)
                return r;
        return null;
    }

    /// <summary>IN: an unclaimed port reads as all-ones.</summary>
    public uint In(ushort port, int size) =>
        _ports.TryGetValue(port, out var device) ? device.In(port, size) : (uint)((1UL << (size * 8)) - 1);

    /// <summary>OUT: an unclaimed port ignores the write.</summary>
    public void Out(ushort port, int size, uint value)
    {
        if (_ports.TryGetValue(port, out var device))
            device.Out(port, size, value);
    }

    /// <summary>True when the address is backed by RAM or a device.</summary>
    public bool IsBacked(ulong address) => Ram.Contains(address) || FindMmio(address) is not null;
}
