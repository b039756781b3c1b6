// CVE-2012-0217: SYSRET to a non-canonical address on Intel. A SYSCALL in the last two bytes below the canonical
// hole (at 0x7ffffffffffe) leaves RCX = 0x800000000000, the first non-canonical address. If the kernel returns there
// with SYSRETQ, AMD processors complete the SYSRET and fault on the fetch, in user mode: harmless. Intel processors
// raise the #GP on the SYSRETQ itself, at CPL 0, after the kernel has already put back the user's RSP and GS base,
// so the processor writes the #GP's frame wherever the user's RSP pointed and the handler runs on the user's stack
// with the user's GS. The fix is the canonical check before SYSRET (SYSRET_CHECK, entry_64.S), which sends such a
// return through IRET; this machine boots the entry kernel without it to show what the check prevents.
#load "lib/kernel.csx"

const ulong Edge = 0x7fff_ffff_fffe, Hole = 0x8000_0000_0000;
const ulong UserStackBottom = 0x7fff_ffff_b000, UserStackTop = 0x7fff_ffff_f000;    // defs.inc: the user stack pages

// Boots the entry kernel, registers a user fault handler, and makes getpid's SYSCALL at the edge. Returns how the run
// stopped (at the handler, if the user ever gets there) and the exceptions on the way.
(StopReason Stop, List<InterruptDelivered> Faults) SyscallAtTheEdge(CpuVendor vendor, bool smap, params string[] defines)
{
    Boot(vendor, defines);
    StartUser($@"
    mov ${NrRtSigaction}, %eax
    lea handler(%rip), %rdi
    syscall
    mov ${NrGetpid}, %eax
    movabs ${Edge}, %rcx
    jmp *%rcx                       # to the SYSCALL the script puts at the edge
handler:
    nop
");
    Mem.Write(Edge, 0x0f, 0x05);                    // syscall, in the user page that ends at the hole (user RWX)
    if (!smap)
        Cpu.Cr4 &= ~(1UL << 21);                    // CR4.SMAP off, as on the processors of 2012
    var faults = new List<InterruptDelivered>();
    On.Exception += e => faults.Add(e);
    Break("handler");
    return (Continue(), faults);
}
bool IsSysretq(ulong rip) => Mem.Read(rip, 3).SequenceEqual(new byte[] { 0x48, 0x0f, 0x07 });  // REX.W 0F 07
bool OnUserStack(ulong rsp) => rsp >= UserStackBottom && rsp <= UserStackTop;

// 1. Intel, no check, no SMAP: the #GP at CPL 0 on the user stack.
var (stop, faults) = SyscallAtTheEdge(CpuVendor.Intel, smap: false, "SYSRET_CHECK=0");
var gp = faults[0];
Expect(gp.Vector == Vector.GP && gp.ErrorCode == 0, $"Intel: SYSRETQ to 0x{Hole:x} raised #GP(0) ({gp})");
Expect(gp.From.Cpl == 0 && IsSysretq(gp.ReturnRip) && gp.ReturnRip > Sym["syscall_return_via_sysret"],
       "in ring 0, at the kernel's SYSRETQ: the fault belongs to the kernel");
Expect(gp.From.Rsp == UserStackTop && OnUserStack(gp.To.Rsp), "the stack was the user's: the processor pushed the kernel's frame onto it");
Expect(Mem.U64[gp.To.Rsp + 8] == gp.ReturnRip && Mem.U64[gp.To.Rsp + 16] == KernelCs,
       "a ring-0 frame in user-writable memory (RIP, CS = __KERNEL_CS): another user thread could rewrite it");
Expect(stop.Kind != StopKind.Breakpoint, $"the user's handler never ran: the kernel died on its own stack ({stop})");

// 2. The same kernel as it boots (SMAP on): pushing the #GP's frame onto a user page at CPL 0 is refused, a #PF; pushing
// the #PF's frame there is refused too, and a #PF while delivering a #PF is a double fault (SDM vol. 3 table 6-5),
// which the IST gives a stack of its own. Neither the #GP nor the #PF is ever delivered.
(stop, faults) = SyscallAtTheEdge(CpuVendor.Intel, smap: true, "SYSRET_CHECK=0");
var df = faults[0];
Expect(df.Vector == Vector.DF && df.From.Cpl == 0 && IsSysretq(df.ReturnRip) && df.From.Rsp == UserStackTop,
       $"with SMAP: a #DF at the SYSRETQ, ring 0 on the user's stack ({df})");
Expect(!OnUserStack(df.To.Rsp), "delivered on the #DF IST stack");

// 3. The fix: with the check, the return goes through IRET, whose #GP (on the kernel's trampoline stack) error_entry
// turns into a fault of the user at the non-canonical RIP, delivered to the user's handler.
(stop, faults) = SyscallAtTheEdge(CpuVendor.Intel, smap: true);
gp = faults.Single();
Expect(stop.Kind == StopKind.Breakpoint && Cpu.Rip == Sym["handler"], $"SYSRET_CHECK=1: the user's handler ran ({stop})");
Expect(gp.Vector == Vector.GP && gp.ReturnRip == Sym["native_irq_return_iret"] && !OnUserStack(gp.From.Rsp), "the #GP came from the IRETQ, on the kernel's stack");
Expect(Mem.U64[Cpu.Rdi + UframeVector] == 13 && Mem.U64[Cpu.Rdi + UframeRegs + PtRegsRip] == Hole, "the user sees a #GP at 0x800000000000");

// 4. AMD without the check: SYSRET completes and the fetch at the hole faults in user mode.
(stop, faults) = SyscallAtTheEdge(CpuVendor.Amd, smap: true, "SYSRET_CHECK=0");
gp = faults.Single();
Expect(stop.Kind == StopKind.Breakpoint && Cpu.Rip == Sym["handler"], $"AMD: the user's handler ran ({stop})");
Expect(gp.Vector == Vector.GP && gp.From.Cpl == 3 && gp.ReturnRip == Hole, "the #GP was raised at CPL 3, at 0x800000000000");
