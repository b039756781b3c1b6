// Follow a SYSCALL into the entry kernel and back. SYSCALL leaves RIP in RCX and RFLAGS in R11 and changes nothing
// else: RSP is still the user's and CR3 still the user root, which under KPTI maps almost nothing of the kernel. So
// entry_SYSCALL_64 swaps GS, parks the user RSP, loads the kernel root, takes the thread stack and saves the user's
// registers as Linux's struct pt_regs. On the way out it checks the frame still suits SYSRET, loads the user root
// again and returns with SYSRETQ. With PCIDs each root has its own TLB tag and the kernel sets CR3's bit 63 (no flush).
#load "lib/kernel.csx"

Boot("KPTI=1", "PCID=1");                           // the story needs both roots and their PCIDs, whatever --define says
StartUser($@"
    mov $0x1111, %edi               # values to find in the frame
    mov $0x2222, %r10
    mov ${NrGetpid}, %eax
    syscall
done:
    nop
");
ulong userRsp = Cpu.Rsp, userFlags = Cpu.Rflags;

var cr3Writes = new List<ControlRegisterWritten>();
On.Cr3Write += w => cr3Writes.Add(w);
var transfers = new List<ControlTransfer>();
On.Transfer += t => transfers.Add(t);

var stop = Until("entry_SYSCALL_64");
Expect(Cpu.Cpl == 0 && Cpu.Cs.Selector == KernelCs, $"SYSCALL entered the kernel at CPL 0 ({stop})");
Expect(Cpu.Rcx == Sym["done"] && Cpu.R11 == userFlags, "RCX holds the return address, R11 the user's RFLAGS");
Expect(Cpu.Rsp == userRsp, "RSP is still the user's: SYSCALL does not switch stacks");
ulong perCpu = Msr.KernelGsBase;
ulong kernelCr3 = Mem.U64[perCpu + PerCpuKernelCr3], userCr3 = Mem.U64[perCpu + PerCpuUserCr3];   // what the entry and exit load
Expect(Cpu.Cr3 == (userCr3 & ~(1UL << 63)), "CR3 is still the user root");
Expect((kernelCr3 & 0xfff) == 1 && (userCr3 & 0xfff) == 0x801, "the roots carry PCIDs 1 and 0x801 (the user bit, 11)");
Expect(kernelCr3 >> 63 == 1 && userCr3 >> 63 == 1, "both values the entry loads ask for no flush (bit 63)");
Expect((userCr3 & ~0xfffUL & ~(1UL << 63)) == (kernelCr3 & ~0xfffUL & ~(1UL << 63)) + 0x1000, "the user root is the kernel root + 4 KiB (bit 12)");

stop = Until("do_syscall_64");
ulong frame = Cpu.Rdi;
Command($"info frame 0x{frame:x}");                 // in the log: the frame field by field
Expect(Cpu.Cr3 == (kernelCr3 & ~(1UL << 63)), "by now the kernel root is loaded (bit 63 is not stored: CR3 reads it as 0)");
Expect(Mem.U64[frame + PtRegsOrigRax] == (ulong)NrGetpid, "pt_regs->orig_ax: the system call number");
Expect(Mem.U64[frame + PtRegsRip] == Sym["done"] && Mem.U64[frame + PtRegsCs] == UserCs, "pt_regs->ip and cs: where the user resumes");
Expect(Mem.U64[frame + PtRegsFlags] == userFlags && Mem.U64[frame + PtRegsRsp] == userRsp && Mem.U64[frame + PtRegsSs] == UserDs,
       "pt_regs->flags, sp and ss: the rest of an interrupt-like frame, from R11, the parked RSP and __USER_DS");
Expect(Mem.U64[frame + PtRegsRdi] == 0x1111 && Mem.U64[frame + PtRegsR10] == 0x2222, "pt_regs->di and r10: the first and fourth arguments");
Expect(frame + SizeofPtRegs == Mem.U64[Cpu.Gs.Base + PerCpuTopOfStack], "the frame sits at the top of the thread stack");

stop = Until("done");
Expect(Cpu.Rip == Sym["done"] && Cpu.Cpl == 3 && Cpu.Cs.Selector == UserCs && Cpu.Ss.Selector == UserDs, $"back in user mode after the SYSCALL ({stop})");
Expect(Cpu.Rax == 1 && Cpu.Rdi == 0x1111 && Cpu.Rsp == userRsp, "getpid's answer (the one task is pid 1), the user's registers and stack");
Expect(transfers.Select(t => t.Kind).SequenceEqual(new[] { TransferKind.Syscall, TransferKind.Sysret }), "SYSCALL, then SYSRET: the fast way back");
Expect(cr3Writes.Select(w => w.New).SequenceEqual(new[] { kernelCr3 & ~(1UL << 63), userCr3 & ~(1UL << 63) }), "two CR3 writes: the kernel root, then the user root");
Expect(transfers[1].Rip > Sym["syscall_return_via_sysret"], "SYSRETQ runs after syscall_return_via_sysret, from the trampoline stack");
