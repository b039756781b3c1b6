using Iced.Intel;
using static Repl.Machine.ShiftBits;

namespace Repl.Machine;

/// <summary>A shift or rotate, applied to a masked count of at least 1: computes the result and sets the flags
/// the instruction changes.</summary>
interface IShiftOp
{
    /// <summary>SHLD and SHRD: operand 1 supplies the bits shifted in and operand 2 is the count.</summary>
    static abstract bool DoublePrecision { get; }
    static abstract ulong Compute(ref CpuState s, ulong value, ulong fill, int count, int bits);
}

/// <summary>Bit arithmetic on operands of 8 to 64 bits, for this file's shifts and rotates.</summary>
file static class ShiftBits
{
    public static ulong WidthMask(int bits) => bits == 64 ? ulong.MaxValue : (1UL << bits) - 1;

    public static ulong Msb(ulong value, int bits) => (value >> (bits - 1)) & 1;

    /// <summary>Rotates within <paramref name="bits"/> by 0 to bits - 1.</summary>
    public static ulong RotateLeft(ulong value, int n, int bits) =>
        n == 0 ? value : ((value << n) | (value >> (bits - n))) & WidthMask(bits);

    public static ulong RotateRight(ulong value, int n, int bits) =>
        n == 0 ? value : ((value >> n) | (value << (bits - n))) & WidthMask(bits);
}

/// <summary>
/// Shifts and rotates (SDM Vol. 1, 7.3.5 and 7.3.6; Vol. 2 pages "SAL/SAR/SHL/SHR", "RCL/RCR/ROL/ROR", "SHLD",
/// "SHRD"), by 1, by CL and by imm8.
/// </summary>
/// <remarks>
/// <para>The count is masked to 5 bits, or 6 with a 64-bit operand. A masked count of 0 changes no flag, but the
/// destination is still written: a 32-bit register destination is zero-extended into its upper half, as the
/// hardware does. RCL and RCR of 8- and 16-bit operands rotate through CF modulo 9 and 17.</para>
/// <para>Where the manuals leave a value undefined, the machine gives it the value an AMD family 1Ah processor was
/// measured to produce, for both vendor profiles (what Intel parts do is not known here for certain). The flag
/// rules the manuals give for a count of 1 hold for every count:</para>
/// <list type="bullet">
/// <item>SHL, SHR, SAR, SHLD, SHRD set AF.</item>
/// <item>SHL and SHLD: OF = MSB of the destination shifted alone (without the bits brought in) XOR CF. SHR: OF = MSB
/// of the operand before the last one-bit step. SAR: OF = 0. ROL and RCL: OF = MSB(result) XOR CF. ROR, RCR and
/// SHRD: OF = the XOR of the two most significant result bits.</item>
/// <item>SHL and SHR by more than the operand width shift out zeros after the operand's own bits (CF = 0, as the
/// SDM's one-bit-at-a-time pseudo-code gives); SAR shifts out copies of the sign.</item>
/// <item>16-bit SHLD and SHRD by 17 to 31 (result and flags undefined): the result is the source rotated by
/// count - 16 in the shift's direction, and CF = 0.</item>
/// </list>
/// </remarks>
public sealed unsafe partial class Cpu
{
    static delegate*<Cpu, ref Decoded, void> SelectShiftRotate(in Instruction i) => i.Mnemonic switch
    {
        Mnemonic.Shl or Mnemonic.Sal => &ShiftRotate<ShlOp>,
        Mnemonic.Shr => &ShiftRotate<ShrOp>,
        Mnemonic.Sar => &ShiftRotate<SarOp>,
        Mnemonic.Rol => &ShiftRotate<RolOp>,
        Mnemonic.Ror => &ShiftRotate<RorOp>,
        Mnemonic.Rcl => &ShiftRotate<RclOp>,
        Mnemonic.Rcr => &ShiftRotate<RcrOp>,
        Mnemonic.Shld => &ShiftRotate<ShldOp>,
        Mnemonic.Shrd => &ShiftRotate<ShrdOp>,
        _ => null,
    };

    static void ShiftRotate<TOp>(Cpu c, ref Decoded d) where TOp : struct, IShiftOp
    {
        int size = d.Ops[0].Size;
        int count = (int)c.ReadOperand(ref d, TOp.DoublePrecision ? 2 : 1) & (size == 8 ? 0x3F : 0x1F);
        ulong fill = TOp.DoublePrecision ? c.ReadOperand(ref d, 1) : 0;
        ulong value = c.ReadDestination(ref d, out ulong linear);
        if (count != 0)
            value = TOp.Compute(ref c.State, value, fill, count, size * 8);
        c.WriteDestination(ref d, linear, value);
    }

    /// <summary>Sets all six flags of a shift: ZF, SF, PF from the result, AF set (see the class remarks).</summary>
    static ulong ShiftFlags(ref CpuState s, ulong result, int bits, ulong cf, ulong of)
    {
        s.SetArithmeticFlags(CpuState.ResultFlags(result, bits) | (ulong)RflagsBit.AF
            | (cf != 0 ? (ulong)RflagsBit.CF : 0) | (of != 0 ? (ulong)RflagsBit.OF : 0));
        return result;
    }

    /// <summary>Sets CF and OF, the only flags a rotate changes.</summary>
    static ulong RotateFlags(ref CpuState s, ulong result, ulong cf, ulong of)
    {
        ReplaceFlags(ref s, RflagsBit.CF | RflagsBit.OF,
            (cf != 0 ? (ulong)RflagsBit.CF : 0) | (of != 0 ? (ulong)RflagsBit.OF : 0));
        return result;
    }

