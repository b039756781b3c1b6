using System.Buffers.Binary;
using System.Text;

namespace Repl.Machine.Tests.Boot;

/// <summary>Builds small kernel images byte by byte: multiboot headers and ELF32/ELF64 executables with symbols.</summary>
static class TestImages
{
    public const uint KludgeFlags = 0x0001_0002; // address fields present, memory information wanted
    public const int HeaderSize = 32;

    /// <summary>A multiboot header with the address fields (all zero when not given).</summary>
    public static byte[] Header(uint flags, uint headerAddr = 0, uint loadAddr = 0, uint loadEndAddr = 0, uint bssEndAddr = 0,
                                uint entryAddr = 0, uint? checksum = null)
    {
        var h = new byte[HeaderSize];
        uint[] fields = [Multiboot.HeaderMagic, flags, checksum ?? unchecked(0u - Multiboot.HeaderMagic - flags), headerAddr, loadAddr, loadEndAddr, bssEndAddr, entryAddr];
        for (int i = 0; i < fields.Length; i++)
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(i * 4), fields[i]);
        return h;
    }

    /// <summary>
    /// A flat image whose header, at offset 0, loads the whole file at <paramref name="at"/> with
    /// <paramref name="bss"/> zeroed bytes after it, entering at the code just after the header.
    /// </summary>
    public static byte[] Kludge(byte[] code, uint at = 0x10_0000, uint bss = 0)
    {
        uint end = at + HeaderSize + (uint)code.Length;
        return [.. Header(KludgeFlags, at, at, end, bss == 0 ? 0 : end + bss, at + HeaderSize), .. code];
    }

    public readonly record struct Segment(ulong Physical, ulong Virtual, byte[] Bytes, ulong MemorySize);
    public readonly record struct Symbol(string Name, ulong Value, ulong Size, ElfSymbolType Type);

    /// <summary>Where <see cref="Elf"/> puts the first segment's bytes in the file (after the headers, 16-aligned).</summary>
    public static int FirstSegmentOffset(bool is64, int segments) => Align((is64 ? 64 : 52) + segments * (is64 ? 56 : 32));

    /// <summary>An ELF executable (ET_EXEC) for x86-64 or i386 with the given PT_LOAD segments and a symbol table.</summary>
    public static byte[] Elf(bool is64, ulong entry, Segment[] segments, Symbol[]? symbols = null)
    {
        symbols ??= [];
        int ehsize = is64 ? 64 : 52, phentsize = is64 ? 56 : 32, shentsize = is64 ? 64 : 40, symentsize = is64 ? 24 : 16;
        var file = new List<byte>(new byte[FirstSegmentOffset(is64, segments.Length)]);
        var offsets = new List<int>();
        foreach (var s in segments)
        {
            offsets.Add(file.Count);
            file.AddRange(s.Bytes);
            Pad(file);
        }

        var strtab = new List<byte> { 0 };
        int symtabOffset = file.Count;
        file.AddRange(new byte[symentsize]); // the null symbol
        foreach (var sym in symbols)
        {
            var e = new byte[symentsize];
            uint name = (uint)strtab.Count;
            strtab.AddRange(Encoding.UTF8.GetBytes(sym.Name));
            strtab.Add(0);
            Write(e, 0, 4, name);
            if (is64)
            {
                e[4] = (byte)(0x10 | (int)sym.Type); // STB_GLOBAL
                Write(e, 6, 2, 1);
                Write(e, 8, 8, sym.Value);
                Write(e, 16, 8, sym.Size);
            }
            else
            {
                Write(e, 4, 4, sym.Value);
                Write(e, 8, 4, sym.Size);
                e[12] = (byte)(0x10 | (int)sym.Type);
                Write(e, 14, 2, 1);
            }
            file.AddRange(e);
        }
        int symtabSize = file.Count - symtabOffset;
        int strtabOffset = file.Count;
        file.AddRange(strtab);
        Pad(file);

        int shoff = file.Count;
        file.AddRange(new byte[shentsize]); // section 0: SHN_UNDEF
        file.AddRange(SectionHeader(is64, 2 /* SHT_SYMTAB */, symtabOffset, symtabSize, link: 2, symentsize));
        file.AddRange(SectionHeader(is64, 3 /* SHT_STRTAB */, strtabOffset, strtab.Count, link: 0, 0));

        var bytes = file.ToArray();
        bytes[0] = 0x7F; bytes[1] = (byte)'E'; bytes[2] = (byte)'L'; bytes[3] = (byte)'F';
        bytes[4] = (byte)(is64 ? 2 : 1); bytes[5] = 1; bytes[6] = 1;
        Write(bytes, 16, 2, 2); // ET_EXEC
        Write(bytes, 18, 2, is64 ? 62UL : 3UL);
        Write(bytes, 20, 4, 1);
        int w = is64 ? 8 : 4;
        Write(bytes, 24, w, entry);
        Write(bytes, 24 + w, w, (ulong)ehsize);
        Write(bytes, 24 + 2 * w, w, (ulong)shoff);
        int counts = 24 + 3 * w + 4 + 2;
        Write(bytes, counts - 2, 2, (ulong)ehsize);
        Write(bytes, counts, 2, (ulong)phentsize);
        Write(bytes, counts + 2, 2, (ulong)segments.Length);
        Write(bytes, counts + 4, 2, (ulong)shentsize);
        Write(bytes, counts + 6, 2, 3);
        for (int i = 0; i < segments.Length; i++)
        {
            var s = segments[i];
            var ph = bytes.AsSpan(ehsize + i * phentsize);
            Write(ph, 0, 4, 1); // PT_LOAD
            if (is64)
            {
                Write(ph, 8, 8, (ulong)offsets[i]);
                Write(ph, 16, 8, s.Virtual);
                Write(ph, 24, 8, s.Physical);
                Write(ph, 32, 8, (ulong)s.Bytes.Length);
                Write(ph, 40, 8, s.MemorySize);
            }
            else
            {
                Write(ph, 4, 4, (ulong)offsets[i]);
                Write(ph, 8, 4, s.Virtual);
                Write(ph, 12, 4, s.Physical);
                Write(ph, 16, 4, (ulong)s.Bytes.Length);
                Write(ph, 20, 4, s.MemorySize);
            }
        }
        return bytes;
    }

    static byte[] SectionHeader(bool is64, uint type, int offset, int size, uint link, int entsize)
    {
        var sh = new byte[is64 ? 64 : 40];
        Write(sh, 4, 4, type);
        if (is64)
        {
            Write(sh, 24, 8, (ulong)offset);
            Write(sh, 32, 8, (ulong)size);
            Write(sh, 40, 4, link);
            Write(sh, 56, 8, (ulong)entsize);
        }
        else
        {
            Write(sh, 16, 4, (ulong)offset);
            Write(sh, 20, 4, (ulong)size);
            Write(sh, 24, 4, link);
            Write(sh, 36, 4, (ulong)entsize);
        }
        return sh;
    }

    static int Align(int n) => (n + 15) & ~15;

    static void Pad(List<byte> file) => file.AddRange(new byte[Align(file.Count) - file.Count]);

    static void Write(Span<byte> to, int offset, int size, ulong value)
    {
        for (int i = 0; i < size; i++)
            to[offset + i] = (byte)(value >> (8 * i));
    }
}
