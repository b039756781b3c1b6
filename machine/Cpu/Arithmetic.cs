using Iced.Intel;

namespace Repl.Machine;

/// <summary>A two-operand ALU operation: computes the result and records the flags it defines.</summary>
interface IAluOp
{
    /// <summary>False for CMP and TEST, which only set flags.</summary>
    static abstract bool WritesResult { get; }
    static abstract ulong Compute(ref CpuState s, ulong a, ulong b, int size);
}

/// <summary>
/// Binary arithmetic (SDM Vol. 1, 7.3.2): ADD, ADC, SUB, SBB, CMP, INC, DEC, NEG, MUL, IMUL, DIV, IDIV; with the
/// type conversions of the accumulator (7.3.1.5: CBW/CWDE/CDQE, CWD/CDQ/CQO) and the exchanges that compute
/// (7.3.1.2: XADD, CMPXCHG, CMPXCHG8B, CMPXCHG16B).
/// </summary>
/// <remarks>
/// Where the manuals leave flags undefined, the machine gives them the values an AMD family 1Ah processor was
/// measured to produce, for both vendor profiles (what Intel parts do is not known here for certain):
/// MUL and IMUL leave SF, ZF, AF and PF unchanged; DIV and IDIV clear SF, ZF and PF, set AF and leave CF and OF.
/// </remarks>
public sealed unsafe partial class Cpu
{
    static delegate*<Cpu, ref Decoded, void> SelectArithmetic(in Instruction i) => i.Mnemonic switch
    {
        Mnemonic.Add => &Alu<AddOp>,
        Mnemonic.Adc => &Alu<AdcOp>,
        Mnemonic.Sub => &Alu<SubOp>,
        Mnemonic.Sbb => &Alu<SbbOp>,
        Mnemonic.Cmp => &Alu<CmpOp>,
        Mnemonic.Inc => &IncDec<AddOp>,
        Mnemonic.Dec => &IncDec<SubOp>,
        Mnemonic.Neg => &Neg,
        Mnemonic.Mul => &Mul,
        Mnemonic.Imul => i.OpCount == 1 ? &ImulWide : &ImulTruncated,
        Mnemonic.Div => &Div,
        Mnemonic.Idiv => &Idiv,
        Mnemonic.Cbw => &Cbw,
        Mnemonic.Cwde => &Cwde,
        Mnemonic.Cdqe => &Cdqe,
        Mnemonic.Cwd => &Cwd,
        Mnemonic.Cdq => &Cdq,
        Mnemonic.Cqo => &Cqo,
        Mnemonic.Xadd => &Xadd,
        Mnemonic.Cmpxchg => &Cmpxchg,
        Mnemonic.Cmpxchg8b or Mnemonic.Cmpxchg16b => &CmpxchgPair,
        _ => null,
    };

    /// <summary>dst = dst OP src, for every form: r/m with r, r with r/m, r/m with imm, accumulator with imm.</summary>
    internal static void Alu<TOp>(Cpu c, ref Decoded d) where TOp : struct, IAluOp
    {
        int size = d.Ops[0].Size;
        ulong b = c.ReadOperand(ref d, 1);
        if (!TOp.WritesResult)
        {
            TOp.Compute(ref c.State, c.ReadOperand(ref d, 0), b, size);
            return;
        }
        ulong a = c.ReadDestination(ref d, out ulong linear);
        ulong r = TOp.Compute(ref c.State, a, b, size);
        c.WriteDestination(ref d, linear, r);
    }

    /// <summary>INC and DEC: ADD or SUB of 1 that leaves CF alone.</summary>
    static void IncDec<TOp>(Cpu c, ref Decoded d) where TOp : struct, IAluOp
    {
        int size = d.Ops[0].Size;
        ulong a = c.ReadDestination(ref d, out ulong linear);
        bool add = typeof(TOp) == typeof(AddOp);
        ulong r = (add ? a + 1 : a - 1) & SizeMask(size);
        c.State.SetLazyFlags(add ? FlagOp.Inc : FlagOp.Dec, size * 8, a, 1, r);
        c.WriteDestination(ref d, linear, r);
    }

    /// <summary>NEG: 0 - dst, with the flags of that subtraction (CF set unless the operand was 0).</summary>
    static void Neg(Cpu c, ref Decoded d)
    {
        int size = d.Ops[0].Size;
        ulong a = c.ReadDestination(ref d, out ulong linear);
        ulong r = (0 - a) & SizeMask(size);
        c.State.SetLazyFlags(FlagOp.Sub, size * 8, 0, a, r);
        c.WriteDestination(ref d, linear, r);
    }

