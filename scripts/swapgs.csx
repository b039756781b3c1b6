// Watch SWAPGS exchange GS.base and IA32_KERNEL_GS_BASE: the kernel's per-CPU pointer waits in KERNEL_GS_BASE
// while user code runs, and the first SWAPGS of an entry path brings it into GS.base (Linux's entry_SYSCALL_64
// does this before it touches anything per-CPU); the one before SYSRET puts the user's value back.
const ulong UserGs = 0x7fff_0000_1000, PerCpu = 0xffff_8880_0001_0000;

Assemble(@"
    swapgs      # entry: GS.base <- the kernel's per-CPU area
    swapgs      # exit: GS.base <- the user's value again
    hlt
");
Cpu.Rip = 0x10_0000;
Cpu.Gs.Base = UserGs;
Msr.KernelGsBase = PerCpu;

var swaps = new List<SwapgsExecuted>();
On.Swapgs += s => swaps.Add(s);

StepInstruction();
Expect(Cpu.Gs.Base == PerCpu && Msr.KernelGsBase == UserGs, "after the first SWAPGS the kernel's base is in GS");
Expect(Msr.GsBase == Cpu.Gs.Base, "IA32_GS_BASE is GS.base under another name");
StepInstruction();
Expect(Cpu.Gs.Base == UserGs && Msr.KernelGsBase == PerCpu, "the second SWAPGS undoes the first");
Expect(swaps.Count == 2 && swaps[0].GsBase == PerCpu && swaps[1].KernelGsBase == PerCpu, "the machine reported both, with the values after each");
