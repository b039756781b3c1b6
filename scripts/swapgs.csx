// Watch SWAPGS exchange GS.base and IA32_KERNEL_GS_BASE at entry_SYSCALL_64. While user code runs, GS.base is the
// user's own (set here with arch_prctl) and the kernel's per-CPU pointer waits in KERNEL_GS_BASE. SYSCALL changes
// neither, so the entry's first instruction is SWAPGS: it brings the per-CPU area into GS before anything per-CPU is
// touched. The exit's SWAPGS, the last instruction before SYSRETQ, puts the user's value back.
#load "lib/kernel.csx"

const ulong UserGs = 0x7fff_0000_1000;
StartUser($@"
    mov ${NrArchPrctl}, %eax
    mov $0x1001, %edi               # ARCH_SET_GS
    movabs ${UserGs}, %rsi
    syscall
    mov ${NrGetpid}, %eax           # the system call we watch
    syscall
done:
    nop
");

Break("entry_SYSCALL_64");
var stop = Continue(2);                             // the second SYSCALL: getpid, after arch_prctl
Expect(stop.Kind == StopKind.Breakpoint && Cpu.Rip == Sym["entry_SYSCALL_64"] && Cpu.Cpl == 0, $"getpid entered the kernel ({stop})");
ulong perCpu = Msr.KernelGsBase;
Expect(Cpu.Gs.Base == UserGs, "at CPL 0, before SWAPGS, GS.base is still the user's");
Expect(perCpu == 0xffff_ffff_8000_0000 + Sym["percpu"], "KERNEL_GS_BASE holds the per-CPU area, at its alias in the kernel's high map");

StepInstruction();                                  // swapgs
Expect(Cpu.Gs.Base == perCpu && Msr.KernelGsBase == UserGs, "after SWAPGS the kernel's base is in GS, the user's waits in KERNEL_GS_BASE");
Expect(Msr.GsBase == Cpu.Gs.Base, "IA32_GS_BASE is GS.base under another name");
Expect(Mem.U64[Cpu.Gs.Base] == Sym["percpu"], "%gs:0 now reads the per-CPU area's first word (PER_CPU_SELF: its own address)");

var swaps = new List<SwapgsExecuted>();
On.Swapgs += s => swaps.Add(s);
var sysrets = new List<ControlTransfer>();
On.Sysret += t => sysrets.Add(t);
stop = Until("done");
Expect(Cpu.Rip == Sym["done"] && Cpu.Cpl == 3 && Cpu.Rax == 1, $"getpid returned 1 to user mode ({stop})");
Expect(swaps.Count == 1 && swaps[0].GsBase == UserGs && swaps[0].KernelGsBase == perCpu, "one more SWAPGS on the way out undid the first");
Expect(sysrets.Count == 1 && sysrets[0].Rip == swaps[0].Rip + 3, "it was the instruction right before SYSRETQ (SWAPGS is 3 bytes)");
Expect(Cpu.Gs.Base == UserGs && Msr.KernelGsBase == perCpu, "user mode has its GS base back");
