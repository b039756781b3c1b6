// Watch a kernel program its SYSCALL MSRs with WRMSR: each write is an event with the old and new value, and
// what the register keeps is what the next RDMSR reads. The host's own writes through Msr raise no event.
Assemble(@"
    mov $0xc0000082, %ecx       # IA32_LSTAR
    mov $0x81000000, %eax       # EDX:EAX = 0xffffffff_81000000
    mov $0xffffffff, %edx
    wrmsr
    mov $0xc0000084, %ecx       # IA32_FMASK
    mov $0x47700, %eax
    xor %edx, %edx
    wrmsr
    rdmsr                       # read FMASK back into EDX:EAX
    hlt
");
Cpu.Rip = 0x10_0000;

var writes = new List<MsrWritten>();
On.MsrWrite += w => writes.Add(w);
Msr.Lstar = 0x1000;             // a host write: no event

var stop = Continue();
Expect(stop.Kind == StopKind.Halted, $"the program ran to its HLT ({stop})");
Expect(writes.Select(w => w.Msr).SequenceEqual(new[] { Repl.Machine.Msr.Lstar, Repl.Machine.Msr.Fmask }), "two guest writes, in order");
Expect(writes[0].Old == 0x1000 && writes[0].New == 0xffff_ffff_8100_0000, "the event carries the value before and after");
Expect(Msr[0xC0000082] == 0xffff_ffff_8100_0000, "IA32_LSTAR by index reads what WRMSR wrote");
Expect(Msr.Sfmask == 0x47700 && Cpu.Rax == 0x47700 && Cpu.Rdx == 0, "RDMSR reads back what WRMSR wrote");
