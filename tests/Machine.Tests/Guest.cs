using Iced.Intel;

namespace Repl.Machine.Tests;

/// <summary>Builds small guest programs with Iced's assembler (or from raw bytes), loads them on a fresh machine,
/// and sets up and runs that machine the way the tests need it.</summary>
static class Guest
{
    public const ulong CodeAddress = 0x10_0000;

    /// <summary>Where <see cref="Load"/> puts RSP.</summary>
    public const ulong StackTop = 0x8_0000;

    /// <summary>RAM clear of the code and the stack, for the programs' memory operands.</summary>
    public const ulong Data = 0x20_0000;

    /// <summary>An address a 64-bit memory access cannot reach: not canonical.</summary>
    public const ulong NonCanonical = 0x8000_0000_0000_0000;

    /// <summary>The six status flags (CF, PF, AF, ZF, SF, OF) as an RFLAGS mask.</summary>
    public const ulong ArithmeticFlags = (ulong)RflagsBit.Arithmetic;

    /// <summary>Assembles <paramref name="build"/> for the given bitness at <see cref="CodeAddress"/>.</summary>
    public static byte[] Assemble(int bitness, Action<Assembler> build, ulong at = CodeAddress)
    {
        var a = new Assembler(bitness);
        build(a);
        var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), at);
        return stream.ToArray();
    }

    /// <summary>A 64-bit machine with the program loaded at <see cref="CodeAddress"/>, RIP there and a stack below it.</summary>
    public static Machine Long(Action<Assembler> build, CpuVendor vendor = CpuVendor.Intel)
    {
        var m = Machine.CreateLongMode(new MachineOptions { Vendor = vendor });
        Load(m, Assemble(64, build));
        return m;
    }

    /// <summary>A 32-bit protected-mode machine with the program loaded at <see cref="CodeAddress"/>.</summary>
    public static Machine Protected(Action<Assembler> build, CpuVendor vendor = CpuVendor.Intel)
    {
        var m = Machine.CreateProtectedMode(new MachineOptions { Vendor = vendor });
        Load(m, Assemble(32, build));
        return m;
    }

    /// <summary><see cref="Long"/> or <see cref="Protected"/> by <paramref name="bitness"/> (64 or 32).</summary>
    public static Machine Create(int bitness, Action<Assembler> build) =>
        bitness == 64 ? Long(build) : Protected(build);

    /// <summary>A 64-bit or 32-bit machine running hand-encoded bytes, for encodings the assembler will not produce.</summary>
    public static Machine FromBytes(int bitness, params byte[] code)
    {
        var m = bitness == 64 ? Machine.CreateLongMode() : Machine.CreateProtectedMode();
        Load(m, code);
        return m;
    }

    /// <summary>Loads raw bytes at <see cref="CodeAddress"/>, with RIP there and RSP at <see cref="StackTop"/>. The
    /// machine stops at every exception instead of delivering it (these programs have no IDT), so a test sees the
    /// exception itself; delivery tests use <see cref="DeliverExceptions"/>.</summary>
    public static void Load(Machine m, byte[] code)
    {
        CatchAll(m);
        m.WritePhysical(CodeAddress, code);
        m.State.Rip = CodeAddress;
        m.State.Gpr[(int)Gpr.Rsp] = StackTop;
    }

    /// <summary>Makes runs stop at every vector before delivery.</summary>
    public static void CatchAll(Machine m)
    {
        for (int v = 0; v < 256; v++)
            m.Cpu.CatchExceptions.Add((Vector)v);
    }

    /// <summary>Undoes <see cref="CatchAll"/>: events are delivered through the IDT.</summary>
    public static void DeliverExceptions(Machine m) => m.Cpu.CatchExceptions.Clear();

    /// <summary>Runs the machine and checks that it halted within <paramref name="budget"/> instructions.</summary>
    public static void RunToHalt(Machine m, ulong budget = 100) => Assert.Equal(StopKind.Halted, m.Run(budget).Kind);

    /// <summary>Clears the writable bit of DS, so that a store through it raises #GP(0).</summary>
    public static void MakeDataSegmentReadOnly(Machine m) =>
        m.State.Segments[(int)SegmentRegister.Ds].Attributes &= unchecked((ushort)~SegmentCache.AttrWritable);

    /// <summary>Makes the machine run at CPL 3 (CS and SS DPL 3) with the given IOPL, as a test shortcut for
    /// what a far return or IRET to user mode would load.</summary>
    public static void RunAtCpl3(Machine m, int iopl = 0)
    {
        m.State.Segments[(int)SegmentRegister.Cs].Attributes |= 3 << 5;
        m.State.Segments[(int)SegmentRegister.Ss].Attributes |= 3 << 5;
        m.State.Rflags = (m.State.Rflags & ~(ulong)RflagsBit.IOPL) | ((ulong)iopl << 12);
    }
}

/// <summary>Checks on how a run ends.</summary>
static class Expect
{
    /// <summary>Runs a program whose first instruction must fault, and checks it stopped there with the expected
    /// vector and error code.</summary>
    public static void FaultAtFirstInstruction(Machine m, Vector vector, uint? errorCode)
    {
        var stop = m.Run(100);
        Assert.Equal(StopKind.Fault, stop.Kind);
        Assert.Equal(vector, stop.Vector);
        Assert.Equal(errorCode, stop.ErrorCode);
        Assert.Equal(Guest.CodeAddress, stop.Rip);
    }

    /// <summary><see cref="FaultAtFirstInstruction"/>, and checks that RIP, every GPR and RFLAGS are as they were.</summary>
    public static void FaultWithoutEffect(Machine m, Vector vector, uint? errorCode)
    {
        CpuState before = m.State;
        FaultAtFirstInstruction(m, vector, errorCode);
        Assert.Equal(Guest.CodeAddress, m.State.Rip);
        for (int i = 0; i < 16; i++)
            Assert.Equal(before.Gpr[i], m.State.Gpr[i]);
        Assert.Equal(before.Rflags, m.State.Rflags);
    }
}
