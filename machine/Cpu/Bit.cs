using System.Numerics;
using System.Runtime.CompilerServices;
using Iced.Intel;

namespace Repl.Machine;

/// <summary>
/// Bit instructions: bit test and modify, bit scan (SDM Vol. 1, 7.3.7.1 and 7.3.7.2), the counts TZCNT, LZCNT and
/// POPCNT, and the BMI1/BMI2 groups (SDM Vol. 2, each instruction's page; CPUID.07H:EBX.BMI1/BMI2).
/// <para>
/// Where the manuals leave flags undefined, these handlers do what an AMD Zen processor was measured to do
/// (EPYC, BMI1/BMI2/ABM), for both vendor profiles: the Intel behaviour is not known here for certain.
/// </para>
/// </summary>
public sealed unsafe partial class Cpu
{
    static delegate*<Cpu, ref Decoded, void> SelectBit(in Instruction i) => i.Mnemonic switch
    {
        Mnemonic.Bt => &BitTest<BtOp>,
        Mnemonic.Bts => &BitTest<BtsOp>,
        Mnemonic.Btr => &BitTest<BtrOp>,
        Mnemonic.Btc => &BitTest<BtcOp>,
        Mnemonic.Bsf => &Bsf,
        Mnemonic.Bsr => &Bsr,
        Mnemonic.Tzcnt => &BitUnary<TzcntOp>,
        Mnemonic.Lzcnt => &BitUnary<LzcntOp>,
        Mnemonic.Popcnt => &BitUnary<PopcntOp>,
        Mnemonic.Blsi => &BitUnary<BlsiOp>,
        Mnemonic.Blsmsk => &BitUnary<BlsmskOp>,
        Mnemonic.Blsr => &BitUnary<BlsrOp>,
        Mnemonic.Andn => &BitBinary<AndnOp>,
        // BEXTR with an immediate control word is AMD's XOP-encoded TBM form, which CPUID does not report.
        Mnemonic.Bextr => i.Code is Code.VEX_Bextr_r32_rm32_r32 or Code.VEX_Bextr_r64_rm64_r64 ? &BitBinary<BextrOp> : &InvalidOpcode,
        Mnemonic.Bzhi => &BitBinary<BzhiOp>,
        Mnemonic.Pdep => &BitBinary<PdepOp>,
        Mnemonic.Pext => &BitBinary<PextOp>,
        Mnemonic.Rorx => &BitBinary<RorxOp>,
        Mnemonic.Sarx => &BitBinary<SarxOp>,
        Mnemonic.Shlx => &BitBinary<ShlxOp>,
        Mnemonic.Shrx => &BitBinary<ShrxOp>,
        Mnemonic.Mulx => &Mulx,
        _ => null,
    };

    /// <summary>What BT, BTS, BTR or BTC leaves in the operand once the selected bit has been copied to CF.</summary>
    interface IBitTestOp
    {
        /// <summary>False for BT, which only reads.</summary>
        static abstract bool WritesResult { get; }
        static abstract ulong Modify(ulong value, ulong bit);
    }

    /// <summary>
    /// BT, BTS, BTR, BTC (SDM Vol. 2, BT): CF takes the selected bit, which BTS sets, BTR clears and BTC flips.
    /// An immediate bit offset is taken modulo the operand width. A register offset into a register is too; into
    /// memory it is a signed integer that selects a bit anywhere in the bit string starting at the operand, so
    /// the operand-sized unit holding the bit lies at EA + size * floor(offset / width), wrapped to the address
    /// size like any effective address, and only that unit is accessed.
    /// ZF is unaffected; OF, SF, AF and PF are undefined and, as hardware does, left unchanged.
    /// </summary>
    static void BitTest<TOp>(Cpu c, ref Decoded d) where TOp : struct, IBitTestOp
    {
        ref Operand target = ref d.Ops[0];
        int size = target.Size;
        int bits = size * 8;
        ulong offset = c.ReadOperand(ref d, 1);
        ulong bit = 1UL << (int)(offset & (ulong)(bits - 1));
        ulong value;
        if (target.Kind == OperandKind.Gpr)
        {
            value = c.ReadGpr(target.Reg, size);
            if (TOp.WritesResult)
                c.WriteGpr(target.Reg, size, TOp.Modify(value, bit));
        }
        else
        {
            ulong ea = c.EffectiveAddress(ref d);
            if (d.Ops[1].Kind == OperandKind.Gpr)
            {
                long signedOffset = (long)(offset << (64 - bits)) >> (64 - bits);
                long unit = signedOffset >> BitOperations.Log2((uint)bits);
                ea = (ea + (ulong)(unit * size)) & SizeMask(d.AddressSize);
            }
            if (TOp.WritesResult)
            {
                // Segment writability is checked before the read, so a fault leaves memory and CF alone.
                ulong linear = c.Linear(d.MemSegment, ea, size, Access.Write);
                value = c.ReadLinear(linear, size);
                c.WriteLinear(linear, size, TOp.Modify(value, bit));
            }
            else
                value = c.ReadMemory(d.MemSegment, ea, size);
        }
        c.State.SetFlag(RflagsBit.CF, (value & bit) != 0);
    }

