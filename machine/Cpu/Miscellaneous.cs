using Iced.Intel;

namespace Repl.Machine;

/// <summary>Miscellaneous and processor-identification instructions (SDM Vol. 1, 7.3.16 and 7.3.17): NOP in
/// every form, UD2 and undefined opcodes, HLT, CPUID, RDTSC, RDTSCP; I/O (7.3.11): IN, OUT; flag control
/// (7.3.14): CLC, STC, CMC, CLD, STD, CLI, STI; software interrupts (7.3.8.4): INT3, INT n, INTO, INT1.</summary>
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
        Mnemonic.In => &In,
        Mnemonic.Out => &Out,
        Mnemonic.Clc => &Clc,
        Mnemonic.Stc => &Stc,
        Mnemonic.Cmc => &Cmc,
        Mnemonic.Cld => &Cld,
        Mnemonic.Std => &Std,
        Mnemonic.Cli => &Cli,
        Mnemonic.Sti => &Sti,
        Mnemonic.Int3 => &Int3,
        Mnemonic.Int => &IntN,
        // INTO does not exist in 64-bit mode: Iced decodes CE there as invalid, which raises #UD.
        Mnemonic.Into => &Into,
        Mnemonic.Int1 => &Int1,
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
        c.CountUnimplemented(d.Instruction.Mnemonic.ToString().ToLowerInvariant());
        throw new CpuFault(Vector.UD);
    }

    internal void CountUnimplemented(string name) => UnimplementedExecuted[name] = UnimplementedExecuted.GetValueOrDefault(name) + 1;

    /// <summary>HLT is privileged: #GP(0) above CPL 0. The processor sleeps with RIP after the HLT until an event
    /// wakes it; the run loop decides whether one can (Interrupts.cs).</summary>
    static void Hlt(Cpu c, ref Decoded d)
    {
        c.RequireCpl0();
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

    /// <summary>The time-stamp counter (see <see cref="TimeStampCounter"/>). CR4.TSD makes it privileged.</summary>
    ulong ReadTsc()
    {
        const ulong Cr4Tsd = 1 << 2;
        if ((State.Cr4 & Cr4Tsd) != 0 && State.Cpl != 0)
            throw new CpuFault(Vector.GP, 0);
        return TimeStampCounter;
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

    /// <summary>RFLAGS.IOPL (bits 12-13).</summary>
    internal int Iopl => (int)(State.FlagsStored >> 12) & 3;

    /// <summary>Whether IOPL-sensitive instructions (IN, OUT, INS, OUTS, CLI, STI) may run: always in real mode,
    /// in protected mode when CPL &lt;= IOPL (SDM Vol. 1, 19.5.1). Virtual-8086 mode is not modelled.</summary>
    bool IoplAllows => (State.Cr0 & CpuState.Cr0PE) == 0 || State.Cpl <= Iopl;

    /// <summary>I/O privilege for IN, OUT, INS, OUTS of <paramref name="size"/> bytes at <paramref name="port"/>: above
    /// IOPL, the TSS I/O permission bitmap must still grant every port the access touches (SDM Vol. 1, 19.5). The
    /// access is then checked against the I/O breakpoints (Debug.cs).</summary>
    internal void CheckIoPrivilege(ushort port, int size)
    {
        if (!IoplAllows)
            CheckIoPermissionBitmap(port, size);
        IoBreakpointCheck(port, size);
    }

    ushort PortDx => (ushort)State.Gpr[(int)Gpr.Rdx];

    /// <summary>The port operand of IN or OUT: imm8 (ports 0-255) or DX.</summary>
    ushort PortOperand(ref Decoded d, int n) => d.Ops[n].Kind == OperandKind.Immediate ? (byte)d.Immediate : PortDx;

    /// <summary>IN AL/AX/EAX from imm8 or DX; IN EAX zero-extends into RAX as any 32-bit register write does.</summary>
    static void In(Cpu c, ref Decoded d)
    {
        int size = d.Ops[0].Size;
        ushort port = c.PortOperand(ref d, 1);
        c.CheckIoPrivilege(port, size);
        c.WriteGpr((int)Gpr.Rax, size, c.Bus.In(port, size));
    }

    static void Out(Cpu c, ref Decoded d)
    {
        int size = d.Ops[1].Size;
        ushort port = c.PortOperand(ref d, 0);
        c.CheckIoPrivilege(port, size);
        c.Bus.Out(port, size, (uint)c.ReadGpr((int)Gpr.Rax, size));
    }

    static void Clc(Cpu c, ref Decoded d) => c.State.SetFlag(RflagsBit.CF, false);

    static void Stc(Cpu c, ref Decoded d) => c.State.SetFlag(RflagsBit.CF, true);

    static void Cmc(Cpu c, ref Decoded d) => c.State.SetFlag(RflagsBit.CF, !c.State.CF);

    // DF and IF are not arithmetic flags, so they live in FlagsStored whatever the lazy state.
    static void Cld(Cpu c, ref Decoded d) => c.State.FlagsStored &= ~(ulong)RflagsBit.DF;

    static void Std(Cpu c, ref Decoded d) => c.State.FlagsStored |= (ulong)RflagsBit.DF;

    /// <summary>CLI (SDM Vol. 2, CLI): #GP(0) in protected mode above IOPL. The virtual-interrupt extensions
    /// (CR4.VME, CR4.PVI), which would clear VIF instead, are not modelled.</summary>
    static void Cli(Cpu c, ref Decoded d)
    {
        if (!c.IoplAllows)
            throw new CpuFault(Vector.GP, 0);
        c.State.FlagsStored &= ~(ulong)RflagsBit.IF;
    }

    /// <summary>STI, under the same rule as CLI. When it sets IF (IF was clear), maskable interrupts stay inhibited
    /// until the next instruction completes (SDM Vol. 2, STI); the block ends after STI (Handlers.ChangesCodeDecoding).</summary>
    static void Sti(Cpu c, ref Decoded d)
    {
        if (!c.IoplAllows)
            throw new CpuFault(Vector.GP, 0);
        if ((c.State.FlagsStored & (ulong)RflagsBit.IF) == 0)
            c.SetInterruptShadow(blocksNmi: false);
        c.State.FlagsStored |= (ulong)RflagsBit.IF;
    }

    // INT3, INT n, INTO and INT1 raise their vector as traps: the instruction completes and the event is
    // delivered with RIP after it (SDM Vol. 3, 6.5 and 6.15); Interrupts.cs does the delivery and the gate-DPL
    // check that INT n, INT3 and INTO undergo.

    static void Int3(Cpu c, ref Decoded d) => throw CpuFault.Trap(Vector.BP, EventSource.SoftwareInterrupt);

    /// <summary>INT n: vector n, without an error code even when n names an exception that has one. INT 3 (CD 03)
    /// differs from INT3 (CC) only in virtual-8086 mode, which is not modelled.</summary>
    static void IntN(Cpu c, ref Decoded d) => throw CpuFault.Trap((Vector)(byte)d.Immediate, EventSource.SoftwareInterrupt);

    /// <summary>INTO: #OF only when OF is set; otherwise nothing.</summary>
    static void Into(Cpu c, ref Decoded d)
    {
        if (c.State.OF)
            throw CpuFault.Trap(Vector.OF, EventSource.SoftwareInterrupt);
    }

    /// <summary>INT1 (ICEBP, F1): a trap-like #DB, delivered as a hardware event (SDM Vol. 3, 6.15, "Interrupt 1").</summary>
    static void Int1(Cpu c, ref Decoded d) => throw CpuFault.Trap(Vector.DB, EventSource.PrivilegedSoftwareException);
}
