using System.Buffers.Binary;
using Xunit.Abstractions;

namespace Repl.Machine.Tests.Differential;

/// <summary>
/// Differential tests against the host processor, one fact per instruction family. Each case runs one instruction
/// natively (<see cref="HostCpu"/>) and on the emulator (<see cref="EmulatedCpu"/>) from the same GPRs, status
/// flags, DF and scratch memory, and everything must agree afterwards except what the SDM calls undefined for
/// that instruction and input (each family says which, quoting the manual). Inputs are random from a fixed seed
/// per family, biased to edge values; inputs that would fault natively are steered away from or dropped.
/// Each family prints "[differential] name: N cases in F forms, M mismatches ..." (shown by `dotnet test` at
/// normal verbosity, and in the test's output), and a failure lists the mismatching forms, grouped by reason
/// when the emulator rejects a whole form (#UD for an unimplemented instruction), then up to 20 cases in detail.
/// The facts share one fixed-address host region, so they live in this one class, which xunit runs serially.
/// </summary>
public partial class HostDifferentialTests(ITestOutputHelper output, DifferentialTotals totals) : IClassFixture<DifferentialTotals>
{
    /// <summary>The native side on its own, against results worked out by hand, so that the differential facts
    /// cannot pass by comparing the emulator with something that never ran.</summary>
    [Fact]
    public void Host_side_runs_the_instruction_with_the_given_registers_flags_and_memory()
    {
        if (HostCpu.Get(out string? whyNot) is not { } host)
        {
            output.WriteLine($"SKIPPED: {whyNot}");
            return;
        }
        var gpr = new ulong[16];
        for (int i = 0; i < 16; i++)
            gpr[i] = 0x1111_1111_1111_1111UL * (ulong)i;
        gpr[(int)Gpr.Rax] = 1;
        gpr[(int)Gpr.Rcx] = 2;
        var after = new ulong[16];

        // adc rax, rcx with CF and DF set: 1 + 2 + 1 = 4; CF, PF (4 has one bit), AF, ZF, SF, OF all clear; DF kept.
        host.Run([0x48, 0x11, 0xC8], gpr, Flag.CF | Flag.DF | Flag.ZF, after, out ulong flags);
        Assert.Equal(4UL, after[(int)Gpr.Rax]);
        Assert.Equal(Flag.DF, flags & Flag.All);
        for (int i = 1; i < 16; i++)
            if (i != (int)Gpr.Rsp)
                Assert.Equal(gpr[i], after[i]);

        // mov [rbx], rcx with RBX pointing into the scratch buffer.
        gpr[(int)Gpr.Rbx] = host.ScratchAddress + 8;
        host.Scratch.Clear();
        host.Run([0x48, 0x89, 0x0B], gpr, 0, after, out flags);
        Assert.Equal(2UL, BinaryPrimitives.ReadUInt64LittleEndian(host.Scratch[8..]));
        Assert.Equal(0UL, flags & Flag.All);
    }
}
