namespace Repl.Machine.Asm;

// Inside the namespace, so that Register, Instruction and friends are Iced's rather than Repl.Machine's.
using Iced.Intel;

/// <summary>The two syntaxes a listing can be written in: GNU as's AT&amp;T (objdump's default) and Intel.</summary>
public enum DisassemblySyntax { Gas, Intel }

public enum DisassemblyKind
{
    /// <summary>A decoded instruction.</summary>
    Instruction,

    /// <summary>Bytes that do not decode: "(bad)" for an invalid opcode, ".byte" for an instruction cut short by the end of the code.</summary>
    Bad,

    /// <summary>The listing stops here: the memory at this address (or the rest of the instruction) cannot be read.</summary>
    Unreadable,
}

/// <summary>
/// One line of a listing: where, the bytes, the text (with "# 0x... &lt;sym+off&gt;" after a memory operand whose address
/// is known), the symbol the address belongs to, and the source line the bytes came from, when a line table is known.
/// <see cref="Instruction"/> is Iced's decoding for <see cref="DisassemblyKind.Instruction"/> lines, default otherwise.
/// </summary>
public sealed record DisassembledInstruction(ulong Address, byte[] Bytes, string Text, DisassemblyKind Kind,
                                             SymbolicAddress? Symbol, LineEntry? Line, Instruction Instruction)
{
    public override string ToString() => Disassembler.Format(this);
}

/// <summary>
/// Disassembly for the shell and scripts, over Iced's GAS and Intel formatters set up to read as objdump and gdb
/// do: lowercase hex with 0x, branch targets as "0x100020 &lt;foo+8&gt;", RIP-relative and absolute memory operands
/// followed by the same as a comment, "(bad)" for what does not decode.
/// </summary>
public static class Disassembler
{
    /// <summary>The architectural limit on an instruction's length, so count instructions never need more bytes than this each.</summary>
    const int MaxInstructionLength = 15;

    /// <summary>The bytes column holds seven bytes, as objdump's does; a longer instruction pushes its text right.</summary>
    const int BytesColumnWidth = 7 * 3 - 1;

    /// <summary>
    /// Decodes <paramref name="code"/> as if it sat at <paramref name="address"/>, up to <paramref name="count"/>
    /// instructions (all of it when null). An invalid opcode takes one byte and decoding resumes after it, as objdump does.
    /// </summary>
    public static IReadOnlyList<DisassembledInstruction> Disassemble(ReadOnlySpan<byte> code, ulong address, int bitness = 64,
        DisassemblySyntax syntax = DisassemblySyntax.Gas, ISymbolLookup? symbols = null, int? count = null) =>
        Decode(code.ToArray(), address, bitness, syntax, symbols, count, endIsUnreadable: false);

    /// <summary>
    /// Disassembles <paramref name="count"/> instructions from a machine's memory at a linear address, through its
    /// paging (the current CR3 unless <paramref name="cr3"/> is given), in the bitness of the code it is running
    /// unless <paramref name="bitness"/> is given. Where memory stops translating the listing ends with a
    /// <see cref="DisassemblyKind.Unreadable"/> line instead of an exception.
    /// </summary>
    public static IReadOnlyList<DisassembledInstruction> Disassemble(Machine machine, ulong linear, int count,
        DisassemblySyntax syntax = DisassemblySyntax.Gas, ISymbolLookup? symbols = null, int? bitness = null, ulong? cr3 = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var buffer = new byte[count * MaxInstructionLength];
        int read = machine.ReadVirtual(linear, buffer, cr3);
        return Decode(buffer[..read], linear, bitness ?? machine.State.CodeBitness, syntax, symbols, count,
                      endIsUnreadable: read < buffer.Length);
    }

    /// <summary>One line as gdb's x/i with raw bytes shows it: "0x100004 &lt;entry_SYSCALL_64+4&gt;:  48 89 e0  mov %rsp,%rax".</summary>
    public static string Format(DisassembledInstruction line) => Format(line, 0);

    /// <summary>The line with its "address &lt;symbol&gt;:" column padded to <paramref name="labelWidth"/>.</summary>
    static string Format(DisassembledInstruction line, int labelWidth)
    {
        string where = (Label(line.Address, line.Symbol) + ":").PadRight(labelWidth + 1);
        if (line.Kind == DisassemblyKind.Unreadable)
            return $"{where}  {line.Text}";
        string bytes = string.Join(' ', line.Bytes.Select(b => b.ToString("x2")));
        return $"{where}  {bytes.PadRight(BytesColumnWidth)}  {line.Text}";
    }

    /// <summary>
    /// A listing: the lines of <see cref="Format"/> with their address columns padded to the widest, and a
    /// "file:line" heading wherever the source line changes, as objdump -l puts them.
    /// </summary>
    public static IEnumerable<string> Listing(IEnumerable<DisassembledInstruction> lines)
    {
        var all = lines.ToList();
        int width = all.Select(l => Label(l.Address, l.Symbol).Length).DefaultIfEmpty(0).Max();
        LineEntry? source = null;
        foreach (var line in all)
        {
            if (line.Line is { } entry && (source is not { } shown || shown.File != entry.File || shown.Line != entry.Line))
                yield return $"{entry.File}:{entry.Line}";
            source = line.Line ?? source;
            yield return Format(line, width);
        }
    }

    static string Label(ulong address, SymbolicAddress? symbol) =>
        symbol is { } s ? $"0x{address:x} <{s}>" : $"0x{address:x}";