    struct BtOp : IBitTestOp
    {
        public static bool WritesResult => false;
        public static ulong Modify(ulong value, ulong bit) => value;
    }

    struct BtsOp : IBitTestOp
    {
        public static bool WritesResult => true;
        public static ulong Modify(ulong value, ulong bit) => value | bit;
    }

    struct BtrOp : IBitTestOp
    {
        public static bool WritesResult => true;
        public static ulong Modify(ulong value, ulong bit) => value & ~bit;
    }

    struct BtcOp : IBitTestOp
    {
        public static bool WritesResult => true;
        public static ulong Modify(ulong value, ulong bit) => value ^ bit;
    }

    static void Bsf(Cpu c, ref Decoded d) => BitScan(c, ref d, forward: true);

    static void Bsr(Cpu c, ref Decoded d) => BitScan(c, ref d, forward: false);

    /// <summary>
    /// BSF and BSR (SDM Vol. 2, BSF/BSR): the index of the lowest or highest set bit of the source. A zero source
    /// sets ZF and leaves the destination unchanged, all 64 bits of it even for a 32-bit destination: the SDM calls
    /// the destination undefined, AMD documents it unchanged, and Intel and AMD hardware both leave it so.
    /// CF, OF, SF, AF, PF are undefined: as measured on AMD hardware, all are cleared except PF, which is the
    /// parity of the index (of 0 when the source is 0).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void BitScan(Cpu c, ref Decoded d, bool forward)
    {
        ulong source = c.ReadOperand(ref d, 1);
        if (source == 0)
        {
            c.State.SetArithmeticFlags((ulong)(RflagsBit.ZF | RflagsBit.PF));
            return;
        }
        ulong index = (ulong)(forward ? BitOperations.TrailingZeroCount(source) : 63 - BitOperations.LeadingZeroCount(source));
        c.WriteGpr(d.Ops[0].Reg, d.Ops[0].Size, index);
        c.State.SetArithmeticFlags(CpuState.Parity((byte)index) ? (ulong)RflagsBit.PF : 0);
    }

    /// <summary>An instruction computing a GPR from one source operand.</summary>
    interface IUnaryBitOp
    {
        /// <summary>The result of <paramref name="a"/> (masked to <paramref name="bits"/>); sets the flags.</summary>
        static abstract ulong Compute(ref CpuState s, ulong a, int bits);
    }

    /// <summary>An instruction computing a GPR from two source operands.</summary>
    interface IBinaryBitOp
    {
        /// <summary>The result of <paramref name="a"/> and <paramref name="b"/> (masked to <paramref name="bits"/>);
        /// sets the flags, if the instruction has any.</summary>
        static abstract ulong Compute(ref CpuState s, ulong a, ulong b, int bits);
    }

    /// <summary>dst = op(operand 1): TZCNT, LZCNT, POPCNT, and BLSI, BLSMSK, BLSR (whose destination is VEX.vvvv).
    /// The source is read before anything changes, so a faulting memory source leaves no trace.</summary>
    static void BitUnary<TOp>(Cpu c, ref Decoded d) where TOp : struct, IUnaryBitOp
    {
        ref Operand dst = ref d.Ops[0];
        ulong a = c.ReadOperand(ref d, 1);
        c.WriteGpr(dst.Reg, dst.Size, TOp.Compute(ref c.State, a, dst.Size * 8) & SizeMask(dst.Size));
    }

    /// <summary>dst = op(operand 1, operand 2), for the VEX-encoded BMI instructions. Iced orders the operands as the
    /// SDM's Op/En columns do, so each operation's <c>a</c> and <c>b</c> are named after its SDM page.</summary>
    static void BitBinary<TOp>(Cpu c, ref Decoded d) where TOp : struct, IBinaryBitOp
    {
        ref Operand dst = ref d.Ops[0];
        ulong a = c.ReadOperand(ref d, 1);
        ulong b = c.ReadOperand(ref d, 2);
        c.WriteGpr(dst.Reg, dst.Size, TOp.Compute(ref c.State, a, b, dst.Size * 8) & SizeMask(dst.Size));
    }

