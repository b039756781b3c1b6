// Make RCX non-canonical and see the kernel leave by IRET instead of SYSRET. SYSRETQ takes RIP from RCX and RFLAGS
// from R11, so entry_SYSCALL_64 uses it only when the pt_regs frame holds exactly what SYSRET would restore: RCX equal
// to RIP (and canonical), R11 equal to RFLAGS, the usual CS and SS, neither RF nor TF. Anything else goes to
// swapgs_restore_regs_and_return_to_usermode, whose IRETQ restores the frame as it is. Here the exit work of
// force_exit_work (Repl's own system call, 500) stores a non-canonical value in the frame's RCX, as a tracer could.
// (cve_2012_0217.csx shows the canonical check itself: RCX equal to RIP, and both non-canonical.)
#load "lib/kernel.csx"

const ulong Bad = 0x8000_0000_0000_1234;           // bits 63:47 are not all equal: not canonical
StartUser($@"
    mov ${NrForceExitWork}, %eax
    mov $2, %edi                    # EXIT_WORK_SET_RCX: regs->cx = the value, at this call's exit
    movabs ${Bad}, %rsi
    syscall
after_work:
    mov ${NrGetpid}, %eax           # an ordinary call, for comparison
    syscall
after_getpid:
    nop
");

var transfers = new List<ControlTransfer>();
On.Transfer += t => transfers.Add(t);
int iretExits = 0;
On.Instruction(Sym["swapgs_restore_regs_and_return_to_usermode"], () => iretExits++);

var stop = Until("after_work");
Expect(Cpu.Rip == Sym["after_work"] && Cpu.Cpl == 3, $"the call returned to the instruction after its SYSCALL ({stop})");
Expect(Cpu.Rax == 0, "force_exit_work succeeded");
Expect(iretExits == 1, "the SYSRET checks sent the exit to swapgs_restore_regs_and_return_to_usermode");
Expect(transfers.Select(t => t.Kind).SequenceEqual(new[] { TransferKind.Syscall, TransferKind.Iret }), "SYSCALL in, IRET out: no SYSRET");
Expect(transfers[1].Rip == Sym["native_irq_return_iret"], "the IRETQ at native_irq_return_iret");
Expect(Cpu.Rcx == Bad, "IRET restores every register from the frame: the user sees the RCX the kernel stored");

transfers.Clear();
stop = Until("after_getpid");
Expect(Cpu.Rip == Sym["after_getpid"] && Cpu.Rax == 1, $"getpid returned 1 ({stop})");
Expect(transfers.Select(t => t.Kind).SequenceEqual(new[] { TransferKind.Syscall, TransferKind.Sysret }), "with nothing changed, SYSRET again");
Expect(iretExits == 1 && Cpu.Rcx == Sym["after_getpid"], "SYSRET returned to RCX, which SYSCALL set to the return address");