    static List<DisassembledInstruction> Decode(byte[] code, ulong address, int bitness, DisassemblySyntax syntax,
                                                ISymbolLookup? symbols, int? count, bool endIsUnreadable)
    {
        var reader = new ByteArrayCodeReader(code);
        var decoder = Iced.Intel.Decoder.Create(bitness, reader);
        var formatter = CreateFormatter(syntax, symbols);
        var output = new StringOutput();
        var lines = new List<DisassembledInstruction>();
        int offset = 0;
        while (offset < code.Length && (count is not { } limit || lines.Count < limit))
        {
            ulong ip = address + (ulong)offset;
            // Decoding restarts at every offset, so that an invalid opcode consumes one byte, not what Iced read of it.
            reader.Position = offset;
            decoder.IP = ip;
            decoder.Decode(out var instruction);
            if (decoder.LastError == DecoderError.NoMoreBytes)
            {
                // The instruction runs past the code we have: past readable memory, or past the end of the bytes given.
                lines.Add(endIsUnreadable
                    ? Unreadable(ip)
                    : Line(ip, code[offset..], ".byte " + string.Join(',', code[offset..].Select(b => $"0x{b:x2}")), DisassemblyKind.Bad, default));
                return lines;
            }
            if (instruction.IsInvalid)
            {
                lines.Add(Line(ip, code[offset..(offset + 1)], "(bad)", DisassemblyKind.Bad, default));
                offset++;
                continue;
            }
            formatter.Format(instruction, output);
            lines.Add(Line(ip, code[offset..(offset + instruction.Length)], output.ToStringAndReset() + MemoryComment(instruction, symbols),
                           DisassemblyKind.Instruction, instruction));
            offset += instruction.Length;
        }
        // The loop ran out of readable bytes before the count: say so where they end.
        if (endIsUnreadable && (count is not { } wanted || lines.Count < wanted))
            lines.Add(Unreadable(address + (ulong)code.Length));
        return lines;

        // gdb's words, naming the first byte that could not be read.
        DisassembledInstruction Unreadable(ulong at) =>
            Line(at, [], $"Cannot access memory at address 0x{address + (ulong)code.Length:x}", DisassemblyKind.Unreadable, default);

        DisassembledInstruction Line(ulong at, byte[] bytes, string text, DisassemblyKind kind, Instruction decoded) =>
            new(at, bytes, text, kind, symbols?.Find(at), symbols?.LineAt(at), decoded);
    }

    static Formatter CreateFormatter(DisassemblySyntax syntax, ISymbolLookup? symbols)
    {
        var resolver = symbols is null ? null : new BranchTargets(symbols);
        Formatter formatter = syntax == DisassemblySyntax.Gas ? new GasFormatter(resolver) : new IntelFormatter(resolver);
        var o = formatter.Options;
        // objdump's numbers: 0x-prefixed lowercase hex everywhere, even below 10, and no leading zeros on targets.
        o.HexPrefix = "0x";
        o.HexSuffix = null;
        o.UppercaseHex = false;
        o.SmallHexNumbersInDecimal = false;
        o.BranchLeadingZeros = false;
        o.ShowBranchSize = false;
        // objdump writes rip+disp as encoded (the target goes in the comment) and shows an encoded zero displacement.
        o.RipRelativeAddresses = true;
        o.ShowZeroDisplacements = true;
        if (syntax == DisassemblySyntax.Intel)
        {
            // objdump -M intel: "QWORD PTR" on every memory operand.
            o.UppercaseKeywords = true;
            o.MemorySizeOptions = MemorySizeOptions.Always;
        }
        return formatter;
    }

    /// <summary>
    /// "  # 0x100020 &lt;foo+8&gt;" after an instruction whose memory operand has an address known without registers:
    /// always for RIP-relative (as objdump), and for an absolute displacement (maybe indexed, as a table) when a
    /// symbol names it, since the number alone is already in the operand.
    /// </summary>
    static string MemoryComment(in Instruction instruction, ISymbolLookup? symbols)
    {
        for (int i = 0; i < instruction.OpCount; i++)
        {
            if (instruction.GetOpKind(i) != OpKind.Memory)
                continue;
            if (instruction.IsIPRelativeMemoryOperand)
            {
                ulong target = instruction.IPRelativeMemoryAddress;
                return "  # " + Label(target, symbols?.Find(target));
            }
            if (instruction.MemoryBase == Register.None && symbols?.Find(instruction.MemoryDisplacement64) is { } symbol)
                return "  # " + Label(instruction.MemoryDisplacement64, symbol);
        }
        return "";
    }

    /// <summary>Gives Iced's formatter "0x100020 &lt;foo+8&gt;" for near branch targets; other operands stay numbers.</summary>
    sealed class BranchTargets(ISymbolLookup symbols) : ISymbolResolver
    {
        public bool TryGetSymbol(in Instruction instruction, int operand, int instructionOperand, ulong address, int addressSize,
                                 out SymbolResult symbol)
        {
            if (instructionOperand >= 0
                && instruction.GetOpKind(instructionOperand) is OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64
                && symbols.Find(address) is { } name)
            {
                // The text carries the address itself, so the symbol's address is the operand's: Iced appends no offset.
                symbol = new SymbolResult(address, Label(address, name));
                return true;
            }
            symbol = default;
            return false;
        }
    }
}
