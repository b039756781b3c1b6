using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Repl.Bench;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>
/// The KPTI round trip: user code issues SYSCALL in a loop; the handler does what a KPTI kernel's entry and
/// exit do around the work — SWAPGS, stash the user RSP in the per-CPU area, switch to the kernel page tables,
/// touch kernel-only memory, switch back to the user page tables, SWAPGS, SYSRETQ. The two CR3 values carry
/// PCIDs and the no-flush bit, as Linux writes them, so a TLB that honours PCIDs need not start cold each time.
/// </summary>
static class KptiRoundTrip
{
    // Physical (= linear) layout, 2 MiB pages. The entry area is mapped in both roots; kernel data only in one.
    const ulong KernelPml4 = 0x1000, UserPml4 = 0x4000;
    const ulong EntryArea = 0x20_0000, PerCpu = EntryArea + 0x1000;
    const ulong UserArea = 0x40_0000, UserStackTop = UserArea + 0x1F_F000;
    const ulong KernelData = 0x60_0000;
    const ulong KernelPcid = 1, UserPcid = 2, NoFlush = 1UL << 63;
    const ushort UserCs = 0x2B, UserSs = 0x23;

    public static Machine Build(int roundTrips)
    {
        var m = Machine.CreateLongMode();
        BuildRoot(m, KernelPml4, userRoot: false);
        BuildRoot(m, UserPml4, userRoot: true);
        m.WritePhysical(EntryArea, Assemble(EntryArea, Handler));
        m.WritePhysical(UserArea, Assemble(UserArea, a => UserLoop(a, roundTrips)));

        ref var s = ref m.State;
        s.Cr4 |= 1 << 17; // PCIDE
        s.Cr3 = UserPml4 | UserPcid;
        s.Efer |= CpuState.EferSCE;
        s.Segments[(int)SegmentRegister.Cs] = SegmentCache.Flat(UserCs, 0xA0FB); // 64-bit code, DPL 3
        s.Segments[(int)SegmentRegister.Ss] = SegmentCache.Flat(UserSs, 0xC0F3); // data, DPL 3
        s.Rip = UserArea;
        s.Gpr[(int)Gpr.Rsp] = UserStackTop;
        m.WriteMsr(Msr.Star, (0x18UL << 48) | (0x08UL << 32)); // SYSRET: CS 0x2B, SS 0x23; SYSCALL: CS 0x08, SS 0x10
        m.WriteMsr(Msr.Lstar, EntryArea);
        m.WriteMsr(Msr.Fmask, 0x47700); // TF DF IF IOPL AC NT, as Linux's syscall_init
        m.WriteMsr(Msr.KernelGsBase, PerCpu);
        m.Cpu.CatchExceptions.Add(Vector.UD); // the user loop ends with UD2
        return m;
    }

    /// <summary>How many round trips the kernel counted (its counter lives in kernel-only memory).</summary>
    public static ulong Counted(Machine m) => m.Bus.Read(KernelData, 8);

    static void Handler(Assembler a)
    {
        a.swapgs();
        a.mov(__qword_ptr.gs[8], rsp);
        a.mov(rsp, KernelPml4 | KernelPcid | NoFlush);
        a.mov(cr3, rsp);
        a.inc(__qword_ptr[KernelData]);
        a.mov(rsp, UserPml4 | UserPcid | NoFlush);
        a.mov(cr3, rsp);
        a.mov(rsp, __qword_ptr.gs[8]);
        a.swapgs();
        a.sysretq();
    }

    static void UserLoop(Assembler a, int roundTrips)
    {
        var top = a.CreateLabel();
        a.mov(ebx, (uint)roundTrips);
        a.Label(ref top);
        a.syscall();
        a.dec(ebx);
        a.jnz(top);
        a.ud2();
    }

    /// <summary>One PML4 → PDPT → PD chain mapping the low 8 MiB with 2 MiB pages: the entry area and user
    /// area in both roots, kernel page tables and data only in the kernel's.</summary>
    static void BuildRoot(Machine m, ulong pml4, bool userRoot)
    {
        const ulong P = 1, RW = 2, US = 4, PS = 1 << 7;
        ulong pdpt = pml4 + 0x1000, pd = pml4 + 0x2000;
        m.Bus.Write(pml4, 8, pdpt | P | RW | US);
        m.Bus.Write(pdpt, 8, pd | P | RW | US);
        if (!userRoot)
        {
            m.Bus.Write(pd + 0 * 8, 8, 0x00_0000 | P | RW | PS);
            m.Bus.Write(pd + 3 * 8, 8, KernelData | P | RW | PS);
        }
        m.Bus.Write(pd + 1 * 8, 8, EntryArea | P | RW | PS);
        m.Bus.Write(pd + 2 * 8, 8, UserArea | P | RW | US | PS);
    }

    static byte[] Assemble(ulong at, Action<Assembler> build)
    {
        var a = new Assembler(64);
        build(a);
        var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), at);
        return stream.ToArray();
    }
}