    /// <summary>Replaces the arithmetic flags selected by <paramref name="changed"/> with those in
    /// <paramref name="values"/>, keeping the others (for instructions that define only some of the six).</summary>
    internal static void ReplaceFlags(ref CpuState s, RflagsBit changed, ulong values) =>
        s.SetArithmeticFlags((s.Rflags & ~(ulong)changed) | (values & (ulong)changed));

    /// <summary>An operand of <paramref name="size"/> bytes read as a signed number (sign-extended to 64 bits).</summary>
    internal static long AsSigned(ulong value, int size) => (long)(value << (64 - size * 8)) >> (64 - size * 8);

    /// <summary>The double-width product of two <paramref name="size"/>-byte operands, as high and low halves
    /// of that size.</summary>
    static (ulong High, ulong Low) FullProduct(ulong a, ulong b, int size, bool signed)
    {
        if (size == 8)
        {
            if (signed)
            {
                long high = Math.BigMul((long)a, (long)b, out long low);
                return ((ulong)high, (ulong)low);
            }
            ulong h = Math.BigMul(a, b, out ulong l);
            return (h, l);
        }
        // Narrower products fit in 64 bits.
        ulong p = signed ? (ulong)(AsSigned(a, size) * AsSigned(b, size)) : a * b;
        return ((p >> (size * 8)) & SizeMask(size), p & SizeMask(size));
    }

    /// <summary>CF and OF say whether the product needed the high half: for MUL, whether it is non-zero; for IMUL,
    /// whether it is more than the sign extension of the low half (SDM, MUL and IMUL pages).</summary>
    static void SetMultiplyFlags(ref CpuState s, ulong high, ulong low, int size, bool signed)
    {
        ulong extension = signed && ((low >> (size * 8 - 1)) & 1) != 0 ? SizeMask(size) : 0;
        bool overflow = high != extension;
        ReplaceFlags(ref s, RflagsBit.CF | RflagsBit.OF, overflow ? (ulong)(RflagsBit.CF | RflagsBit.OF) : 0);
    }

    static void Mul(Cpu c, ref Decoded d) => WideMultiply(c, ref d, signed: false);

    static void ImulWide(Cpu c, ref Decoded d) => WideMultiply(c, ref d, signed: true);

    /// <summary>MUL and one-operand IMUL: the accumulator times r/m, into AX, DX:AX, EDX:EAX or RDX:RAX.</summary>
    static void WideMultiply(Cpu c, ref Decoded d, bool signed)
    {
        int size = d.Ops[0].Size;
        var (high, low) = FullProduct(c.ReadGpr((int)Gpr.Rax, size), c.ReadOperand(ref d, 0), size, signed);
        if (size == 1)
            c.WriteGpr((int)Gpr.Rax, 2, (high << 8) | low);
        else
        {
            c.WriteGpr((int)Gpr.Rax, size, low);
            c.WriteGpr((int)Gpr.Rdx, size, high);
        }
        SetMultiplyFlags(ref c.State, high, low, size, signed);
    }

    /// <summary>Two- and three-operand IMUL: r = r * r/m, or r = r/m * imm, truncated to the operand size.</summary>
    static void ImulTruncated(Cpu c, ref Decoded d)
    {
        int size = d.Ops[0].Size;
        int first = d.Ops[2].Kind == OperandKind.Immediate ? 1 : 0;
        var (high, low) = FullProduct(c.ReadOperand(ref d, first), c.ReadOperand(ref d, first + 1), size, signed: true);
        c.WriteGpr(d.Ops[0].Reg, size, low);
        SetMultiplyFlags(ref c.State, high, low, size, signed: true);
    }

    static void Div(Cpu c, ref Decoded d) => Divide(c, ref d, signed: false);

    static void Idiv(Cpu c, ref Decoded d) => Divide(c, ref d, signed: true);

