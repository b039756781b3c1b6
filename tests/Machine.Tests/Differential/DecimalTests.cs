using Iced.Intel;

namespace Repl.Machine.Tests.Differential;

public partial class HostDifferentialTests
{
    /// <summary>
    /// Decimal arithmetic exists only outside 64-bit mode (its opcodes are #UD there), so this family runs in
    /// 32-bit code alone. DAA, DAS, AAA, AAS have no operands to vary: one instruction, many inputs, the flags
    /// (AF and CF steer the adjustment) random, so that every AL with every AF and CF comes up. AAM and AAD
    /// take a base, 10 most of the time; AAM with a base of 0 is #DE, so it is never 0.
    /// </summary>
    [Fact]
    public void Decimal_arithmetic_matches_host()
    {
        if (Family.Start("decimal", 32, output, totals) is not { } f)
            return;
        // DAA, DAS: "The CF and AF flags are set if the adjustment of the value results in a decimal carry [borrow]
        // in either digit of the result. The SF, ZF, and PF flags are set according to the result. The OF flag is undefined."
        f.Forms(f.CodesOf(Mnemonic.Daa, Mnemonic.Das), 1, 4000, prepare: c => Undefined(c, Flag.OF, "DAA/DAS"));
        // AAA, AAS: "The AF and CF flags are set to 1 if there is a decimal carry [borrow]; otherwise, they are
        // cleared to 0. The OF, SF, ZF, and PF flags are undefined."
        f.Forms(f.CodesOf(Mnemonic.Aaa, Mnemonic.Aas), 1, 4000, prepare: c => Undefined(c, Flag.OF | Flag.SF | Flag.ZF | Flag.PF, "AAA/AAS"));
        // AAM, AAD: "The SF, ZF, and PF flags are set according to the resulting binary value in the AL register.
        // The OF, AF, and CF flags are undefined."
        var bases = new FormOptions { Immediate8 = (rng, _) => rng.Next(3) == 0 ? (ulong)rng.Next(1, 256) : 10 };
        f.Forms(f.CodesOf(Mnemonic.Aam, Mnemonic.Aad), 30, 100, bases, c => Undefined(c, Flag.OF | Flag.AF | Flag.CF, "AAM/AAD"));
        f.Finish();
    }
}
