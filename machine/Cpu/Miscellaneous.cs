using Iced.Intel;

namespace Repl.Machine;

/// <summary>Miscellaneous and processor-identification instructions (SDM Vol. 1, 7.3.16 and 7.3.17): NOP in
/// every form, UD2 and undefined opcodes, HLT, CPUID, RDTSC, RDTSCP.</summary>
public sealed unsafe partial class Cpu
{
    static delegate*<Cpu, ref Decoded, void> SelectMiscellaneous(in Instruction i) => i.Mnemonic switch
    {
        // PAUSE and the hint NOPs (0F 18-1F with a ModRM, including the multi-byte NOP) do nothing architecturally.
        Mnemonic.Nop or Mnemonic.Pause or Mnemonic.Reservednop => &Nop,
        Mnemonic.Ud0 or Mnemonic.Ud1 or Mnemonic.Ud2 => &InvalidOpcode,
        Mnemonic.Hlt => &Hlt,
        Mnemonic.Cpuid => &Cpuid,
        Mnemonic.Rdtsc => &Rdtsc,
        Mnemonic.Rdtscp => &Rdtscp,
        _ => null,
    };

    static void Nop(Cpu c, ref Decoded d)
    {
    }

    /// <summary>#UD for an opcode the architecture leaves undefined (or that Iced could not decode).</summary>
    internal static void InvalidOpcode(Cpu c, ref Decoded d) => throw new CpuFault(Vector.UD);

    /// <summary>#UD for an instruction that exists but the machine does not implement yet, counted by mnemonic.</summary>
    internal static void Unimplemented(Cpu c, ref Decoded d)
    {
        string name = d.Instruction.Mnemonic.ToString().ToLowerInvariant();
        c.UnimplementedExecuted[name] = c.UnimplementedExecuted.GetValueOrDefault(name) + 1;
        throw new CpuFault(Vector.UD);
    }

    /// <summary>HLT is privileged: #GP(0) above CPL 0. The run stops with RIP after the HLT.</summary>
    static void Hlt(Cpu c, ref Decoded d)
    {
        if (c.State.Cpl != 0)
            throw new CpuFault(Vector.GP, 0);
        c.Halted = true;
        c.EndBlock = true;
    }

    static void Cpuid(Cpu c, ref Decoded d)
    {
        ref var g = ref c.State.Gpr;
        var (eax, ebx, ecx, edx) = Identification.Cpuid(c.Vendor, (uint)g[(int)Gpr.Rax], (uint)g[(int)Gpr.Rcx]);
        g[(int)Gpr.Rax] = eax;
        g[(int)Gpr.Rbx] = ebx;
        g[(int)Gpr.Rcx] = ecx;
        g[(int)Gpr.Rdx] = edx;
    }

    /// <summary>The time-stamp counter: the retired-instruction count, so runs are repeatable. CR4.TSD
    /// makes it privileged.</summary>
    ulong ReadTsc()
    {
        const ulong Cr4Tsd = 1 << 2;
        if ((State.Cr4 & Cr4Tsd) != 0 && State.Cpl != 0)
            throw new CpuFault(Vector.GP, 0);
        return State.InstructionsRetired;
    }

    static void Rdtsc(Cpu c, ref Decoded d)
    {
        ulong tsc = c.ReadTsc();
        c.State.Gpr[(int)Gpr.Rax] = (uint)tsc;
        c.State.Gpr[(int)Gpr.Rdx] = tsc >> 32;
    }

    /// <summary>RDTSCP: RDTSC plus IA32_TSC_AUX in ECX.</summary>
    static void Rdtscp(Cpu c, ref Decoded d)
    {
        Rdtsc(c, ref d);
        c.State.Gpr[(int)Gpr.Rcx] = (uint)c.State.TscAux;
    }
}
