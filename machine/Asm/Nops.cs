namespace Repl.Machine.Asm;

/// <summary>
/// The padding GNU as 2.40 writes for an alignment in code without a fill value (measured with as --64, no
/// -mtune): the longest NOP that fits, repeatedly, then one for the rest; and when that would take more than
/// a handful of NOPs, a jump over the padding first, so the processor does not execute them all.
/// </summary>
internal static class Nops
{
    /// <summary>nop: 90.</summary>
    public const byte OneByte = 0x90;

    /// <summary>The recommended multi-byte NOPs of 32- and 64-bit code, by length (index 0 is length 1).</summary>
    static readonly byte[][] Long =
    [
        [0x90],
        [0x66, 0x90],
        [0x0f, 0x1f, 0x00],
        [0x0f, 0x1f, 0x40, 0x00],
        [0x0f, 0x1f, 0x44, 0x00, 0x00],
        [0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00],
        [0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00],
        [0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
        [0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
        [0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
        [0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
    ];

    /// <summary>16-bit code has no 0f 1f NOP before the P6; GNU as uses lea (%si),%si forms there.</summary>
    static readonly byte[][] Short =
    [
        [0x90],
        [0x66, 0x90],
        [0x8d, 0x74, 0x00],
        [0x8d, 0xb4, 0x00, 0x00],
    ];

    /// <summary>Fills <paramref name="padding"/> with NOPs for code of <paramref name="bitness"/> bits.</summary>
    public static void Write(Span<byte> padding, int bitness)
    {
        var patterns = bitness == 16 ? Short : Long;
        // GNU as jumps over the padding when it needs more NOPs of the longest kind than this.
        int mostNops = bitness == 16 ? 2 : 7;
        int longest = patterns.Length;
        if (padding.Length / longest > mostNops)
        {
            int jump = Jump(padding, bitness);
            padding = padding[jump..];
        }
        while (padding.Length > 0)
        {
            var nop = patterns[Math.Min(padding.Length, longest) - 1];
            nop.CopyTo(padding);
            padding = padding[nop.Length..];
        }
    }

    /// <summary>Writes a jmp to the end of the padding (rel8 when it reaches); returns its length.</summary>
    static int Jump(Span<byte> padding, int bitness)
    {
        if (padding.Length - 2 <= sbyte.MaxValue)
        {
            padding[0] = 0xeb;
            padding[1] = (byte)(padding.Length - 2);
            return 2;
        }
        // rel32: in 16-bit code it needs the operand-size prefix.
        int prefix = bitness == 16 ? 1 : 0;
        if (prefix == 1)
            padding[0] = 0x66;
        padding[prefix] = 0xe9;
        int length = prefix + 5;
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(padding[(prefix + 1)..], padding.Length - length);
        return length;
    }
}
