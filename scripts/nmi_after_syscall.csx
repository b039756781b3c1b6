// Inject an NMI between SYSCALL and the entry's SWAPGS. The NMI arrives at CPL 0, yet GS.base is still the user's:
// the entry has not swapped yet. So the NMI entry cannot decide by the CPL of the interrupted code whether to SWAPGS,
// as ordinary kernel entries do. asm_exc_nmi (nmi.S) calls paranoid_entry, which reads IA32_GS_BASE and swaps unless
// it already holds the kernel's (negative) base, and loads the kernel root, keeping the interrupted CR3 to restore.
#load "lib/kernel.csx"

const ulong UserGs = 0x7fff_0000_1000;
StartUser($@"
    mov ${NrArchPrctl}, %eax
    mov $0x1001, %edi               # ARCH_SET_GS: a user GS base to recognise
    movabs ${UserGs}, %rsi
    syscall
    mov ${NrGetpid}, %eax
    syscall
done:
    nop
");
ulong userCr3 = Cpu.Cr3, perCpu = Msr.KernelGsBase;

// At the first instruction of getpid's entry (SWAPGS), signal an NMI: it is taken at the next boundary, before SWAPGS.
bool sent = false;
On.Instruction(Sym["entry_SYSCALL_64"], () => { if (Cpu.Rax == (ulong)NrGetpid && !sent) { sent = true; Inject.Nmi(); } });
var nmis = new List<InterruptDelivered>();
ulong gsAtNmi = 0;
On.Exception += e => { if (e.Vector == Vector.NMI) { nmis.Add(e); gsAtNmi = Cpu.Gs.Base; } };
ulong gsInHandler = 0, cr3InHandler = 0;
On.Instruction(Sym["exc_nmi"], () => { gsInHandler = Cpu.Gs.Base; cr3InHandler = Cpu.Cr3; });
var swaps = new List<SwapgsExecuted>();
On.Swapgs += s => { if (sent) swaps.Add(s); };      // from getpid's entry on

TBreak("done");
var stop = Continue();
Expect(stop.Kind == StopKind.Breakpoint && Cpu.Rip == Sym["done"], $"getpid completed despite the NMI ({stop})");
var nmi = nmis.Single();
Expect(nmi.From.Cpl == 0 && nmi.ReturnRip == Sym["entry_SYSCALL_64"], "the NMI interrupted the kernel at its entry, at CPL 0, before SWAPGS");
Expect(gsAtNmi == UserGs && nmi.From.Rsp == Cpu.Rsp, "yet GS.base was the user's, and RSP the user's stack");
Expect(nmi.To.Rip == Sym["asm_exc_nmi"] && nmi.To.Rsp > Sym["percpu"], "the NMI gate's IST gave it a stack of its own");
Expect(gsInHandler == perCpu, "exc_nmi ran with the kernel's GS base: paranoid_entry swapped");
Expect(cr3InHandler == (Mem.U64[perCpu + PerCpuKernelCr3] & ~(1UL << 63)), "and with the kernel root");
Expect(swaps.Count == 4 && swaps[0].Rip >= Sym["paranoid_entry"] && swaps[0].Rip < Sym["paranoid_exit"],
       $"four SWAPGS ({swaps.Count}): paranoid_entry's first,");
Expect(swaps[1].Rip > Sym["end_repeat_nmi"] && swaps[1].Rip < Sym["nmi_restore"] && swaps[1].GsBase == UserGs,
       "then the NMI's exit undoing it, giving the user's base back to the interrupted entry,");
Expect(swaps[2].Rip == Sym["entry_SYSCALL_64"] && swaps[2].GsBase == perCpu, "then the entry's own SWAPGS, which finds what it expects,");
Expect(swaps[3].GsBase == UserGs, "and the exit's");
Expect(Cpu.Rax == 1 && Cpu.Gs.Base == UserGs && Msr.KernelGsBase == perCpu && Cpu.Cr3 == userCr3, "user mode sees getpid's answer, its GS base and its root");
