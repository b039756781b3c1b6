using Iced.Intel;

namespace Repl.Machine;

/// <summary>
/// Decimal arithmetic (SDM Vol. 1, 7.3.6): DAA, DAS, AAA, AAS, AAM, AAD, which adjust AL/AX after binary
/// arithmetic on packed or unpacked BCD. They exist only outside 64-bit mode (Iced decodes them as invalid there).
/// Flags the manuals leave undefined are computed from the result (SF, ZF, PF) or cleared (OF, and AF/CF for
/// AAM and AAD), so runs stay deterministic.
/// </summary>
public sealed unsafe partial class Cpu
{
    static delegate*<Cpu, ref Decoded, void> SelectDecimalArithmetic(in Instruction i) => i.Mnemonic switch
    {
        Mnemonic.Daa => &Daa,
        Mnemonic.Das => &Das,
        Mnemonic.Aaa => &Aaa,
        Mnemonic.Aas => &Aas,
        Mnemonic.Aam => &Aam,
        Mnemonic.Aad => &Aad,
        _ => null,
    };

    const int Al = (int)Gpr.Rax, Ah = 16; // register numbers as ReadGpr/WriteGpr take them (16: AH)

    static ulong BcdFlags(ulong al, bool af, bool cf) =>
        CpuState.ResultFlags(al & 0xFF, 8) | (af ? (ulong)RflagsBit.AF : 0) | (cf ? (ulong)RflagsBit.CF : 0);

    /// <summary>DAA/DAS: adjust AL after adding or subtracting two packed-BCD bytes (SDM Vol. 2, DAA and DAS).</summary>
    static void DecimalAdjust(Cpu c, bool subtract)
    {
        ulong oldAl = c.ReadGpr(Al, 1), al = oldAl;
        bool oldCf = c.State.CF, cf = false, af = c.State.AF;
        if ((al & 0x0F) > 9 || af)
        {
            cf = oldCf || (subtract ? al < 6 : al + 6 > 0xFF);
            al = subtract ? al - 6 : al + 6;
            af = true;
        }
        if (oldAl > 0x99 || oldCf)
        {
            al = subtract ? al - 0x60 : al + 0x60;
            cf = true;
        }
        else if (!subtract)
            cf = false;
        c.WriteGpr(Al, 1, al);
        c.State.SetArithmeticFlags(BcdFlags(al, af, cf));
    }

    static void Daa(Cpu c, ref Decoded d) => DecimalAdjust(c, subtract: false);

    static void Das(Cpu c, ref Decoded d) => DecimalAdjust(c, subtract: true);

    /// <summary>AAA/AAS: adjust AX after adding or subtracting unpacked-BCD digits; the carry goes into AH.</summary>
    static void AsciiAdjust(Cpu c, bool subtract)
    {
        ulong ax = c.ReadGpr(Al, 2);
        bool adjust = (ax & 0x0F) > 9 || c.State.AF;
        if (adjust)
            ax = subtract ? ax - 0x106 : ax + 0x106; // the SDM's AX ± 6 then AH ± 1, borrow or carry included
        ax &= 0xFF0F; // AL keeps only its low digit
        c.WriteGpr(Al, 2, ax);
        c.State.SetArithmeticFlags(BcdFlags(ax, adjust, adjust));
    }

    static void Aaa(Cpu c, ref Decoded d) => AsciiAdjust(c, subtract: false);

    static void Aas(Cpu c, ref Decoded d) => AsciiAdjust(c, subtract: true);

    /// <summary>AAM imm8: AH = AL / imm8, AL = AL mod imm8; a zero base is #DE.</summary>
    static void Aam(Cpu c, ref Decoded d)
    {
        ulong @base = d.Immediate & 0xFF, al = c.ReadGpr(Al, 1);
        if (@base == 0)
            throw new CpuFault(Vector.DE);
        ulong ax = ((al / @base) << 8) | (al % @base);
        c.WriteGpr(Al, 2, ax);
        c.State.SetArithmeticFlags(BcdFlags(ax, false, false));
    }

    /// <summary>AAD imm8: AL = AL + AH * imm8 (truncated to a byte), AH = 0.</summary>
    static void Aad(Cpu c, ref Decoded d)
    {
        ulong al = (c.ReadGpr(Al, 1) + c.ReadGpr(Ah, 1) * (d.Immediate & 0xFF)) & 0xFF;
        c.WriteGpr(Al, 2, al); // AH = 0
        c.State.SetArithmeticFlags(BcdFlags(al, false, false));
    }
}
