using Iced.Intel;

namespace Repl.Machine;

/// <summary>Logical instructions (SDM Vol. 1, 7.3.4): AND, OR, XOR, TEST, NOT.</summary>
public sealed unsafe partial class Cpu
{
    static delegate*<Cpu, ref Decoded, void> SelectLogic(in Instruction i) => i.Mnemonic switch
    {
        Mnemonic.And => &Alu<AndOp>,
        Mnemonic.Or => &Alu<OrOp>,
        Mnemonic.Xor => &Alu<XorOp>,
        Mnemonic.Test => &Alu<TestOp>,
        Mnemonic.Not => &Not,
        _ => null,
    };

    /// <summary>NOT: one's complement; no flags change.</summary>
    static void Not(Cpu c, ref Decoded d)
    {
        ulong a = c.ReadDestination(ref d, out ulong linear);
        c.WriteDestination(ref d, linear, ~a & SizeMask(d.Ops[0].Size));
    }

    /// <summary>Records a logical result: CF and OF cleared, ZF/SF/PF from the result.</summary>
    static ulong LogicResult(ref CpuState s, ulong r, int size)
    {
        s.SetLazyFlags(FlagOp.Logic, size * 8, 0, 0, r);
        return r;
    }

    struct AndOp : IAluOp
    {
        public static bool WritesResult => true;
        public static ulong Compute(ref CpuState s, ulong a, ulong b, int size) => LogicResult(ref s, a & b, size);
    }

    struct OrOp : IAluOp
    {
        public static bool WritesResult => true;
        public static ulong Compute(ref CpuState s, ulong a, ulong b, int size) => LogicResult(ref s, a | b, size);
    }

    struct XorOp : IAluOp
    {
        public static bool WritesResult => true;
        public static ulong Compute(ref CpuState s, ulong a, ulong b, int size) => LogicResult(ref s, a ^ b, size);
    }

    struct TestOp : IAluOp
    {
        public static bool WritesResult => false;
        public static ulong Compute(ref CpuState s, ulong a, ulong b, int size) => LogicResult(ref s, a & b, size);
    }
}
