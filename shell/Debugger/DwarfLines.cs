using System.Buffers.Binary;
using System.Text;
using Repl.Machine;
using Repl.Machine.Asm;

namespace Repl.Shell.Debugging;

/// <summary>
/// The line table of an ELF64 image's <c>.debug_line</c> (DWARF 2 to 4, 32-bit format: what GNU as -g and our
/// <see cref="ElfWriter"/> write), run as the DWARF standard's line-number state machine (DWARF 4, 6.2). Each
/// sequence gives its rows and its end address, past which its last row does not reach.
/// </summary>
public static class DwarfLines
{
    /// <summary>One sequence: its rows in address order, and the first address after it.</summary>
    public sealed record Sequence(IReadOnlyList<LineEntry> Rows, ulong End);

    const byte DwLnsCopy = 1, DwLnsAdvancePc = 2, DwLnsAdvanceLine = 3, DwLnsSetFile = 4, DwLnsConstAddPc = 8, DwLnsFixedAdvancePc = 9;
    const byte DwLneEndSequence = 1, DwLneSetAddress = 2, DwLneDefineFile = 3;

    /// <summary>The sequences of the image's line programs; none when it is not an ELF64 executable or has no
    /// <c>.debug_line</c>. A table that does not parse is treated as absent: lines are a help, not a requirement.</summary>
    public static IReadOnlyList<Sequence> Read(ReadOnlySpan<byte> file)
    {
        try
        {
            if (!ElfImage.HasElfMagic(file) || new ElfImage(file) is not { Is64: true } image || image.Section(".debug_line") is not { } lines)
                return [];
            return Programs(ElfImage.Contents(file, lines).ToArray());
        }
        catch (Exception e) when (e is LoaderException or ArgumentOutOfRangeException or IndexOutOfRangeException or ArgumentException or OverflowException)
        {
            return [];
        }
    }

    static List<Sequence> Programs(byte[] section)
    {
        var sequences = new List<Sequence>();
        for (int unit = 0; unit < section.Length;)
        {
            var r = new Reader(section, unit);
            uint length = r.U32();
            int end = r.Position + checked((int)length);
            ushort version = r.U16();
            if (version is < 2 or > 4)
                throw new ArgumentException($"DWARF line table version {version}");
            uint headerLength = r.U32();
            int program = r.Position + checked((int)headerLength);
            byte minimumInstructionLength = r.U8();
            if (version >= 4)
                r.U8(); // maximum_operations_per_instruction: 1 on x86, which has no VLIW bundles
            r.U8(); // default_is_stmt: every row names a line, statement or not
            sbyte lineBase = (sbyte)r.U8();
            byte lineRange = r.U8(), opcodeBase = r.U8();
            var standardLengths = new byte[opcodeBase];
            for (int i = 1; i < opcodeBase; i++)
                standardLengths[i] = r.U8();
            var directories = new List<string> { "" };
            for (string d; (d = r.CString()).Length != 0;)
                directories.Add(d);
            var files = new List<string> { "" };
            for (string f; (f = r.CString()).Length != 0;)
                files.Add(FileName(r, f, directories));
            r.Position = program;
            Run(r, end, files, directories, minimumInstructionLength, lineBase, lineRange, opcodeBase, standardLengths, sequences);
            unit = end;
        }
        return sequences;
    }

    /// <summary>A file entry's name joined to its directory, after reading its directory index, time and length.</summary>
    static string FileName(Reader r, string name, List<string> directories)
    {
        int directory = (int)r.Uleb();
        r.Uleb();
        r.Uleb();
        return directory == 0 || Path.IsPathRooted(name) ? name : Path.Combine(directories[directory], name);
    }

    static void Run(Reader r, int end, List<string> files, List<string> directories, byte minimumInstructionLength, sbyte lineBase, byte lineRange, byte opcodeBase, byte[] standardLengths, List<Sequence> sequences)
    {
        ulong address = 0;
        long line = 1;
        int file = 1;
        var rows = new List<LineEntry>();
        void Row() => rows.Add(new LineEntry(address, files[file], (int)line));
        while (r.Position < end)
        {
            byte opcode = r.U8();
            if (opcode >= opcodeBase)
            {
                int adjusted = opcode - opcodeBase;
                address += (ulong)(adjusted / lineRange * minimumInstructionLength);
                line += lineBase + adjusted % lineRange;
                Row();
                continue;
            }
            switch (opcode)
            {
                case 0:
                    int length = (int)r.Uleb();
                    int next = r.Position + length;
                    switch (r.U8())
                    {
                        case DwLneEndSequence:
                            sequences.Add(new Sequence(rows, address));
                            rows = [];
                            (address, line, file) = (0, 1, 1);
                            break;
                        case DwLneSetAddress:
                            address = r.U64();
                            break;
                        case DwLneDefineFile:
                            files.Add(FileName(r, r.CString(), directories));
                            break;
                    }
                    r.Position = next;
                    break;
                case DwLnsCopy: Row(); break;
                case DwLnsAdvancePc: address += r.Uleb() * minimumInstructionLength; break;
                case DwLnsAdvanceLine: line += r.Sleb(); break;
                case DwLnsSetFile: file = (int)r.Uleb(); break;
                case DwLnsConstAddPc: address += (ulong)((255 - opcodeBase) / lineRange * minimumInstructionLength); break;
                case DwLnsFixedAdvancePc: address += r.U16(); break;
                default:
                    // Column, is_stmt, basic block, prologue and epilogue markers, ISA: nothing a line lookup needs.
                    for (int i = 0; i < standardLengths[opcode]; i++)
                        r.Uleb();
                    break;
            }
        }
    }

    sealed class Reader(byte[] bytes, int position)
    {
        public int Position { get; set; } = position;

        public byte U8() => bytes[Position++];

        public ushort U16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));

        public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

        public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

        ReadOnlySpan<byte> Take(int n)
        {
            var span = bytes.AsSpan(Position, n);
            Position += n;
            return span;
        }

        public string CString()
        {
            int end = Array.IndexOf(bytes, (byte)0, Position);
            string s = Encoding.UTF8.GetString(bytes, Position, end - Position);
            Position = end + 1;
            return s;
        }

        public ulong Uleb()
        {
            ulong value = 0;
            for (int shift = 0; ; shift += 7)
            {
                byte b = U8();
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                    return value;
            }
        }

        public long Sleb()
        {
            long value = 0;
            int shift = 0;
            byte b;
            do
            {
                b = U8();
                value |= (long)(b & 0x7F) << shift;
                shift += 7;
            } while (b >= 0x80);
            return shift < 64 && (b & 0x40) != 0 ? value | -1L << shift : value;
        }
    }
}
