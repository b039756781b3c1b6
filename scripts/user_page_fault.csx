// A page fault from user mode, delivered to the user's handler as a signal would be. The processor enters the kernel
// through the IDT at CPL 0 on the trampoline stack (TSS.RSP0); asm_exc_page_fault and error_entry do what a SYSCALL
// entry does (SWAPGS, the kernel root, the thread stack), and the kernel writes a frame on the user stack: the vector,
// the error code, CR2 and the user's registers as pt_regs. The handler (registered with rt_sigaction) runs with
// RDI = that frame.
#load "lib/kernel.csx"

const ulong Hole = 0x7000_0000_0000;                // a user address neither root maps
StartUser($@"
    mov ${NrRtSigaction}, %eax
    lea handler(%rip), %rdi
    syscall
    movabs ${Hole}, %rax
    mov $0x5555, %ebx
touch:
    movq $1, (%rax)                 # a write to a page that is not there
    ud2                             # never reached: the handler does not return here
handler:
    nop
");
ulong userRsp = Cpu.Rsp;

var faults = new List<InterruptDelivered>();
On.Exception += e => faults.Add(e);
var stop = Until("handler");
Expect(Cpu.Rip == Sym["handler"] && Cpu.Cpl == 3 && Cpu.Cs.Selector == UserCs, $"the handler runs in user mode ({stop})");

var pf = faults.Single();
Expect(pf.Vector == Vector.PF && pf.From.Cpl == 3 && pf.ReturnRip == Sym["touch"], "one #PF, from CPL 3, at the faulting instruction");
Expect(pf.To.Rip == Sym["asm_exc_page_fault"] && pf.To.Cpl == 0, "the IDT gate sent it to asm_exc_page_fault at CPL 0");
Expect(pf.To.Rsp + 48 == Sym["entry_stack_top"], "on the trampoline stack (TSS.RSP0): six quads, the error code and the hardware frame");
Expect(pf.ErrorCode == 0b110 && pf.Cr2 == Hole, "error code: not present (P=0), a write (W/R=1), from user mode (U/S=1); CR2 = the address");

ulong frame = Cpu.Rdi;
Expect(frame % 16 == 0 && frame + 128 <= userRsp && Cpu.Rsp == frame - 8, "the frame is on the user stack below the red zone, RSP just under it");
Expect(Mem.U64[frame + UframeVector] == 14 && Mem.U64[frame + UframeErrorCode] == 0b110 && Mem.U64[frame + UframeCr2] == Hole,
       "the frame holds the vector, the error code and CR2");
Expect(Mem.U64[frame + UframeRegs + PtRegsRip] == Sym["touch"] && Mem.U64[frame + UframeRegs + PtRegsRsp] == userRsp,
       "and the user's registers where the fault happened: RIP at the write, RSP");
Expect(Mem.U64[frame + UframeRegs + PtRegsRbx] == 0x5555 && Mem.U64[frame + UframeRegs + PtRegsOrigRax] == ulong.MaxValue,
       "RBX as the user left it; orig_ax -1: not a system call");
