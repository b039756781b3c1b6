// Shared by the scenarios on the entry kernel, the machine `repl run` gives every script (machine/Kernel/README.md
// describes it). The kernel boots to its self-test, a user program at selftest_main; a scenario runs the boot up to
// there and puts a user program of its own in the self-test's place, so the kernel it talks to is the real one.

// Linux's system call numbers, and Repl's own (defs.inc).
const int NrRtSigaction = 13, NrGetpid = 39, NrArchPrctl = 158, NrForceExitWork = 500;
const ushort UserCs = 0x33, UserDs = 0x2b, KernelCs = 0x10;
// The user fault frame the kernel writes for the handler registered with rt_sigaction (defs.inc: UFRAME_*).
const ulong UframeVector = 0, UframeErrorCode = 8, UframeCr2 = 16, UframeRegs = 32;
// struct pt_regs, as the entry builds it on the kernel stack (defs.inc; Linux's offsets).
const ulong PtRegsRbx = 40, PtRegsR10 = 56, PtRegsRdi = 112, PtRegsOrigRax = 120, PtRegsRip = 128,
            PtRegsCs = 136, PtRegsFlags = 144, PtRegsRsp = 152, PtRegsSs = 160, SizeofPtRegs = 168;
// The per-CPU area (GS base in the kernel, KERNEL_GS_BASE in user mode; defs.inc: PER_CPU_*).
const ulong PerCpuTopOfStack = 16, PerCpuKernelCr3 = 24, PerCpuUserCr3 = 32;

// Runs the boot to the kernel's first IRET into user mode (the self-test's first instruction) and writes
// userProgram (AT&T syntax) there instead. User text is read-only to user code; the debugger's writes go around that.
void StartUser(string userProgram)
{
    var stop = Until("selftest_main");
    if (Cpu.Rip != Sym["selftest_main"] || Cpu.Cpl != 3)
        throw new InvalidOperationException($"the kernel did not reach user mode at selftest_main ({stop})");
    Assemble(userProgram, Sym["selftest_main"]);
}
