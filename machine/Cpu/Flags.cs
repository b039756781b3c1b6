using System.Numerics;
using System.Runtime.CompilerServices;

namespace Repl.Machine;

/// <summary>How the six arithmetic flags are to be derived from the last flag-setting operation.</summary>
public enum FlagOp : byte
{
    /// <summary>The flags are in <see cref="CpuState.FlagsStored"/>.</summary>
    None,
    Add,
    Sub,
    /// <summary>AND, OR, XOR, TEST: CF and OF cleared, AF cleared (undefined in the manuals).</summary>
    Logic,
    /// <summary>INC: as ADD of 1, but CF is left as it was.</summary>
    Inc,
    /// <summary>DEC: as SUB of 1, but CF is left as it was.</summary>
    Dec,
}

/// <summary>
/// Lazy arithmetic flags. Most instructions that set flags record their operands and result; the six
/// status flags are derived only when something reads them, which is rare compared with how often they
/// are written. Everything else in RFLAGS lives in <see cref="FlagsStored"/> at all times.
/// </summary>
public partial struct CpuState
{
    const ulong ArithmeticMask = (ulong)RflagsBit.Arithmetic;

    public ulong Rflags
    {
        readonly get => LazyOp == FlagOp.None ? FlagsStored : (FlagsStored & ~ArithmeticMask) | LazyArithmeticFlags();
        set
        {
            FlagsStored = value | (ulong)RflagsBit.Reserved1;
            LazyOp = FlagOp.None;
        }
    }

    /// <summary>Records a flag-setting operation; operands and result are already masked to <paramref name="bits"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetLazyFlags(FlagOp op, int bits, ulong a, ulong b, ulong result)
    {
        if (op is FlagOp.Inc or FlagOp.Dec)
            FlagsStored = (FlagsStored & ~(ulong)RflagsBit.CF) | (CF ? 1UL : 0);
        LazyOp = op;
        LazyBits = (byte)bits;
        LazyA = a;
        LazyB = b;
        LazyResult = result;
    }

    /// <summary>Sets the arithmetic flags to computed values (for operations with no lazy form).</summary>
    public void SetArithmeticFlags(ulong flags)
    {
        FlagsStored = (FlagsStored & ~ArithmeticMask) | (flags & ArithmeticMask);
        LazyOp = FlagOp.None;
    }

    /// <summary>Sets or clears one flag, keeping the others (the lazy ones are materialised first).</summary>
    public void SetFlag(RflagsBit flag, bool value)
    {
        ulong f = Rflags;
        Rflags = value ? f | (ulong)flag : f & ~(ulong)flag;
    }

    public readonly bool CF => LazyOp switch
    {
        FlagOp.None or FlagOp.Inc or FlagOp.Dec => (FlagsStored & (ulong)RflagsBit.CF) != 0,
        FlagOp.Add => LazyResult < LazyA,
        FlagOp.Sub => LazyA < LazyB,
        _ => false,
    };

    public readonly bool ZF => LazyOp == FlagOp.None ? (FlagsStored & (ulong)RflagsBit.ZF) != 0 : LazyResult == 0;

    public readonly bool SF => LazyOp == FlagOp.None
        ? (FlagsStored & (ulong)RflagsBit.SF) != 0
        : ((LazyResult >> (LazyBits - 1)) & 1) != 0;

    public readonly bool OF => LazyOp switch
    {
        FlagOp.None => (FlagsStored & (ulong)RflagsBit.OF) != 0,
        FlagOp.Add or FlagOp.Inc => (((LazyA ^ LazyResult) & (LazyB ^ LazyResult)) >> (LazyBits - 1) & 1) != 0,
        FlagOp.Sub or FlagOp.Dec => (((LazyA ^ LazyB) & (LazyA ^ LazyResult)) >> (LazyBits - 1) & 1) != 0,
        _ => false,
    };

    public readonly bool PF => LazyOp == FlagOp.None
        ? (FlagsStored & (ulong)RflagsBit.PF) != 0
        : Parity((byte)LazyResult);

    public readonly bool AF => LazyOp switch
    {
        FlagOp.None => (FlagsStored & (ulong)RflagsBit.AF) != 0,
        FlagOp.Logic => false,
        _ => ((LazyA ^ LazyB ^ LazyResult) & 0x10) != 0,
    };

    /// <summary>ZF, SF and PF as every arithmetic and logical instruction defines them for a result of <paramref name="bits"/> bits.</summary>
    public static ulong ResultFlags(ulong result, int bits) =>
        (result == 0 ? (ulong)RflagsBit.ZF : 0)
        | (((result >> (bits - 1)) & 1) != 0 ? (ulong)RflagsBit.SF : 0)
        | (Parity((byte)result) ? (ulong)RflagsBit.PF : 0);

    /// <summary>PF: set when the low byte of the result has an even number of 1 bits.</summary>
    public static bool Parity(byte value) => (BitOperations.PopCount(value) & 1) == 0;

    readonly ulong LazyArithmeticFlags() =>
        (CF ? (ulong)RflagsBit.CF : 0) | (PF ? (ulong)RflagsBit.PF : 0) | (AF ? (ulong)RflagsBit.AF : 0)
        | (ZF ? (ulong)RflagsBit.ZF : 0) | (SF ? (ulong)RflagsBit.SF : 0) | (OF ? (ulong)RflagsBit.OF : 0);

    /// <summary>Evaluates a condition code (the tttn field of Jcc, SETcc, CMOVcc; SDM Vol. 1, B.1).</summary>
    public readonly bool Condition(int cc)
    {
        bool r = (cc >> 1) switch
        {
            0 => OF,
            1 => CF,
            2 => ZF,
            3 => CF || ZF,
            4 => SF,
            5 => PF,
            6 => SF != OF,
            _ => ZF || SF != OF,
        };
        return r ^ ((cc & 1) != 0);
    }
}
