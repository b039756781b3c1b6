using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Repl.Shell;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>
/// The built-in program: asks CPUID for the vendor string, stores it, sums 1..100 in a loop, calls a
/// function, and halts. Enough to show the machine fetching, decoding, executing and stopping with a reason.
/// </summary>
static class Demo
{
    const ulong CodeAddress = 0x10_0000, DataAddress = 0x20_0000, StackTop = 0x9_0000;

    public static int Run(CpuVendor vendor, TextWriter output)
    {
        var machine = Machine.CreateLongMode(new MachineOptions { Vendor = vendor });
        machine.WritePhysical(CodeAddress, Assemble());
        machine.State.Rip = CodeAddress;
        machine.WriteRegister(Repl.Machine.Register.Rsp, StackTop);

        var stop = machine.Run(budget: 100_000);

        Span<byte> vendorString = stackalloc byte[12];
        machine.ReadPhysical(DataAddress, vendorString);
        output.WriteLine($"stopped: {stop}");
        output.WriteLine($"instructions retired: {machine.State.InstructionsRetired}");
        output.WriteLine($"CPUID vendor string stored at 0x{DataAddress:x}: \"{System.Text.Encoding.ASCII.GetString(vendorString)}\"");
        output.WriteLine();
        output.Write(StateView.Format(machine.State));
        return stop.Kind == StopKind.Halted ? 0 : 1;
    }

    static byte[] Assemble()
    {
        var a = new Assembler(64);
        var sum = a.CreateLabel();
        var top = a.CreateLabel();
        a.xor(eax, eax);
        a.cpuid();
        a.mov(edi, (uint)DataAddress);
        a.mov(__dword_ptr[rdi], ebx);
        a.mov(__dword_ptr[rdi + 4], edx);
        a.mov(__dword_ptr[rdi + 8], ecx);
        a.mov(ecx, 100);
        a.call(sum);
        a.hlt();
        // sum: rax = rcx + (rcx-1) + ... + 1
        a.Label(ref sum);
        a.xor(eax, eax);
        a.Label(ref top);
        a.add(rax, rcx);
        a.dec(ecx);
        a.jnz(top);
        a.ret();
        var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), CodeAddress);
        return stream.ToArray();
    }
}