    /// <summary>
    /// The flags of TZCNT and LZCNT (SDM Vol. 2, TZCNT/LZCNT): CF when the source is zero, ZF when the count is.
    /// OF, SF, AF, PF are undefined: AMD hardware was measured to keep OF and clear the other three.
    /// </summary>
    static void SetCountFlags(ref CpuState s, ulong source, ulong count) =>
        s.SetArithmeticFlags((s.OF ? (ulong)RflagsBit.OF : 0)
            | (source == 0 ? (ulong)RflagsBit.CF : 0)
            | (count == 0 ? (ulong)RflagsBit.ZF : 0));

    /// <summary>TZCNT: trailing zero bits; the operand width for a zero source.</summary>
    struct TzcntOp : IUnaryBitOp
    {
        public static ulong Compute(ref CpuState s, ulong a, int bits)
        {
            ulong count = (ulong)Math.Min(BitOperations.TrailingZeroCount(a), bits);
            SetCountFlags(ref s, a, count);
            return count;
        }
    }

    /// <summary>LZCNT: leading zero bits within the operand width.</summary>
    struct LzcntOp : IUnaryBitOp
    {
        public static ulong Compute(ref CpuState s, ulong a, int bits)
        {
            ulong count = (ulong)(BitOperations.LeadingZeroCount(a) - (64 - bits));
            SetCountFlags(ref s, a, count);
            return count;
        }
    }

    /// <summary>POPCNT: every flag cleared, then ZF set for a zero source (SDM Vol. 2, POPCNT).</summary>
    struct PopcntOp : IUnaryBitOp
    {
        public static ulong Compute(ref CpuState s, ulong a, int bits)
        {
            s.SetArithmeticFlags(a == 0 ? (ulong)RflagsBit.ZF : 0);
            return (ulong)BitOperations.PopCount(a);
        }
    }

    /// <summary>
    /// The flags of BLSI, BLSMSK, BLSR and BZHI: ZF and SF from the result, CF as the instruction defines it, OF
    /// cleared. AF and PF are undefined: AMD hardware clears AF and sets PF from the result, as here. (BLSMSK
    /// defines ZF as cleared; its result is never zero, so ZF from the result is that.)
    /// </summary>
    static ulong MaskResult(ref CpuState s, ulong result, int bits, bool carry)
    {
        result &= SizeMask(bits / 8);
        s.SetArithmeticFlags(CpuState.ResultFlags(result, bits) | (carry ? (ulong)RflagsBit.CF : 0));
        return result;
    }

    /// <summary>BLSI: the lowest set bit alone; CF when the source is not zero.</summary>
    struct BlsiOp : IUnaryBitOp
    {
        public static ulong Compute(ref CpuState s, ulong a, int bits) => MaskResult(ref s, a & (0 - a), bits, a != 0);
    }

    /// <summary>BLSMSK: a mask up to and including the lowest set bit; CF when the source is zero.</summary>
    struct BlsmskOp : IUnaryBitOp
    {
        public static ulong Compute(ref CpuState s, ulong a, int bits) => MaskResult(ref s, a ^ (a - 1), bits, a == 0);
    }

    /// <summary>BLSR: the source with its lowest set bit cleared; CF when the source is zero.</summary>
    struct BlsrOp : IUnaryBitOp
    {
        public static ulong Compute(ref CpuState s, ulong a, int bits) => MaskResult(ref s, a & (a - 1), bits, a == 0);
    }

    /// <summary>BZHI r, r/m (a), index (b): clears the bits from position b[7:0] up; CF when that position is
    /// beyond the operand, which then passes unchanged.</summary>
    struct BzhiOp : IBinaryBitOp
    {
        public static ulong Compute(ref CpuState s, ulong a, ulong b, int bits)
        {
            int n = (int)(b & 0xFF);
            return n < bits ? MaskResult(ref s, a & ((1UL << n) - 1), bits, false) : MaskResult(ref s, a, bits, true);
        }
    }

    /// <summary>ANDN r, src1 (a, VEX.vvvv), src2 (b, r/m): NOT a AND b, with the flags of a logical instruction
    /// (SF and ZF from the result, CF and OF cleared; AF and PF, undefined, as AND sets them, as AMD hardware does).</summary>
    struct AndnOp : IBinaryBitOp
    {
        public static ulong Compute(ref CpuState s, ulong a, ulong b, int bits)
        {
            ulong r = ~a & b & SizeMask(bits / 8);
            s.SetLazyFlags(FlagOp.Logic, bits, 0, 0, r);
            return r;
        }
    }