    /// <summary>
    /// DIV and IDIV: AX, DX:AX, EDX:EAX or RDX:RAX divided by r/m, quotient into AL/AX/EAX/RAX and remainder into
    /// AH/DX/EDX/RDX. A zero divisor, or a quotient too wide for its register (IDIV of the most negative
    /// dividend by -1 among them), is #DE before anything is written. IDIV truncates toward zero and gives the
    /// remainder the dividend's sign.
    /// </summary>
    static void Divide(Cpu c, ref Decoded d, bool signed)
    {
        int size = d.Ops[0].Size;
        int bits = size * 8;
        ulong divisor = c.ReadOperand(ref d, 0);
        if (divisor == 0)
            throw new CpuFault(Vector.DE);
        UInt128 dividend = size == 1
            ? c.ReadGpr((int)Gpr.Rax, 2)
            : ((UInt128)c.ReadGpr((int)Gpr.Rdx, size) << bits) | c.ReadGpr((int)Gpr.Rax, size);

        // Divide magnitudes, then apply the signs: no host operation can overflow this way.
        bool negativeDividend = signed && ((dividend >> (2 * bits - 1)) & 1) != 0;
        bool negativeDivisor = signed && ((divisor >> (bits - 1)) & 1) != 0;
        UInt128 dividendMagnitude = negativeDividend ? (UInt128.Zero - dividend) & DividendMask(2 * bits) : dividend;
        ulong divisorMagnitude = negativeDivisor ? (0 - divisor) & SizeMask(size) : divisor;
        UInt128 quotient = UInt128.DivRem(dividendMagnitude, divisorMagnitude).Quotient;
        ulong remainder = (ulong)(dividendMagnitude - quotient * divisorMagnitude);
        bool negativeQuotient = negativeDividend != negativeDivisor;
        UInt128 largest = !signed ? SizeMask(size) : negativeQuotient ? 1UL << (bits - 1) : (1UL << (bits - 1)) - 1;
        if (quotient > largest)
            throw new CpuFault(Vector.DE);

        ulong q = (negativeQuotient ? 0 - (ulong)quotient : (ulong)quotient) & SizeMask(size);
        ulong r = (negativeDividend ? 0 - remainder : remainder) & SizeMask(size);
        if (size == 1)
            c.WriteGpr((int)Gpr.Rax, 2, (r << 8) | q);
        else
        {
            c.WriteGpr((int)Gpr.Rax, size, q);
            c.WriteGpr((int)Gpr.Rdx, size, r);
        }
        // All six flags are undefined; see the class remarks for these values.
        ReplaceFlags(ref c.State, RflagsBit.SF | RflagsBit.ZF | RflagsBit.AF | RflagsBit.PF, (ulong)RflagsBit.AF);
    }

    static UInt128 DividendMask(int bits) => bits == 128 ? UInt128.MaxValue : (UInt128.One << bits) - 1;

    static void Cbw(Cpu c, ref Decoded d) => c.SignExtendAccumulator(2);

    static void Cwde(Cpu c, ref Decoded d) => c.SignExtendAccumulator(4);

    static void Cdqe(Cpu c, ref Decoded d) => c.SignExtendAccumulator(8);

    /// <summary>CBW, CWDE, CDQE: AX, EAX or RAX receives the sign extension of its own lower half.</summary>
    void SignExtendAccumulator(int size) =>
        WriteGpr((int)Gpr.Rax, size, (ulong)AsSigned(ReadGpr((int)Gpr.Rax, size / 2), size / 2));

    static void Cwd(Cpu c, ref Decoded d) => c.SignIntoRdx(2);

    static void Cdq(Cpu c, ref Decoded d) => c.SignIntoRdx(4);

    static void Cqo(Cpu c, ref Decoded d) => c.SignIntoRdx(8);

    /// <summary>CWD, CDQ, CQO: DX, EDX or RDX receives copies of the sign bit of AX, EAX or RAX.</summary>
    void SignIntoRdx(int size) =>
        WriteGpr((int)Gpr.Rdx, size, (ulong)(AsSigned(ReadGpr((int)Gpr.Rax, size), size) >> 63));

    /// <summary>XADD: TEMP = SRC + DEST; SRC = DEST; DEST = TEMP, with the flags of the addition. When both
    /// operands are one register it ends holding the sum, as the SDM's order of assignments says.</summary>
    static void Xadd(Cpu c, ref Decoded d)
    {
        int size = d.Ops[0].Size;
        ulong source = c.ReadOperand(ref d, 1);
        ulong destination = c.ReadDestination(ref d, out ulong linear);
        ulong sum = AddOp.Compute(ref c.State, destination, source, size);
        c.WriteGpr(d.Ops[1].Reg, size, destination);
        c.WriteDestination(ref d, linear, sum);
    }

    /// <summary>
    /// CMPXCHG: compares the accumulator with the destination (flags as CMP); if equal the destination receives
    /// the source, otherwise the accumulator receives the destination. A memory destination is written either way
    /// (the SDM: "the destination operand receives a write cycle without regard to the result of the
    /// comparison"). Registers follow the hardware: only the register that is assigned is written, so a 32-bit
    /// CMPXCHG that succeeds leaves the upper half of RAX alone, and one that fails leaves a register
    /// destination's upper half alone while zero-extending EAX into RAX.
    /// </summary>
    static void Cmpxchg(Cpu c, ref Decoded d)
    {
        int size = d.Ops[0].Size;
        ulong source = c.ReadOperand(ref d, 1);
        ulong destination = c.ReadDestination(ref d, out ulong linear);
        ulong accumulator = c.ReadGpr((int)Gpr.Rax, size);
        SubOp.Compute(ref c.State, accumulator, destination, size);
        if (accumulator == destination)
        {
            c.WriteDestination(ref d, linear, source);
            return;
        }
        if (d.Ops[0].Kind == OperandKind.Memory)
            c.WriteDestination(ref d, linear, destination);
        c.WriteGpr((int)Gpr.Rax, size, destination);
    }

