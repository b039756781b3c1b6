// Follow a SYSCALL into the kernel and back: SYSRET drops to CPL 3, the user program asks for getpid, the
// kernel's LSTAR entry answers in RAX, and SYSRET brings the user back after its SYSCALL with CPL 3 again.
#load "lib/machine.csx"

LoadDescriptorTables();
Assemble(@"
start:
    lea user_start(%rip), %rcx  # SYSRET returns to RCX...
    mov $0x2, %r11              # ...with RFLAGS from R11 (interrupts stay off)
    sysretq
user_start:
    mov $39, %eax               # getpid
    syscall
user_done:
    nop
entry_SYSCALL_64:
    mov $1234, %eax             # the answer
    sysretq                     # RCX and R11 still hold what SYSCALL saved
");
EnableSyscall(Sym["entry_SYSCALL_64"]);
Cpu.Rip = Sym["start"];

var transfers = new List<ControlTransfer>();
On.Transfer += t => transfers.Add(t);
Break("user_done");
var stop = Continue();

Expect(stop.Kind == StopKind.Breakpoint && Cpu.Rip == Sym["user_done"], $"the user program gets back after its SYSCALL ({stop})");
Expect(transfers.Select(t => t.Kind).SequenceEqual(new[] { TransferKind.Sysret, TransferKind.Syscall, TransferKind.Sysret }),
       "SYSRET, SYSCALL, SYSRET, in that order");
var syscall = transfers[1];
Expect(syscall.From.Cpl == 3 && syscall.To.Cpl == 0, "SYSCALL goes from CPL 3 to CPL 0");
Expect(syscall.To.Rip == Msr.Lstar, "at the address in IA32_LSTAR");
Expect(syscall.To.Cs == KernelCs, "with CS from STAR[47:32]");
Expect(Cpu.Rax == 1234, "the kernel's answer is in RAX");
Expect(Cpu.Rcx == Sym["user_done"], "SYSCALL left the return address in RCX");
Expect(Cpu.Cpl == 3 && Cpu.Cs.Selector == UserCs && Cpu.Ss.Selector == UserSs, "back at CPL 3 with SYSRET's selectors");
