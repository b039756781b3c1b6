using Iced.Intel;
using IcedRegister = Iced.Intel.Register;

namespace Repl.Machine.Tests.Differential;

public partial class HostDifferentialTests
{
    [Theory, InlineData(64), InlineData(32)]
    public void Moves_match_host(int bitness)
    {
        if (Family.Start("moves", bitness, output, totals) is not { } f)
            return;
        // MOV between GPRs, memory (moffs included) and immediates; LEA at every operand and address size.
        f.Forms(f.CodesOf(Mnemonic.Mov), 20, 10, new FormOptions { MemoryShare = 0.4 });
        f.Forms(f.CodesOf(Mnemonic.Lea), 150, 10, new FormOptions { AddressOnly = true });
        f.Finish();
    }

    [Theory, InlineData(64), InlineData(32)]
    public void Conversions_match_host(int bitness)
    {
        if (Family.Start("conversions", bitness, output, totals) is not { } f)
            return;
        // CBW CWDE CDQE CWD CDQ CQO have no operands to vary: one instruction, many inputs.
        f.Forms(f.CodesOf(Mnemonic.Cbw, Mnemonic.Cwde, Mnemonic.Cdqe, Mnemonic.Cwd, Mnemonic.Cdq, Mnemonic.Cqo), 1, 500);
        // MOVSXD without REX.W is a plain 32- or 16-bit move (SDM: "use of MOVSXD without REX.W is discouraged").
        f.Forms(f.CodesOf(Mnemonic.Movzx, Mnemonic.Movsx, Mnemonic.Movsxd), 40, 20);
        f.Finish();
    }

    [Theory, InlineData(64), InlineData(32)]
    public void Exchanges_match_host(int bitness)
    {
        if (Family.Start("exchanges", bitness, output, totals) is not { } f)
            return;
        // XCHG with memory locks the bus by itself.
        f.Forms(f.CodesOf(Mnemonic.Xchg), 30, 15, new FormOptions { ImplicitLock = true });
        // XADD sets the flags of the addition.
        f.Forms(f.CodesOf(Mnemonic.Xadd), 30, 15, Lockable);
        // CMPXCHG sets the flags of CMP accumulator, destination; half the inputs make them equal.
        f.Forms(f.CodesOf(Mnemonic.Cmpxchg), 30, 20, Lockable, c =>
        {
            if (f.Rng.Next(2) == 0)
                c.WriteRegister(Family.GprOfWidth((int)Gpr.Rax, c.Bits), c.Read(0));
            return true;
        });
        // CMPXCHG8B/16B compare EDX:EAX (RDX:RAX) with memory and set ZF; "The CF, PF, AF, SF, and OF flags are unaffected."
        f.Forms(f.CodesOf(Mnemonic.Cmpxchg8b), 60, 20, Lockable, c => MatchPair(f, c, 32));
        // (CMPXCHG16B exists only in 64-bit mode.)
        if (bitness == 64 && HostCpu.HasCmpxchg16b)
            f.Forms(f.CodesOf(Mnemonic.Cmpxchg16b), 60, 20, Lockable with { Alignment = 16 }, c => MatchPair(f, c, 64));
        else if (bitness == 64)
            f.Skip("CMPXCHG16B", "the host lacks CX16");
        // BSWAP: "When the BSWAP instruction references a 16-bit register, the result is undefined."
        f.Forms(f.CodesOf(Mnemonic.Bswap), 40, 20, prepare: c =>
        {
            if (c.Bits == 16)
                c.UndefinedOperand(0, "BSWAP of a 16-bit register");
            return true;
        });
        f.Finish();
    }

    /// <summary>Half of the time, EDX:EAX (RDX:RAX) equals the memory operand, so the exchange happens.</summary>
    static bool MatchPair(Family f, DiffCase c, int half)
    {
        if (f.Rng.Next(2) == 0)
        {
            int bytes = half / 8;
            c.WriteRegister(Family.GprOfWidth((int)Gpr.Rax, half), c.ReadMemory(c.MemoryAddress, bytes));
            c.WriteRegister(Family.GprOfWidth((int)Gpr.Rdx, half), c.ReadMemory(c.MemoryAddress + (ulong)bytes, bytes));
        }
        return true;
    }

    [Theory, InlineData(64), InlineData(32)]
    public void Conditional_moves_and_sets_match_host(int bitness)
    {
        if (Family.Start("conditional", bitness, output, totals) is not { } f)
            return;
        var cmov = new[]
        {
            Mnemonic.Cmovo, Mnemonic.Cmovno, Mnemonic.Cmovb, Mnemonic.Cmovae, Mnemonic.Cmove, Mnemonic.Cmovne, Mnemonic.Cmovbe, Mnemonic.Cmova,
            Mnemonic.Cmovs, Mnemonic.Cmovns, Mnemonic.Cmovp, Mnemonic.Cmovnp, Mnemonic.Cmovl, Mnemonic.Cmovge, Mnemonic.Cmovle, Mnemonic.Cmovg,
        };
        var setcc = new[]
        {
            Mnemonic.Seto, Mnemonic.Setno, Mnemonic.Setb, Mnemonic.Setae, Mnemonic.Sete, Mnemonic.Setne, Mnemonic.Setbe, Mnemonic.Seta,
            Mnemonic.Sets, Mnemonic.Setns, Mnemonic.Setp, Mnemonic.Setnp, Mnemonic.Setl, Mnemonic.Setge, Mnemonic.Setle, Mnemonic.Setg,
        };
        // The flags are random inputs, so each condition is met about half of the time. A CMOV with a 32-bit
        // operand zero-extends its destination even when the condition is false.
        f.Forms(f.CodesOf(cmov), 12, 15);
        f.Forms(f.CodesOf(setcc), 20, 15);
        f.Finish();
    }

    [Theory, InlineData(64), InlineData(32)]
    public void Flag_transfers_match_host(int bitness)
    {
        if (Family.Start("flag transfers", bitness, output, totals, bitness == 32 || HostCpu.HasLahfSahf ? null : "LAHF/SAHF in 64-bit mode") is not { } f)
            return;
        // LAHF: AH = SF:ZF:0:AF:0:PF:1:CF. SAHF loads SF ZF AF PF CF from AH and leaves OF alone.
        f.Forms(f.CodesOf(Mnemonic.Lahf, Mnemonic.Sahf), 1, 1000);
        f.Finish();
    }
}