    /// <summary>The CF a left shift of <paramref name="value"/> by <paramref name="count"/> leaves: the last bit
    /// shifted out, or 0 once only the zeros shifted in are left to go.</summary>
    static ulong LastOutLeft(ulong value, int count, int bits) => count <= bits ? (value >> (bits - count)) & 1 : 0;

    struct ShlOp : IShiftOp
    {
        public static bool DoublePrecision => false;
        public static ulong Compute(ref CpuState s, ulong value, ulong fill, int count, int bits)
        {
            ulong r = (value << count) & WidthMask(bits);
            ulong cf = LastOutLeft(value, count, bits);
            return ShiftFlags(ref s, r, bits, cf, Msb(r, bits) ^ cf);
        }
    }

    struct ShrOp : IShiftOp
    {
        public static bool DoublePrecision => false;
        public static ulong Compute(ref CpuState s, ulong value, ulong fill, int count, int bits)
        {
            ulong beforeLast = value >> (count - 1);
            return ShiftFlags(ref s, beforeLast >> 1, bits, beforeLast & 1, Msb(beforeLast, bits));
        }
    }

    struct SarOp : IShiftOp
    {
        public static bool DoublePrecision => false;
        public static ulong Compute(ref CpuState s, ulong value, ulong fill, int count, int bits)
        {
            long beforeLast = AsSigned(value, bits / 8) >> (count - 1);
            return ShiftFlags(ref s, (ulong)(beforeLast >> 1) & WidthMask(bits), bits, (ulong)beforeLast & 1, 0);
        }
    }

    struct RolOp : IShiftOp
    {
        public static bool DoublePrecision => false;
        public static ulong Compute(ref CpuState s, ulong value, ulong fill, int count, int bits)
        {
            // An 8- or 16-bit rotate by a multiple of its width leaves the value but still sets CF from it.
            ulong r = RotateLeft(value, count & (bits - 1), bits);
            return RotateFlags(ref s, r, r & 1, Msb(r, bits) ^ (r & 1));
        }
    }

    struct RorOp : IShiftOp
    {
        public static bool DoublePrecision => false;
        public static ulong Compute(ref CpuState s, ulong value, ulong fill, int count, int bits)
        {
            ulong r = RotateRight(value, count & (bits - 1), bits);
            return RotateFlags(ref s, r, Msb(r, bits), Msb(r, bits) ^ Msb(r, bits - 1));
        }
    }

    /// <summary>How far RCL and RCR actually rotate: through CF the operand is one bit wider, so 8- and 16-bit
    /// operands take the masked count modulo 9 and 17.</summary>
    static int ThroughCarryCount(int count, int bits) => bits < 32 ? count % (bits + 1) : count;

    struct RclOp : IShiftOp
    {
        public static bool DoublePrecision => false;
        public static ulong Compute(ref CpuState s, ulong value, ulong fill, int count, int bits)
        {
            int n = ThroughCarryCount(count, bits);
            ulong cf = s.CF ? 1UL : 0;
            ulong r = value;
            if (n != 0)
            {
                // The bits+1-bit value CF:value rotated left by n (1 <= n <= bits).
                r = ((value << n) | (cf << (n - 1)) | (n > 1 ? value >> (bits + 1 - n) : 0)) & WidthMask(bits);
                cf = (value >> (bits - n)) & 1;
            }
            return RotateFlags(ref s, r, cf, Msb(r, bits) ^ cf);
        }
    }

    struct RcrOp : IShiftOp
    {
        public static bool DoublePrecision => false;
        public static ulong Compute(ref CpuState s, ulong value, ulong fill, int count, int bits)
        {
            int n = ThroughCarryCount(count, bits);
            ulong cf = s.CF ? 1UL : 0;
            ulong r = value;
            if (n != 0)
            {
                // The bits+1-bit value CF:value rotated right by n (1 <= n <= bits).
                r = ((value >> n) | (cf << (bits - n)) | (n > 1 ? value << (bits + 1 - n) : 0)) & WidthMask(bits);
                cf = (value >> (n - 1)) & 1;
            }
            return RotateFlags(ref s, r, cf, Msb(r, bits) ^ Msb(r, bits - 1));
        }
    }

    struct ShldOp : IShiftOp
    {
        public static bool DoublePrecision => true;
        public static ulong Compute(ref CpuState s, ulong value, ulong fill, int count, int bits)
        {
            ulong shifted = (value << count) & WidthMask(bits);
            ulong r = count <= bits
                ? shifted | (fill >> (bits - count))
                : RotateLeft(fill, count - bits, bits);
            ulong cf = count <= bits ? (value >> (bits - count)) & 1 : 0;
            return ShiftFlags(ref s, r, bits, cf, Msb(shifted, bits) ^ cf);
        }
    }

    struct ShrdOp : IShiftOp
    {
        public static bool DoublePrecision => true;
        public static ulong Compute(ref CpuState s, ulong value, ulong fill, int count, int bits)
        {
            ulong r = count <= bits
                ? ((value >> count) | (fill << (bits - count))) & WidthMask(bits)
                : RotateRight(fill, count - bits, bits);
            ulong cf = count <= bits ? (value >> (count - 1)) & 1 : 0;
            return ShiftFlags(ref s, r, bits, cf, Msb(r, bits) ^ Msb(r, bits - 1));
        }
    }
}
