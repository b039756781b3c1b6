using Iced.Intel;

namespace Repl.Machine.Tests;

/// <summary>Builds small guest programs with Iced's assembler and runs them on a fresh machine.</summary>
static class Guest
{
    public const ulong CodeAddress = 0x10_0000;

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

    /// <summary>Loads raw bytes at <see cref="CodeAddress"/>.</summary>
    public static void Load(Machine m, byte[] code)
    {
        m.WritePhysical(CodeAddress, code);
        m.State.Rip = CodeAddress;
        m.State.Gpr[(int)Gpr.Rsp] = 0x8_0000;
    }
}
