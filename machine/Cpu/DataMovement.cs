using Iced.Intel;

namespace Repl.Machine;

/// <summary>Data transfer (SDM Vol. 1, 7.3.1): MOV and LEA.</summary>
public sealed unsafe partial class Cpu
{
    static delegate*<Cpu, ref Decoded, void> SelectDataMovement(in Instruction i) => i.Mnemonic switch
    {
        Mnemonic.Mov when i.Op0Kind != OpKind.Register || i.Op0Register.IsGPR() => i.Op1Kind == OpKind.Register && !i.Op1Register.IsGPR() ? null : &Mov,
        Mnemonic.Lea => &Lea,
        _ => null,
    };

    /// <summary>MOV between GPRs, memory and immediates (moffs forms included); no flags change.</summary>
    static void Mov(Cpu c, ref Decoded d) => c.WriteOperand(ref d, 0, c.ReadOperand(ref d, 1));

    /// <summary>LEA: the effective address, computed at the address size and then truncated or zero-extended to the operand size.</summary>
    static void Lea(Cpu c, ref Decoded d) => c.WriteGpr(d.Ops[0].Reg, d.Ops[0].Size, c.EffectiveAddress(ref d) & SizeMask(d.Ops[0].Size));
}