    /// <summary>
    /// BEXTR r, r/m (a), control (b): the field of b[15:8] bits starting at bit b[7:0], zero-extended; bits past
    /// the operand read as zero. ZF from the result, CF and OF cleared. AF, SF and PF are undefined: AMD hardware
    /// was measured to set AF, clear SF and set PF from the result, as here.
    /// </summary>
    struct BextrOp : IBinaryBitOp
    {
        public static ulong Compute(ref CpuState s, ulong a, ulong b, int bits)
        {
            int start = (int)(b & 0xFF), length = (int)((b >> 8) & 0xFF);
            ulong r = start >= bits ? 0 : a >> start;
            if (length < 64)
                r &= (1UL << length) - 1;
            s.SetArithmeticFlags((ulong)RflagsBit.AF | (r == 0 ? (ulong)RflagsBit.ZF : 0)
                | (CpuState.Parity((byte)r) ? (ulong)RflagsBit.PF : 0));
            return r;
        }
    }

    /// <summary>PDEP r, src (a, VEX.vvvv), mask (b, r/m): the low bits of a, in order, scattered to the set bits of
    /// the mask. No flags change.</summary>
    struct PdepOp : IBinaryBitOp
    {
        public static ulong Compute(ref CpuState s, ulong a, ulong b, int bits)
        {
            ulong r = 0;
            for (ulong mask = b, k = 1; mask != 0; mask &= mask - 1, k <<= 1)
                if ((a & k) != 0)
                    r |= mask & (0 - mask);
            return r;
        }
    }

    /// <summary>PEXT r, src (a, VEX.vvvv), mask (b, r/m): the bits of a under the set bits of the mask, gathered
    /// into the low bits in order. No flags change.</summary>
    struct PextOp : IBinaryBitOp
    {
        public static ulong Compute(ref CpuState s, ulong a, ulong b, int bits)
        {
            ulong r = 0;
            for (ulong mask = b, k = 1; mask != 0; mask &= mask - 1, k <<= 1)
                if ((a & mask & (0 - mask)) != 0)
                    r |= k;
            return r;
        }
    }

    /// <summary>The count of RORX, SARX, SHLX, SHRX: 5 bits for a 32-bit operand, 6 for a 64-bit one.</summary>
    static int ShiftCount(ulong count, int bits) => (int)(count & (ulong)(bits - 1));

    /// <summary>RORX r, r/m (a), imm8 (b): rotate right without touching the flags.</summary>
    struct RorxOp : IBinaryBitOp
    {
        public static ulong Compute(ref CpuState s, ulong a, ulong b, int bits)
        {
            int n = ShiftCount(b, bits);
            return n == 0 ? a : (a >> n) | (a << (bits - n));
        }
    }

    /// <summary>SARX r, r/m (a), count (b, VEX.vvvv): arithmetic shift right without touching the flags.</summary>
    struct SarxOp : IBinaryBitOp
    {
        public static ulong Compute(ref CpuState s, ulong a, ulong b, int bits) =>
            (ulong)(((long)(a << (64 - bits)) >> (64 - bits)) >> ShiftCount(b, bits));
    }

    /// <summary>SHLX r, r/m (a), count (b, VEX.vvvv): shift left without touching the flags.</summary>
    struct ShlxOp : IBinaryBitOp
    {
        public static ulong Compute(ref CpuState s, ulong a, ulong b, int bits) => a << ShiftCount(b, bits);
    }

    /// <summary>SHRX r, r/m (a), count (b, VEX.vvvv): logical shift right without touching the flags.</summary>
    struct ShrxOp : IBinaryBitOp
    {
        public static ulong Compute(ref CpuState s, ulong a, ulong b, int bits) => a >> ShiftCount(b, bits);
    }

    /// <summary>
    /// MULX high (ModRM.reg), low (VEX.vvvv), r/m: unsigned rDX * r/m without touching the flags. The low half is
    /// written first, so when both destinations name one register it ends up holding the high half (SDM Vol. 2, MULX).
    /// </summary>
    static void Mulx(Cpu c, ref Decoded d)
    {
        int size = d.Ops[0].Size;
        ulong source = c.ReadOperand(ref d, 2);
        ulong rdx = c.ReadGpr((int)Gpr.Rdx, size);
        ulong high, low;
        if (size == 8)
            high = Math.BigMul(rdx, source, out low);
        else
        {
            ulong product = rdx * source;
            (high, low) = (product >> 32, (uint)product);
        }
        c.WriteGpr(d.Ops[1].Reg, size, low);
        c.WriteGpr(d.Ops[0].Reg, size, high);
    }
}
