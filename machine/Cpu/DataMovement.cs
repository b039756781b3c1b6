using System.Buffers.Binary;
using Iced.Intel;

namespace Repl.Machine;

/// <summary>Data transfer (SDM Vol. 1, 7.3.1 and 7.3.7.3): MOV, LEA, MOVZX, MOVSX, MOVSXD, XCHG, BSWAP, MOVBE,
/// CMOVcc, SETcc, XLAT, LAHF and SAHF. MOV to and from segment, control and debug registers is not here.</summary>
public sealed unsafe partial class Cpu
{
    static delegate*<Cpu, ref Decoded, void> SelectDataMovement(in Instruction i) => i.Mnemonic switch
    {
        Mnemonic.Mov when i.Op0Kind != OpKind.Register || i.Op0Register.IsGPR() => i.Op1Kind == OpKind.Register && !i.Op1Register.IsGPR() ? null : &Mov,
        Mnemonic.Lea => &Lea,
        Mnemonic.Movzx => &Movzx,
        Mnemonic.Movsx or Mnemonic.Movsxd => &Movsx,
        Mnemonic.Xchg => &Xchg,
        Mnemonic.Bswap => &Bswap,
        Mnemonic.Movbe => &Movbe,
        Mnemonic.Xlatb => &Xlat,
        Mnemonic.Lahf => &Lahf,
        Mnemonic.Sahf => &Sahf,
        _ when i.Code is >= Code.Cmovo_r16_rm16 and <= Code.Cmovg_r64_rm64 => &Cmov,
        _ when i.Code is >= Code.Seto_rm8 and <= Code.Setg_rm8 => &Setcc,
        _ => null,
    };

    /// <summary>MOV between GPRs, memory and immediates (moffs forms included); no flags change.</summary>
    static void Mov(Cpu c, ref Decoded d) => c.WriteOperand(ref d, 0, c.ReadOperand(ref d, 1));

    /// <summary>LEA: the effective address, computed at the address size and then truncated or zero-extended to the operand size.</summary>
    static void Lea(Cpu c, ref Decoded d) => c.WriteGpr(d.Ops[0].Reg, d.Ops[0].Size, c.EffectiveAddress(ref d) & SizeMask(d.Ops[0].Size));

    /// <summary>MOVZX: a byte or word, zero-extended to the destination.</summary>
    static void Movzx(Cpu c, ref Decoded d) => c.WriteGpr(d.Ops[0].Reg, d.Ops[0].Size, c.ReadOperand(ref d, 1));

    /// <summary>MOVSX and MOVSXD: the source sign-extended to the destination. MOVSXD without REX.W (r32, r/m32 and,
    /// with 0x66, r16, r/m16) is a plain move of the destination's width.</summary>
    static void Movsx(Cpu c, ref Decoded d)
    {
        int shift = 64 - d.Ops[1].Size * 8;
        ulong value = (ulong)((long)(c.ReadOperand(ref d, 1) << shift) >> shift);
        c.WriteGpr(d.Ops[0].Reg, d.Ops[0].Size, value);
    }

    /// <summary>
    /// XCHG r/m, r and XCHG rAX, r (0x90+r; plain 0x90 is NOP and never comes here, but 87 C0, xchg eax,eax, does
    /// and zero-extends RAX in 64-bit mode). With memory it is implicitly locked, which a single processor
    /// satisfies; the memory operand is checked for writing before either side changes.
    /// </summary>
    static void Xchg(Cpu c, ref Decoded d)
    {
        ulong first = c.ReadDestination(ref d, out ulong linear);
        ulong second = c.ReadOperand(ref d, 1);
        c.WriteDestination(ref d, linear, second);
        c.WriteGpr(d.Ops[1].Reg, d.Ops[1].Size, first);
    }

    /// <summary>The bytes of the low <paramref name="size"/> bytes of <paramref name="value"/> in reverse order.</summary>
    static ulong ByteSwap(ulong value, int size) => size switch
    {
        8 => BinaryPrimitives.ReverseEndianness(value),
        4 => BinaryPrimitives.ReverseEndianness((uint)value),
        _ => BinaryPrimitives.ReverseEndianness((ushort)value),
    };

