using System.Globalization;
using System.Text;
using Repl.Machine.Asm;
using Repl.Shell.Debugging;

namespace Repl.Shell.Commands;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>x (gdb's memory examiner) and asm (assemble into memory).</summary>
static class MemoryCommands
{
    public static IReadOnlyList<ShellCommand> All { get; } =
    [
        new("x", [], "Examine memory: x/FMT ADDR (gdb's formats; p:ADDR for physical)",
            "x/[COUNT][FORMAT][SIZE] ADDR\nFORMAT: x hex, d signed, u unsigned, o octal, t binary, a address with symbol, c char, s string, i instruction.\nSIZE: b byte, h halfword (2), w word (4), g giant (8). ADDR is linear, through the current paging; p:ADDR is physical;\n*ADDR is the int (4 bytes) stored at ADDR, as gdb reads through an integer (x/2gx *0x100020).\nAs in gdb, what FMT leaves out is the last x's, and without ADDR x goes on after the last unit shown (x alone: as many\nagain; an empty line does the same).\nExample: x/4gx $rsp, x/s p:0x200000, x/3i sum",
            Examine, Repeat: Repeat.WithoutArguments, Arguments: Completions.AnyValue),
        new("asm", [], "Assemble instructions into memory at a location",
            "asm LOC \"INSTRUCTIONS\"\nAssembles AT&T instructions (separated by ';') as if at LOC, in the current code size, and writes the bytes there.\nLabels it defines become symbols, as the program's are.\nExample: asm sum \"movl $42, %eax; ret\"",
            AssembleInto, Arguments: Completions.FirstLocation),
    ];

    /// <summary>A parsed /FMT: how many units, in which format, of which size.</summary>
    internal readonly record struct Format(int Count, char Letter, int Size);

    /// <summary>What the last x showed, which the next one starts from as gdb's does: its format, and the address after
    /// the last unit (string, instruction) it showed, in the space it read.</summary>
    internal readonly record struct Examined(Format Format, ulong Next, bool Physical);

    /// <summary>gdb's x before any x: one hexadecimal word.</summary>
    static readonly Format Initial = new(1, 'x', 4);

    /// <summary>The most units one x shows: a screenful many times over, and a bound on what it reads.</summary>
    const int MaxUnits = 4096;

    /// <summary>Parses /FMT; what it leaves out comes from <paramref name="last"/>, as in gdb: the format letter, and the
    /// size except that an address is a giant and a char a byte unless a size is given. The count is 1 unless given.</summary>
    static Format ParseFormat(string text, Format last)
    {
        int count = 1, i = 0;
        while (i < text.Length && char.IsAsciiDigit(text[i]))
            i++;
        if (i > 0 && !int.TryParse(text[..i], NumberStyles.None, CultureInfo.InvariantCulture, out count))
            count = int.MaxValue; // more digits than an int holds: refused below as too many
        char letter = last.Letter;
        int? size = null;
        foreach (char c in text[i..])
        {
            switch (c)
            {
                case 'x' or 'd' or 'u' or 'o' or 't' or 'a' or 'c' or 's' or 'i': letter = c; break;
                case 'b': size = 1; break;
                case 'h': size = 2; break;
                case 'w': size = 4; break;
                case 'g': size = 8; break;
                default: throw new CommandException($"'{c}' is not an x format (x d u o t a c s i, sizes b h w g), as in x/4gx $rsp");
            }
        }
        if (count is 0 or > MaxUnits)
            throw new CommandException($"x shows 1 to {MaxUnits} units at a time (as in x/16gx $rsp)");
        return new Format(count, letter, size ?? letter switch { 'a' => 8, 'c' => 1, _ => last.Size });
    }

    /// <summary>x/FMT ADDR; without ADDR it goes on after the last x, and a bare x also repeats its count (gdb).</summary>
    static void Examine(Debugger d, string args, TextWriter o)
    {
        string rest = args.Trim();
        var last = d.LastExamined;
        var format = last?.Format ?? Initial;
        bool formatGiven = rest.StartsWith('/');
        if (formatGiven)
        {
            int end = rest.IndexOfAny([' ', '\t']);
            format = ParseFormat(end < 0 ? rest[1..] : rest[1..end], format);
            rest = end < 0 ? "" : rest[end..].Trim();
        }
        ulong address;
        bool physical;
        if (rest.Length == 0)
        {
            if (last is not { } previous)
                throw new CommandException("x needs an address, as in x/4gx $rsp or x/s p:0x200000 (then x alone goes on from there)");
            (address, physical) = (previous.Next, previous.Physical);
        }
        else
        {
            physical = rest.StartsWith("p:", StringComparison.OrdinalIgnoreCase);
            address = d.Evaluate(physical ? rest[2..] : rest);
            if (!formatGiven)
                format = format with { Count = 1 };
        }
        var memory = new MemorySpace(d.Machine, physical);
        ulong next = format.Letter switch
        {
            'i' => Instructions(d, memory, address, format.Count, o),
            's' => Strings(d, memory, address, format.Count, o),
            _ => Units(d, memory, address, format, o),
        };
        // gdb reads strings in bytes, and remembers that size for the next x.
        d.LastExamined = new Examined(format.Letter == 's' ? format with { Size = 1 } : format, next, physical);
    }

    /// <summary>Linear memory through the current paging, or physical memory: reads that say how far they got.</summary>
    readonly struct MemorySpace(Machine machine, bool physical)
    {
        public bool Physical => physical;

        public int Read(ulong address, Span<byte> into) =>
            physical ? machine.ReadPhysicalBacked(address, into) : machine.ReadVirtual(address, into);

        /// <summary>Why the byte at <paramref name="address"/> could not be read, <paramref name="start"/> being where the
        /// read began: the machine's rule (<see cref="Machine.ReadVirtual"/>) in words.</summary>
        public string Unreadable(ulong address, ulong start) =>
            address < start ? $"cannot read past 0xffffffffffffffff: the address space ends there (x reads upwards from 0x{start:x})"
            : physical ? $"cannot read physical 0x{address:x}: no RAM or device there"
            : $"cannot read 0x{address:x}: {machine.WhyUnreadable(address)} (try 'info pt 0x{address:x}')";
    }

    static string Label(Debugger d, MemorySpace memory, ulong address) =>
        memory.Physical ? $"p:0x{address:x}:" : d.Program.Describe(address) + ":";

    /// <summary>Shows the units; returns the address after the last.</summary>
    static ulong Units(Debugger d, MemorySpace memory, ulong address, Format f, TextWriter o)
    {
        int perLine = f.Size switch { 1 => 8, 2 => 8, 4 => 4, _ => 2 };
        var bytes = new byte[f.Count * f.Size];
        int read = memory.Read(address, bytes);
        int units = read / f.Size;
        for (int i = 0; i < units; i += perLine)
        {
            ulong lineAddress = address + (ulong)(i * f.Size);
            var cells = Enumerable.Range(i, Math.Min(perLine, units - i))
                .Select(u => Cell(d, f, Value(bytes.AsSpan(u * f.Size, f.Size))));
            o.WriteLine($"{Label(d, memory, lineAddress)}  {string.Join("  ", cells)}");
        }
        if (units < f.Count)
            throw new CommandException(memory.Unreadable(address + (ulong)(units * f.Size), address));
        return address + (ulong)(units * f.Size);
    }

    static ulong Value(ReadOnlySpan<byte> unit)
    {
        ulong value = 0;
        for (int i = unit.Length - 1; i >= 0; i--)
            value = value << 8 | unit[i];
        return value;
    }

    static string Cell(Debugger d, Format f, ulong value)
    {
        int bits = f.Size * 8;
        long signed = bits == 64 ? (long)value : (long)(value << (64 - bits)) >> (64 - bits);
        return f.Letter switch
        {
            'x' => "0x" + value.ToString("x" + f.Size * 2, CultureInfo.InvariantCulture),
            'd' => signed.ToString(CultureInfo.InvariantCulture),
            'u' => value.ToString(CultureInfo.InvariantCulture),
            'o' => "0" + Convert.ToString((long)value, 8),
            't' => Convert.ToString((long)value, 2).PadLeft(bits, '0')[^bits..],
            'a' => d.Program.Describe(value),
            _ => $"{signed} {CharLiteral((byte)value)}",
        };
    }

    static string CharLiteral(byte b) => b switch
    {
        0 => @"'\0'",
        (byte)'\n' => @"'\n'",
        (byte)'\t' => @"'\t'",
        (byte)'\'' => @"'\''",
        >= 0x20 and < 0x7F => $"'{(char)b}'",
        _ => $@"'\{Convert.ToString(b, 8)}'",
    };

    /// <summary>The longest string x/s shows before it stops looking for the terminating NUL.</summary>
    const int MaxString = 200;

    /// <summary>Shows NUL-terminated strings; returns the address after the last one's NUL.</summary>
    static ulong Strings(Debugger d, MemorySpace memory, ulong address, int count, TextWriter o)
    {
        for (int n = 0; n < count; n++)
        {
            var buffer = new byte[MaxString];
            int read = memory.Read(address, buffer);
            if (read == 0)
                throw new CommandException(memory.Unreadable(address, address));
            int length = Array.IndexOf(buffer, (byte)0, 0, read);
            bool terminated = length >= 0;
            if (!terminated)
                length = read;
            var text = new StringBuilder();
            foreach (byte b in buffer.AsSpan(0, length))
                text.Append(b is >= 0x20 and < 0x7F and not (byte)'"' and not (byte)'\\' ? ((char)b).ToString() : b switch
                {
                    (byte)'"' => "\\\"",
                    (byte)'\\' => @"\\",
                    (byte)'\n' => @"\n",
                    _ => $@"\{Convert.ToString(b, 8).PadLeft(3, '0')}",
                });
            o.WriteLine($"{Label(d, memory, address)}  \"{text}\"{(terminated ? "" : "...")}");
            address += (ulong)length + 1;
        }
        return address;
    }

    /// <summary>Disassembles instructions; returns the address after the last.</summary>
    static ulong Instructions(Debugger d, MemorySpace memory, ulong address, int count, TextWriter o)
    {
        IReadOnlyList<DisassembledInstruction> lines;
        if (memory.Physical)
        {
            var bytes = new byte[count * 15];
            int read = memory.Read(address, bytes);
            if (read == 0)
                throw new CommandException(memory.Unreadable(address, address));
            lines = Disassembler.Disassemble(bytes.AsSpan(0, read), address, d.Machine.State.CodeBitness, count: count);
        }
        else
        {
            lines = Disassembler.Disassemble(d.Machine, address, count, symbols: d.Symbols);
        }
        foreach (var line in lines)
            o.WriteLine(line);
        return lines.Count == 0 ? address : lines[^1].Address + (ulong)lines[^1].Bytes.Length;
    }

    static void AssembleInto(Debugger d, string args, TextWriter o)
    {
        int quote = args.IndexOf('"');
        string quoted = quote < 0 ? "" : args.TrimEnd()[quote..];
        if (quote <= 0 || quoted.Length < 3 || !quoted.EndsWith('"') || quoted[1..^1].Trim().Length == 0)
            throw new CommandException("write it as asm LOC \"INSTRUCTIONS\", as in: asm sum \"movl $42, %eax; ret\"");
        ulong address = d.ResolveLocation(args[..quote]);
        string source = quoted[1..^1];
        var result = Assembler.Assemble(source, new AsmOptions { FileName = "asm", Origin = address, Bitness = d.Machine.State.CodeBitness });
        if (result.Diagnostics.FirstOrDefault(x => x.Severity == DiagnosticSeverity.Error) is { } error)
            throw new CommandException($"{error.Message} (column {error.Location.Column} of \"{source}\")");
        byte[] bytes = result.Image();
        int written = d.Machine.WriteVirtual(address, bytes);
        if (written < bytes.Length)
            throw new CommandException($"wrote {written} of {bytes.Length} bytes: 0x{address + (ulong)written:x} is not mapped");
        d.AddSymbols(result);
        o.WriteLine($"{bytes.Length} bytes at {d.Program.Describe(address)}");
        foreach (var line in Disassembler.Disassemble(bytes, address, d.Machine.State.CodeBitness, symbols: d.Symbols))
            o.WriteLine(line);
    }
}
