using System.Buffers.Binary;
using Xunit.Abstractions;

namespace Repl.Machine.Tests.Differential;

/// <summary>
/// Differential tests against the host processor, one test per instruction family and kind of code: 64-bit, and
/// 32-bit (compatibility mode natively, 32-bit protected mode in the emulator), where the operand sizes are 8, 16
/// and 32 bits and 0x67 selects 16-bit addresses. Each case runs one instruction
/// natively (<see cref="HostCpu"/>) and on the emulator (<see cref="EmulatedCpu"/>) from the same GPRs, status
/// flags, DF and scratch memory, and everything must agree afterwards except what the SDM calls undefined for
/// that instruction and input (each family says which, quoting the manual). Inputs are random from a fixed seed
/// per family, biased to edge values; inputs that would fault natively are steered away from or dropped.
/// Each family prints "[differential] name: N cases in F forms, M mismatches ..." (shown by `dotnet test` at
/// normal verbosity, and in the test's output), and a failure lists the mismatching forms, grouped by reason
/// when the emulator rejects a whole form (#UD for an unimplemented instruction), then up to 20 cases in detail.
/// The tests share one fixed-address host region, so they live in this one class, which xunit runs serially.
/// </summary>
public partial class HostDifferentialTests(ITestOutputHelper output, DifferentialTotals totals) : IClassFixture<DifferentialTotals>
{
    /// <summary>The native side on its own, against results worked out by hand, so that the differential facts
    /// cannot pass by comparing the emulator with something that never ran.</summary>
    [Fact]
    public void Host_side_runs_the_instruction_with_the_given_registers_flags_and_memory()
    {
        if (!SelfTestHost(out var host, out var gpr, out var after))
            return;
        gpr[(int)Gpr.Rax] = 1;
        gpr[(int)Gpr.Rcx] = 2;

        // adc rax, rcx with CF and DF set: 1 + 2 + 1 = 4; CF, PF (4 has one bit), AF, ZF, SF, OF all clear; DF kept.
        host.Run(64, [0x48, 0x11, 0xC8], gpr, Flag.CF | Flag.DF | Flag.ZF, after, out ulong flags);
        Assert.Equal(4UL, after[(int)Gpr.Rax]);
        Assert.Equal(Flag.DF, flags & Flag.All);
        for (int i = 1; i < 16; i++)
            if (i != (int)Gpr.Rsp)
                Assert.Equal(gpr[i], after[i]);

        // mov [rbx], rcx with RBX pointing into the scratch buffer.
        gpr[(int)Gpr.Rbx] = host.ScratchAddress + 8;
        host.Scratch.Clear();
        host.Run(64, [0x48, 0x89, 0x0B], gpr, 0, after, out flags);
        Assert.Equal(2UL, BinaryPrimitives.ReadUInt64LittleEndian(host.Scratch[8..]));
        Assert.Equal(0UL, flags & Flag.All);
    }

    /// <summary>The same for 32-bit code, which runs in compatibility mode: instructions that exist only there
    /// (DAA, one-byte INC), the eight 32-bit GPRs going in and out, and a 16-bit address through the scratch segment.</summary>
    [Fact]
    public void Host_side_runs_32_bit_code_in_compatibility_mode()
    {
        if (!SelfTestHost(out var host, out var gpr, out var after))
            return;

        // 40 is INC EAX in 32-bit code (a REX prefix in 64-bit code): the upper half of RAX is not there to keep.
        host.Run(32, [0x40], gpr, Flag.CF | Flag.DF, after, out ulong flags);
        Assert.Equal(1UL, after[(int)Gpr.Rax]);
        Assert.Equal(Flag.CF | Flag.DF, flags & Flag.All); // INC leaves CF alone; 1 has odd parity
        for (int i = 1; i < 8; i++)
            if (i != (int)Gpr.Rsp)
                Assert.Equal((uint)gpr[i], after[i]);
        for (int i = 8; i < 16; i++)
            Assert.Equal(0UL, after[i]);

        // DAA after 0x19 + 0x28 = 0x41 with AF set: AL = 0x47, AF set, CF clear.
        gpr[(int)Gpr.Rax] = 0x41;
        host.Run(32, [0x27], gpr, Flag.AF, after, out flags);
        Assert.Equal(0x47UL, after[(int)Gpr.Rax]);
        Assert.Equal(Flag.AF, flags & (Flag.AF | Flag.CF));

        // mov [bx+si+2], ecx (67 89 48 02) with BX + SI + 2 = 0x8000 + 8 in the scratch segment; the upper halves
        // of EBX and ESI are not part of a 16-bit address.
        if (!host.HasScratchSegment(out string? whyNot))
        {
            output.WriteLine($"16-bit address SKIPPED: {whyNot}");
            return;
        }
        gpr[(int)Gpr.Rbx] = 0xABCD_7000;
        gpr[(int)Gpr.Rsi] = 0x1234_1006;
        host.Scratch.Clear();
        host.Run(32, [0x67, 0x89, 0x48, 0x02], gpr, 0, after, out _, scratchSegment: true);
        Assert.Equal((uint)gpr[(int)Gpr.Rcx], BinaryPrimitives.ReadUInt32LittleEndian(host.Scratch[(HostCpu.ScratchSize / 2 + 8)..]));
    }

    /// <summary>The host for a self-test, with GPRs 0x1111..., 0x2222... in and room for them out; false (having
    /// said why) where the host cannot run native code.</summary>
    bool SelfTestHost(out HostCpu host, out ulong[] gpr, out ulong[] after)
    {
        gpr = new ulong[16];
        after = new ulong[16];
        for (int i = 0; i < 16; i++)
            gpr[i] = 0x1111_1111_1111_1111UL * (ulong)i;
        host = HostCpu.Get(out string? whyNot)!;
        if (host is null)
            output.WriteLine($"SKIPPED: {whyNot}");
        return host is not null;
    }
}
