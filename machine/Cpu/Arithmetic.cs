using Iced.Intel;

namespace Repl.Machine;

/// <summary>A two-operand ALU operation: computes the result and records the flags it defines.</summary>
interface IAluOp
{
    /// <summary>False for CMP and TEST, which only set flags.</summary>
    static abstract bool WritesResult { get; }
    static abstract ulong Compute(ref CpuState s, ulong a, ulong b, int size);
}

/// <summary>Binary arithmetic (SDM Vol. 1, 7.3.2): ADD, ADC, SUB, SBB, CMP, INC, DEC, NEG.</summary>
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