    /// <summary>
    /// CMPXCHG8B and CMPXCHG16B: compares EDX:EAX (RDX:RAX) with the memory operand; if equal it receives
    /// ECX:EBX (RCX:RBX), otherwise EDX:EAX (RDX:RAX) receives it, zero-extended in 64-bit mode. Only ZF changes.
    /// CMPXCHG16B needs a 16-byte-aligned operand, else #GP(0), which outranks page faults and #AC. The register
    /// forms decode as invalid (#UD).
    /// </summary>
    static void CmpxchgPair(Cpu c, ref Decoded d)
    {
        int size = d.Ops[0].Size;
        int half = size / 2;
        if (size == 16 && (c.Linear(d.MemSegment, c.EffectiveAddress(ref d), size, Access.Write) & 15) != 0)
            throw new CpuFault(Vector.GP, 0);
        ulong linear = c.CheckWritable(ref d, size);
        ulong low = c.ReadLinear(linear, half);
        ulong high = c.ReadLinear(linear + (ulong)half, half);
        bool equal = low == c.ReadGpr((int)Gpr.Rax, half) && high == c.ReadGpr((int)Gpr.Rdx, half);
        if (equal)
        {
            low = c.ReadGpr((int)Gpr.Rbx, half);
            high = c.ReadGpr((int)Gpr.Rcx, half);
        }
        c.WriteLinear(linear, half, low);
        c.WriteLinear(linear + (ulong)half, half, high);
        if (!equal)
        {
            c.WriteGpr((int)Gpr.Rax, half, low);
            c.WriteGpr((int)Gpr.Rdx, half, high);
        }
        c.State.SetFlag(RflagsBit.ZF, equal);
    }

    /// <summary>All six flags of an addition or subtraction with a carry or borrow in (ADC, SBB).</summary>
    static ulong CarryChainFlags(ulong a, ulong b, ulong r, bool carryOut, bool subtract, int bits)
    {
        ulong overflow = subtract ? (a ^ b) & (a ^ r) : (a ^ r) & (b ^ r);
        return CpuState.ResultFlags(r, bits)
            | (carryOut ? (ulong)RflagsBit.CF : 0)
            | (((overflow >> (bits - 1)) & 1) != 0 ? (ulong)RflagsBit.OF : 0)
            | ((a ^ b ^ r) & (ulong)RflagsBit.AF);
    }

    struct AddOp : IAluOp
    {
        public static bool WritesResult => true;
        public static ulong Compute(ref CpuState s, ulong a, ulong b, int size)
        {
            ulong r = (a + b) & SizeMask(size);
            s.SetLazyFlags(FlagOp.Add, size * 8, a, b, r);
            return r;
        }
    }

    struct AdcOp : IAluOp
    {
        public static bool WritesResult => true;
        public static ulong Compute(ref CpuState s, ulong a, ulong b, int size)
        {
            ulong carry = s.CF ? 1UL : 0;
            ulong r = (a + b + carry) & SizeMask(size);
            s.SetArithmeticFlags(CarryChainFlags(a, b, r, r < a || (carry != 0 && r == a), false, size * 8));
            return r;
        }
    }

    struct SubOp : IAluOp
    {
        public static bool WritesResult => true;
        public static ulong Compute(ref CpuState s, ulong a, ulong b, int size)
        {
            ulong r = (a - b) & SizeMask(size);
            s.SetLazyFlags(FlagOp.Sub, size * 8, a, b, r);
            return r;
        }
    }

    struct SbbOp : IAluOp
    {
        public static bool WritesResult => true;
        public static ulong Compute(ref CpuState s, ulong a, ulong b, int size)
        {
            ulong borrow = s.CF ? 1UL : 0;
            ulong r = (a - b - borrow) & SizeMask(size);
            s.SetArithmeticFlags(CarryChainFlags(a, b, r, a < b || (borrow != 0 && a == b), true, size * 8));
            return r;
        }
    }

    struct CmpOp : IAluOp
    {
        public static bool WritesResult => false;
        public static ulong Compute(ref CpuState s, ulong a, ulong b, int size) => SubOp.Compute(ref s, a, b, size);
    }
}
