// Watch the entry kernel's syscall_init program the system-call MSRs with WRMSR during boot: each write is an event
// with the old and new value, and what the register keeps is what RDMSR reads. The host's own writes through Msr raise
// no event. STAR holds two selector bases: SYSCALL loads CS from STAR[47:32] (SS = +8), SYSRETQ from STAR[63:48]
// (CS = +16, SS = +8), which is why the GDT puts the kernel's and the user's code and data in that order.
#load "lib/kernel.csx"

Msr.Lstar = 0x1000;                                 // a host write: no event, and boot overwrites it
var writes = new List<MsrWritten>();
On.MsrWrite += w => writes.Add(w);
var stop = Until("selftest_main");
Expect(Cpu.Rip == Sym["selftest_main"] && Cpu.Cpl == 3, $"the kernel booted to its first user instruction ({stop})");

MsrWritten Last(Repl.Machine.Msr msr) => writes.Last(w => w.Msr == msr);
Expect(writes.Count(w => w.Msr == Repl.Machine.Msr.Lstar) == 1 && Last(Repl.Machine.Msr.Lstar).Old == 0x1000, "LSTAR was written once, over the host's value");
Expect(Msr.Lstar == Sym["entry_SYSCALL_64"] && Last(Repl.Machine.Msr.Lstar).New == Msr.Lstar, "LSTAR: the 64-bit SYSCALL entry");
Expect(Msr.Cstar == Sym["entry_SYSCALL_compat"], "CSTAR: SYSCALL from compatibility mode (AMD)");
Expect(Msr.Star == (0x23UL << 48 | (ulong)KernelCs << 32), "STAR: SYSRET's base 0x23 (__USER32_CS), SYSCALL's 0x10 (__KERNEL_CS)");
Expect((Msr.Star >> 48) + 16 == UserCs && (Msr.Star >> 48) + 8 == UserDs, "so SYSRETQ loads CS 0x33 and SS 0x2b");
Expect(Msr.Sfmask == 0x47700, "SFMASK: SYSCALL clears TF, DF, IF, IOPL, NT and AC");
Expect(Msr[0x176] == Sym["entry_SYSENTER_compat"], "IA32_SYSENTER_EIP by index: the SYSENTER entry");
Expect((Msr.Efer & 0x901) == 0x901, "EFER: SCE (SYSCALL enabled), LME, NXE");
// (Not every MSR: the processor sets EFER.LMA itself when paging comes on, and SWAPGS exchanges the two GS bases.)
var syscallMsrs = new[] { Repl.Machine.Msr.Star, Repl.Machine.Msr.Lstar, Repl.Machine.Msr.Cstar, Repl.Machine.Msr.Fmask,
                          Repl.Machine.Msr.SysenterCs, Repl.Machine.Msr.SysenterEsp, Repl.Machine.Msr.SysenterEip };
Expect(syscallMsrs.All(m => Msr[(uint)m] == Last(m).New), "each system-call MSR reads back the last value WRMSR wrote");