    /// <summary>BSWAP r32/r64. With a 16-bit operand the SDM leaves the result undefined; hardware (measured on
    /// AMD) clears the low 16 bits and keeps the rest of the register, and so does this.</summary>
    static void Bswap(Cpu c, ref Decoded d)
    {
        ref Operand r = ref d.Ops[0];
        c.WriteGpr(r.Reg, r.Size, r.Size == 2 ? 0 : ByteSwap(c.ReadGpr(r.Reg, r.Size), r.Size));
    }

    /// <summary>MOVBE r, m and MOVBE m, r: a move that reverses the byte order (Iced decodes the register-register
    /// encoding as invalid, as the SDM says it is). The 16-bit form swaps the two bytes and merges into the register.</summary>
    static void Movbe(Cpu c, ref Decoded d) => c.WriteOperand(ref d, 0, ByteSwap(c.ReadOperand(ref d, 1), d.Ops[0].Size));

    /// <summary>
    /// CMOVcc (SDM Vol. 2, CMOVcc): the source is read whatever the condition, so a bad memory source faults even
    /// when nothing would be moved. In 64-bit mode a 32-bit CMOVcc whose condition is false still zero-extends the
    /// destination; 32-bit writes zero-extend in every mode here, so that is a write of its own low half.
    /// </summary>
    static void Cmov(Cpu c, ref Decoded d)
    {
        ref Operand dst = ref d.Ops[0];
        ulong source = c.ReadOperand(ref d, 1);
        if (c.State.Condition(d.Condition))
            c.WriteGpr(dst.Reg, dst.Size, source);
        else if (dst.Size == 4)
            c.WriteGpr(dst.Reg, 4, c.State.Gpr[dst.Reg]);
    }

    /// <summary>SETcc r/m8: 1 if the condition holds, else 0.</summary>
    static void Setcc(Cpu c, ref Decoded d) => c.WriteOperand(ref d, 0, c.State.Condition(d.Condition) ? 1UL : 0);

    /// <summary>
    /// XLAT: AL = [seg:rBX + AL], AL taken as an unsigned byte, rBX and the sum at the address size (BX, EBX or
    /// RBX), DS unless overridden. Iced names AL as the operand's index register, but the general effective
    /// address would add all of RAX, so the address is formed here.
    /// </summary>
    static void Xlat(Cpu c, ref Decoded d)
    {
        ulong offset = (c.State.Gpr[(int)Gpr.Rbx] + (byte)c.State.Gpr[(int)Gpr.Rax]) & SizeMask(d.AddressSize);
        c.WriteGpr((int)Gpr.Rax, 1, c.ReadMemory(d.MemSegment, offset, 1));
    }

    const int RegisterAh = 16;

    /// <summary>The RFLAGS bits that SAHF loads from AH and LAHF stores there, besides bit 1 which reads as 1.</summary>
    const ulong AhFlags = (ulong)(RflagsBit.SF | RflagsBit.ZF | RflagsBit.AF | RflagsBit.PF | RflagsBit.CF);

    /// <summary>LAHF: AH = SF:ZF:0:AF:0:PF:1:CF. Valid in 64-bit mode because CPUID.80000001H:ECX.LAHF-SAHF is reported.</summary>
    static void Lahf(Cpu c, ref Decoded d) => c.WriteGpr(RegisterAh, 1, c.State.Rflags & (AhFlags | (ulong)RflagsBit.Reserved1));

    /// <summary>SAHF: SF, ZF, AF, PF, CF from AH; OF keeps its value (valid in 64-bit mode as LAHF is).</summary>
    static void Sahf(Cpu c, ref Decoded d) =>
        c.State.SetArithmeticFlags((c.State.OF ? (ulong)RflagsBit.OF : 0) | (c.ReadGpr(RegisterAh, 1) & AhFlags));
}
