using Iced.Intel;

namespace Repl.Machine.Tests.Differential;

public partial class HostDifferentialTests
{
    static readonly FormOptions Lockable = new() { LockShare = 0.25 };

    [Theory, InlineData(64), InlineData(32)]
    public void Alu_matches_host(int bitness)
    {
        if (Family.Start("alu", bitness, output, totals) is not { } f)
            return;
        // ADD, ADC, SUB, SBB, CMP define all six flags (SDM Vol. 2 on each).
        f.Forms(f.CodesOf(Mnemonic.Add, Mnemonic.Adc, Mnemonic.Sub, Mnemonic.Sbb), 12, 12, Lockable);
        f.Forms(f.CodesOf(Mnemonic.Cmp), 12, 12);
        // AND, OR, XOR, TEST: "The OF and CF flags are cleared; the SF, ZF, and PF flags are set according to
        // the result. The state of the AF flag is undefined."
        f.Forms(f.CodesOf(Mnemonic.And, Mnemonic.Or, Mnemonic.Xor), 12, 12, Lockable, LogicalAf);
        f.Forms(f.CodesOf(Mnemonic.Test), 12, 12, prepare: LogicalAf);
        f.Finish();
    }

    static bool LogicalAf(DiffCase c)
    {
        c.Undefined(Flag.AF, "logical instruction");
        return true;
    }

    [Theory, InlineData(64), InlineData(32)]
    public void Unary_matches_host(int bitness)
    {
        if (Family.Start("unary", bitness, output, totals) is not { } f)
            return;
        // INC/DEC leave CF alone and define the rest; NEG defines all six; NOT affects none.
        f.Forms(f.CodesOf(Mnemonic.Inc, Mnemonic.Dec, Mnemonic.Neg, Mnemonic.Not), 40, 25, Lockable);
        f.Finish();
    }

    [Theory, InlineData(64), InlineData(32)]
    public void Multiply_matches_host(int bitness)
    {
        if (Family.Start("multiply", bitness, output, totals) is not { } f)
            return;
        // MUL and IMUL (one, two and three operands): CF and OF tell whether the high half is significant;
        // "The SF, ZF, AF, and PF flags are undefined."
        f.Forms(f.CodesOf(Mnemonic.Mul, Mnemonic.Imul), 40, 20, prepare: c =>
        {
            c.Undefined(Flag.SF | Flag.ZF | Flag.AF | Flag.PF, "multiplication");
            return true;
        });
        f.Finish();
    }

    [Theory, InlineData(64), InlineData(32)]
    public void Divide_matches_host(int bitness)
    {
        if (Family.Start("divide", bitness, output, totals) is not { } f)
            return;
        // DIV and IDIV: "The CF, OF, SF, ZF, AF, and PF flags are undefined." Inputs that raise #DE natively
        // (zero divisor, quotient too large) are steered away from, or dropped.
        f.Forms(f.CodesOf(Mnemonic.Div), 60, 25, prepare: c => Dividable(f, c, signed: false));
        f.Forms(f.CodesOf(Mnemonic.Idiv), 60, 25, prepare: c => Dividable(f, c, signed: true));
        f.Finish();
    }

    /// <summary>Makes the case divide without #DE: a zero divisor is replaced, and half of the time (or when the
    /// quotient would not fit) the dividend is rebuilt as quotient * divisor + remainder from an edge quotient.
    /// The divisor may itself be part of the dividend (DIV AH, IDIV RDX), so the result is checked again at the end.</summary>
    static bool Dividable(Family f, DiffCase c, bool signed)
    {
        c.Undefined(Flag.Status, "division");
        int bits = c.Bits;
        for (int attempt = 0; attempt < 4; attempt++)
        {
            if (c.Read(0) == 0)
                c.Write(0, f.Edge(bits) | 1);
            if (attempt > 0 || f.Rng.Next(2) == 0 || Quotient(c, bits, signed) is null)
                SetDividend(c, bits, ComposeDividend(f, c.Read(0), bits, signed));
            if (c.Read(0) != 0 && Quotient(c, bits, signed) is not null)
                return true;
        }
        return false;
    }

    /// <summary>The quotient the host would compute, or null where it raises #DE.</summary>
    static Int128? Quotient(DiffCase c, int bits, bool signed)
    {
        UInt128 dividend = GetDividend(c, bits);
        ulong divisor = c.Read(0);
        if (divisor == 0)
            return null;
        if (!signed)
        {
            UInt128 q = dividend / divisor;
            return q <= DiffCase.Mask(bits) ? (Int128)q : null;
        }
        Int128 n = SignExtend(dividend, 2 * bits), d = (long)SignExtend(divisor, bits);
        if (d == -1 && n == Int128.MinValue)
            return null; // only reachable at 64 bits, and it overflows there anyway
        Int128 quotient = n / d;
        Int128 limit = Int128.One << (bits - 1);
        return quotient >= -limit && quotient < limit ? quotient : null;
    }

    /// <summary>q * d + r for an edge quotient q that fits and a remainder smaller than d with the dividend's sign.</summary>
    static UInt128 ComposeDividend(Family f, ulong divisor, int bits, bool signed)
    {
        if (!signed)
        {
            UInt128 q = f.Edge(bits), r = f.U64() % divisor;
            return q * divisor + r;
        }
        Int128 d = (long)SignExtend(divisor, bits);
        Int128 quotient = (long)SignExtend(f.Edge(bits), bits);
        Int128 magnitude = Int128.Abs(d);
        Int128 remainder = (Int128)(f.U64() % (ulong)magnitude);
        Int128 product = quotient * d;
        if (product < 0 || product == 0 && f.Rng.Next(2) == 0)
            remainder = -remainder;
        var dividend = (UInt128)(product + remainder);
        return bits == 64 ? dividend : dividend & ((UInt128.One << (2 * bits)) - 1);
    }

    static Int128 SignExtend(UInt128 value, int bits) => bits == 128 ? (Int128)value : ((Int128)(value << (128 - bits))) >> (128 - bits);

    static ulong SignExtend(ulong value, int bits) => (ulong)(((long)value << (64 - bits)) >> (64 - bits));

    /// <summary>AX for a byte divisor, otherwise DX:AX, EDX:EAX or RDX:RAX.</summary>
    static UInt128 GetDividend(DiffCase c, int bits)
    {
        ulong low = c.GetGpr(Gpr.Rax) & DiffCase.Mask(bits == 8 ? 16 : bits);
        if (bits == 8)
            return low;
        return ((UInt128)(c.GetGpr(Gpr.Rdx) & DiffCase.Mask(bits)) << bits) | low;
    }

    static void SetDividend(DiffCase c, int bits, UInt128 dividend)
    {
        if (bits == 8)
        {
            c.WriteRegister(Iced.Intel.Register.AX, (ulong)dividend);
            return;
        }
        c.WriteRegister(Family.GprOfWidth((int)Gpr.Rax, bits), (ulong)(dividend & DiffCase.Mask(bits)));
        c.WriteRegister(Family.GprOfWidth((int)Gpr.Rdx, bits), (ulong)(dividend >> bits));
    }
}
