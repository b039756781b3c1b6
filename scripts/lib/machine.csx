// Shared setup for the scenarios that write their own kernel on the bare machine (BareMachine(), below): 64-bit mode
// at CPL 0 with the low 512 GiB identity-mapped (user-accessible 1 GiB pages) and no descriptor tables. A scenario that
// takes an exception or changes privilege first gives it a GDT, an IDT and the SYSCALL MSRs, as a kernel's early boot does.
BareMachine();

// The GDT follows the order SYSCALL and SYSRET impose: kernel CS, kernel SS right after it; then 32-bit user CS,
// user SS and 64-bit user CS, so that STAR[63:48] = 0x18 gives SYSRET's SS = 0x18+8 and CS = 0x18+16.
const ushort KernelCs = 0x08, KernelSs = 0x10, UserSs = 0x20 | 3, UserCs = 0x28 | 3;
const ulong GdtBase = 0x8000, IdtBase = 0x9000, KernelStackTop = 0x80000, UserStackTop = 0x70000;

void LoadDescriptorTables()
{
    ulong[] gdt =
    {
        0,                   // null
        0x00af9b000000ffff,  // 0x08 kernel code: present, DPL 0, L
        0x00cf93000000ffff,  // 0x10 kernel data
        0x00cffb000000ffff,  // 0x18 user code, 32-bit (SYSRET's compat target)
        0x00cff3000000ffff,  // 0x20 user data, DPL 3
        0x00affb000000ffff,  // 0x28 user code, 64-bit, DPL 3
    };
    for (int i = 0; i < gdt.Length; i++)
        Mem.U64[GdtBase + (ulong)i * 8] = gdt[i];
    Cpu.Gdtr.Base = GdtBase;
    Cpu.Gdtr.Limit = (ushort)(gdt.Length * 8 - 1);
    // 256 empty gates: a vector nobody set up is a #NP on the way to a #DF, which the scenarios would notice.
    Mem.Write(IdtBase, new byte[256 * 16]);
    Cpu.Idtr.Base = IdtBase;
    Cpu.Idtr.Limit = 256 * 16 - 1;
    Cpu.Rsp = KernelStackTop;
}

// A 64-bit interrupt gate (type 0xE: IF cleared on entry) to the kernel CS, as SDM Vol. 3, 6.14.1 lays it out.
void SetGate(int vector, ulong handler, int ist = 0)
{
    ulong at = IdtBase + (ulong)vector * 16;
    Mem.U64[at] = (handler & 0xffff) | (ulong)KernelCs << 16 | (ulong)ist << 32 | 0x8eUL << 40 | (handler >> 16 & 0xffff) << 48;
    Mem.U64[at + 8] = handler >> 32;
}

// What a kernel writes before it lets user code run: EFER.SCE, the selectors, the entry point, and the RFLAGS bits
// SYSCALL must clear (TF, DF, IF, IOPL, AC, NT, as Linux's syscall_init does).
void EnableSyscall(ulong entry)
{
    Msr.Efer |= 1;
    Msr.Star = (ulong)0x18 << 48 | (ulong)KernelCs << 32;
    Msr.Lstar = entry;
    Msr.Sfmask = 0x47700;
}
