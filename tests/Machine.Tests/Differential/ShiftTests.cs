using Iced.Intel;

namespace Repl.Machine.Tests.Differential;

public partial class HostDifferentialTests
{
    static readonly FormOptions Counted = new() { Immediate8 = Family.ShiftCount };

    [Theory, InlineData(64), InlineData(32)]
    public void Shifts_and_rotates_match_host(int bitness)
    {
        if (Family.Start("shifts", bitness, output, totals) is not { } f)
            return;
        f.Forms(f.CodesOf(Mnemonic.Shl, Mnemonic.Shr, Mnemonic.Sar, Mnemonic.Rol, Mnemonic.Ror, Mnemonic.Rcl, Mnemonic.Rcr),
            20, 15, Counted, c => ShiftFlags(f, c));
        f.Finish();
    }

    /// <summary>
    /// Picks a count when it comes from CL and marks what the SDM leaves undefined for it. The count is masked
    /// to 5 bits (6 with REX.W) first; a masked count of 0 changes nothing.
    /// SAL/SAR/SHL/SHR: "The OF flag is affected only for 1-bit shifts ... otherwise, it is undefined", "For a
    /// non-zero count, the AF flag is undefined", and CF "is undefined for SHL and SHR instructions where the
    /// count is greater than or equal to the size (in bits) of the destination operand".
    /// RCL/RCR/ROL/ROR: "If the masked count is 1, then the OF flag is affected, otherwise (masked count is
    /// greater than 1) the OF flag is undefined"; SF, ZF, AF, PF are unaffected.
    /// </summary>
    static bool ShiftFlags(Family f, DiffCase c)
    {
        int bits = c.Bits;
        if (c.Instruction.Op1Kind == OpKind.Register)
            c.Write(1, Family.ShiftCount(f.Rng, bits));
        int count = (int)(c.Read(1) & (bits == 64 ? 63UL : 31UL));
        if (count == 0)
            return true;
        var m = c.Instruction.Mnemonic;
        if (m is Mnemonic.Shl or Mnemonic.Shr or Mnemonic.Sar)
        {
            c.Undefined(Flag.AF, "shift by a non-zero count");
            if (m != Mnemonic.Sar && count >= bits)
                c.Undefined(Flag.CF, $"SHL/SHR count {count} >= operand size");
        }
        if (count != 1)
            c.Undefined(Flag.OF, $"count {count} is not 1");
        return true;
    }

    [Theory, InlineData(64), InlineData(32)]
    public void Double_shifts_match_host(int bitness)
    {
        if (Family.Start("double shifts", bitness, output, totals) is not { } f)
            return;
        f.Forms(f.CodesOf(Mnemonic.Shld, Mnemonic.Shrd), 40, 20, Counted, c => DoubleShiftFlags(f, c));
        f.Finish();
    }

    /// <summary>
    /// SHLD/SHRD: the count is masked to 5 bits (6 with REX.W); 0 changes nothing. "If the count is greater than
    /// the operand size, the result is undefined" and so are all the flags (only possible at 16 bits). Otherwise
    /// CF, SF, ZF, PF are defined, "For shifts greater than 1 bit, the OF flag is undefined", and "If a shift
    /// occurs, the AF flag is undefined."
    /// </summary>
    static bool DoubleShiftFlags(Family f, DiffCase c)
    {
        int bits = c.Bits;
        if (c.Instruction.Op2Kind == OpKind.Register)
            c.Write(2, Family.ShiftCount(f.Rng, bits));
        int count = (int)(c.Read(2) & (bits == 64 ? 63UL : 31UL));
        if (count == 0)
            return true;
        if (count > bits)
        {
            c.Undefined(Flag.Status, $"count {count} > operand size");
            c.UndefinedOperand(0, $"count {count} > operand size");
            return true;
        }
        c.Undefined(Flag.AF, "shift by a non-zero count");
        if (count != 1)
            c.Undefined(Flag.OF, $"count {count} is not 1");
        return true;
    }
}
