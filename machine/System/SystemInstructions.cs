using Iced.Intel;

namespace Repl.Machine;

/// <summary>
/// The small instructions a kernel uses around the system ones: RDPID (SDM Vol. 2, RDPID), the memory-ordering
/// fences LFENCE, MFENCE, SFENCE (Vol. 1, 11.4.4.3), and the cache invalidations WBINVD, INVD (Vol. 3, 2.8).
/// </summary>
public sealed unsafe partial class Cpu
{
    static delegate*<Cpu, ref Decoded, void> SelectSystemInstructions(in Instruction i) => i.Mnemonic switch
    {
        Mnemonic.Rdpid => &Rdpid,
        // The machine retires one instruction at a time in program order and has no store buffer, so every load
        // and store is already ordered as a fence would order it. The fences run whatever CPUID says: they belong
        // to SSE and SSE2, which CPUID does not report because the XMM instructions are not implemented, yet every
        // x86-64 processor has them and kernel entry code needs LFENCE (speculation barriers after SWAPGS).
        Mnemonic.Lfence or Mnemonic.Mfence or Mnemonic.Sfence => &Nop,
        Mnemonic.Wbinvd or Mnemonic.Invd => &InvalidateCaches,
        _ => null,
    };

    /// <summary>RDPID: IA32_TSC_AUX into the destination (its low 32 bits, zero-extended, in the 64-bit form too:
    /// the MSR's upper half is reserved), at any CPL.</summary>
    static void Rdpid(Cpu c, ref Decoded d) => c.WriteGpr(d.Ops[0].Reg, d.Ops[0].Size, (uint)c.State.TscAux);

    /// <summary>WBINVD and INVD: #GP(0) above CPL 0; caches are not modelled, so there is nothing to write back
    /// or discard.</summary>
    static void InvalidateCaches(Cpu c, ref Decoded d) => c.RequireCpl0();
}
