namespace Repl.Machine.Tests.Differential;

/// <summary>How the generic generator builds instructions of a form and its inputs.</summary>
sealed record FormOptions
{
    /// <summary>Share of r/m operands made memory rather than register (0 for register-only).</summary>
    public double MemoryShare { get; init; } = 0.3;

    /// <summary>Share of memory-destination instructions given a LOCK prefix (only where LOCK is legal).</summary>
    public double LockShare { get; init; }

    /// <summary>The memory operand is only an address (LEA): its registers take random values and nothing is accessed.</summary>
    public bool AddressOnly { get; init; }

    /// <summary>The instruction locks the bus by itself (XCHG with memory): keep its operand within a cache line
    /// like a LOCK-prefixed one, since a split lock may be fatal to the host process.</summary>
    public bool ImplicitLock { get; init; }

    /// <summary>Alignment forced on the memory operand (CMPXCHG16B needs 16); 1 allows any address, page-crossing included.</summary>
    public int Alignment { get; init; } = 1;

    /// <summary>Chooses the 8-bit immediate (shift and rotate counts, bit offsets) from the operation width in bits.</summary>
    public Func<Random, int, ulong>? Immediate8 { get; init; }

    /// <summary>Half the size of the scratch window around the scratch's middle that is randomised, copied and compared.</summary>
    public int WindowHalf { get; init; } = 512;

    public static readonly FormOptions Default = new();
}
