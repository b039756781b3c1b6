// Catch a #PF with On.Exception: touch an address beyond the identity map (PML4 entry 1 is not present) and see
// what the processor hands the handler: the vector, the error code (not-present, write), CR2, and the frame.
#load "lib/machine.csx"

LoadDescriptorTables();
Assemble(@"
start:
    movabs $0x8000000000, %rax  # 512 GiB: the first address the identity map does not cover
    movq $1, (%rax)             # a write to it faults
after:
    hlt
page_fault:
    mov %cr2, %rbx              # the handler reads the faulting address, as do_page_fault does
    hlt
");
SetGate(14, Sym["page_fault"]);
Cpu.Rip = Sym["start"];

var faults = new List<InterruptDelivered>();
On.Exception += e => faults.Add(e);
var stop = Continue();

Expect(stop.Kind == StopKind.Halted && Cpu.Rip == Sym["page_fault"] + 4, $"the handler ran to its HLT ({stop})");
var pf = faults.Single();
Expect(pf.Vector == Vector.PF, "the exception is a #PF");
Expect(pf.Cr2 == 0x80_0000_0000 && Cpu.Rbx == 0x80_0000_0000, "CR2 holds the address that faulted");
Expect(pf.ErrorCode == 0b10, "error code: not present (P=0), a write (W/R=1), at CPL 0 (U/S=0)");
Expect(pf.ReturnRip == Sym["start"] + 10, "a fault returns to the faulting instruction, so it can be retried");
Expect(Mem.U64[Cpu.Rsp] == pf.ErrorCode && Mem.U64[Cpu.Rsp + 8] == pf.ReturnRip && Mem.U64[Cpu.Rsp + 16] == KernelCs,
       "the frame on the stack: the error code, then RIP and CS");
