// Inject an NMI between SYSCALL and SWAPGS: the NMI arrives at CPL 0, but GS.base still holds the user's value,
// because the entry code has not swapped yet. This is why Linux's NMI entry cannot trust the CPL alone and reads
// the GS base MSR to decide whether to SWAPGS (the paranoid entry).
#load "lib/machine.csx"

const ulong UserGs = 0x7fff_0000_1000, PerCpu = 0xffff_8880_0001_0000;

LoadDescriptorTables();
Assemble(@"
start:
    lea user_start(%rip), %rcx
    mov $0x2, %r11
    sysretq
user_start:
    mov $60, %eax               # exit
    syscall
entry_SYSCALL_64:
    swapgs                      # the NMI is delivered before this instruction
    hlt
nmi:
    hlt
");
EnableSyscall(Sym["entry_SYSCALL_64"]);
SetGate(2, Sym["nmi"]);
Cpu.Rip = Sym["start"];
Cpu.Gs.Base = UserGs;
Msr.KernelGsBase = PerCpu;

// At the first instruction of the entry, signal an NMI: it is taken at the next boundary, which is this one.
On.Instruction(Sym["entry_SYSCALL_64"], () => Inject.Nmi());
ulong gsBaseInNmi = 0;
var nmis = new List<InterruptDelivered>();
On.Exception += e => { if (e.Vector == Vector.NMI) { nmis.Add(e); gsBaseInNmi = Cpu.Gs.Base; } };
var stop = Continue();

Expect(stop.Kind == StopKind.Halted && Cpu.Rip == Sym["nmi"] + 1, $"the NMI handler ran to its HLT ({stop})");
var nmi = nmis.Single();
Expect(nmi.From.Cpl == 0 && nmi.From.Rip == Sym["entry_SYSCALL_64"], "the NMI interrupted the kernel at its entry, at CPL 0");
Expect(gsBaseInNmi == UserGs, "yet GS.base is still the user's: CPL 0 does not mean the kernel's GS");
Expect(Msr.KernelGsBase == PerCpu, "the kernel's per-CPU base is still waiting in KERNEL_GS_BASE");
