using System.Diagnostics;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Repl.Bench;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>
/// Emulated MIPS on three loops that stress different parts of the interpreter. A figure, not a test:
/// run it in Release (`dotnet run -c Release --project bench`) and record the output in the README.
/// </summary>
static class Program
{
    const ulong CodeAddress = 0x10_0000, DataAddress = 0x40_0000, StackTop = 0x9_0000;
    const int Iterations = 20_000_000;
    /// <summary>Each workload runs this many times on a fresh machine; the median is reported, as VMs are noisy.</summary>
    const int Repeats = 5;

    static int Main(string[] args)
    {
        // `bench asm`: the assembler benchmark alone.
        if (args is ["asm"])
            return AssemblerBench.Measure() ? 0 : 1;
        // `bench gdb`: the GDB stub beside QEMU's.
        if (args is ["gdb"])
            return GdbStubRoundTrip.Measure() ? 0 : 1;
        // `bench shell`: the interactive shell's speed and memory.
        if (args is ["shell"])
            return ShellSpeed.Measure() ? 0 : 1;
        // `bench kernel [N]`: getpid round trips through the entry kernel, here and under QEMU.
        if (args is ["kernel", ..])
            return Count(args.Skip(1).FirstOrDefault(), Iterations / 20) is { } trips ? EntryKernelRoundTrip.Measure(trips) ? 0 : 1 : 2;
        if (Count(args.FirstOrDefault(), Iterations) is not { } iterations)
            return 2;
        Console.WriteLine($"Repl interpreter benchmark: {iterations:N0} loop iterations each, median of {Repeats} runs, {Environment.ProcessorCount} host cores, .NET {Environment.Version}");
        Console.WriteLine();
        Console.WriteLine($"{"workload",-12} {"instructions",14} {"seconds",8} {"MIPS",8} {"guest RAM touched",18} {"host heap delta",16}");
        bool ok = true;
        ok &= Measure("alu", iterations, AluLoop);
        ok &= Measure("memory", iterations, MemoryLoop);
        ok &= Measure("call/ret", iterations, CallLoop);
        Console.WriteLine();
        ok &= KptiRoundTrip.Measure(iterations / 20);
        Console.WriteLine();
        ok &= GdbStubRoundTrip.Measure();
        Console.WriteLine();
        ok &= AssemblerBench.Measure();
        return ok ? 0 : 1;
    }

    /// <summary>Register-only arithmetic and logic with a counted loop: decode cache, dispatch and lazy flags.</summary>
    static void AluLoop(Assembler a)
    {
        var top = a.CreateLabel();
        a.Label(ref top);
        a.add(rax, rbx);
        a.xor(rdx, rax);
        a.sub(rbx, 3);
        a.and(rsi, rdx);
        a.or(rdi, 1);
        a.inc(r8);
        a.dec(ecx);
        a.jnz(top);
    }

    /// <summary>Loads and stores walking a 64 KiB buffer (16 pages) with a 24-byte stride.</summary>
    static void MemoryLoop(Assembler a)
    {
        var top = a.CreateLabel();
        a.mov(rsi, DataAddress);
        a.xor(edx, edx);
        a.Label(ref top);
        a.mov(rax, __qword_ptr[rsi + rdx]);
        a.add(rax, rcx);
        a.mov(__qword_ptr[rsi + rdx], rax);
        a.add(edx, 24);
        a.and(edx, 0xFFF8);
        a.dec(ecx);
        a.jnz(top);
    }

    /// <summary>A call to a two-instruction function per iteration: stack traffic and block transitions.</summary>
    static void CallLoop(Assembler a)
    {
        var top = a.CreateLabel();
        var function = a.CreateLabel();
        var done = a.CreateLabel();
        a.Label(ref top);
        a.call(function);
        a.dec(ecx);
        a.jnz(top);
        a.jmp(done);
        a.Label(ref function);
        a.add(rax, rcx);
        a.ret();
        a.Label(ref done);
    }

    /// <summary>A count from the command line (the default when none is given), or null after a one-line usage error.</summary>
    static int? Count(string? arg, int byDefault)
    {
        if (arg is null)
            return byDefault;
        if (int.TryParse(arg, out int count) && count > 0)
            return count;
        Console.Error.WriteLine($"bench: '{arg}' is not a count (usage: bench [N] | asm | gdb | shell | kernel [N])");
        return null;
    }

    static bool Measure(string name, int iterations, Action<Assembler> body)
    {
        var runs = Enumerable.Range(0, Repeats).Select(_ => RunOnce(iterations, body)).OrderBy(r => r.Seconds).ToArray();
        var (stop, retired, seconds, touchedKiB, heapKiB) = runs[Repeats / 2];
        Console.WriteLine($"{name,-12} {retired,14:N0} {seconds,8:F2} {retired / seconds / 1e6,8:F1} {touchedKiB,15:N0} KiB {heapKiB,12:N0} KiB");
        if (stop.Kind != StopKind.Halted)
        {
            Console.WriteLine($"  {name} did not halt: {stop}");
            return false;
        }
        return true;
    }

    static (StopReason Stop, ulong Retired, double Seconds, long TouchedKiB, long HeapKiB) RunOnce(int iterations, Action<Assembler> body)
    {
        var a = new Assembler(64);
        a.mov(ecx, (uint)iterations);
        body(a);
        a.hlt();
        var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), CodeAddress);

        var machine = Machine.CreateLongMode();
        machine.WritePhysical(CodeAddress, stream.ToArray());
        machine.State.Rip = CodeAddress;
        machine.State.Gpr[(int)Gpr.Rsp] = StackTop;

        GC.Collect();
        long heapBefore = GC.GetTotalMemory(true);
        var clock = Stopwatch.StartNew();
        var stop = machine.Run();
        clock.Stop();
        long heapAfter = GC.GetTotalMemory(false);

        return (stop, machine.State.InstructionsRetired, clock.Elapsed.TotalSeconds,
                machine.Bus.Ram.BackedPages * PhysicalMemory.PageSize / 1024, (heapAfter - heapBefore) / 1024);
    }
}
