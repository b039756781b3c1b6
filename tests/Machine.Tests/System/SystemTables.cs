namespace Repl.Machine.Tests;

/// <summary>
/// Builds a GDT, an IDT and a 64-bit TSS in guest memory for the system-architecture tests, laid out as a 64-bit
/// kernel has them: kernel code and data, user 32-bit code, user data, user 64-bit code, a TSS. Each IDT vector's
/// default handler is a HLT at <see cref="Handler"/>(vector), so a delivered event ends the run there.
/// </summary>
static class SystemTables
{
    public const ulong Gdt = 0x30_0000, Idt = 0x30_1000, Tss = 0x30_2000, Handlers = 0x31_0000;
    public const ushort KernelCs = 0x08, KernelDs = 0x10, UserCs32 = 0x1B, UserDs = 0x23, UserCs = 0x2B, TssSelector = 0x30;
    /// <summary>Selectors of extra descriptors for the tests to fill: GDT slots 8 to 15.</summary>
    public const ushort Spare = 0x40;

    // Access bytes (P, DPL, S, type) and flag nibbles (G, D/B, L) of the descriptors (SDM Vol. 3, 3.4.5).
    public const byte CodeAccess = 0x9A, DataAccess = 0x92, UserCodeAccess = 0xFA, UserDataAccess = 0xF2;
    public const byte Flags64 = 0xA, Flags32 = 0xC;

    /// <summary>An 8-byte code or data descriptor.</summary>
    public static ulong Descriptor(ulong @base, uint limit, byte access, byte flags) =>
        (limit & 0xFFFF) | ((@base & 0xFF_FFFF) << 16) | ((ulong)access << 40) | ((ulong)((limit >> 16) & 0xF) << 48)
        | ((ulong)flags << 52) | ((@base >> 24 & 0xFF) << 56);

    /// <summary>Handler address of <paramref name="vector"/>: one HLT per 16 bytes.</summary>
    public static ulong Handler(int vector) => Handlers + (ulong)vector * 16;

    /// <summary>Installs the tables: GDTR, IDTR (all 256 gates: present interrupt gates, DPL 0, to the HLT
    /// handlers), and TR with a busy TSS whose RSP0 is <paramref name="rsp0"/>. The machine delivers events.</summary>
    public static void Install(Machine m, ulong rsp0 = 0x7_0000)
    {
        Guest.DeliverExceptions(m);
        SetDescriptor(m, KernelCs, Descriptor(0, 0xFFFFF, CodeAccess, Flags64));
        SetDescriptor(m, KernelDs, Descriptor(0, 0xFFFFF, DataAccess, Flags32));
        SetDescriptor(m, UserCs32, Descriptor(0, 0xFFFFF, UserCodeAccess, Flags32));
        SetDescriptor(m, UserDs, Descriptor(0, 0xFFFFF, UserDataAccess, Flags32));
        SetDescriptor(m, UserCs, Descriptor(0, 0xFFFFF, UserCodeAccess, Flags64));
        // 64-bit TSS, busy (type 0xB), limit 0x67 plus room: two slots.
        SetDescriptor(m, TssSelector, Descriptor(Tss, 0x67, 0x8B, 0));
        SetDescriptor(m, TssSelector + 8, Tss >> 32);
        m.State.Gdtr = new TableRegister { Base = Gdt, Limit = 16 * 8 - 1 };
        m.State.Idtr = new TableRegister { Base = Idt, Limit = 256 * 16 - 1 };
        m.State.Tr = new SegmentCache { Selector = TssSelector, Base = Tss, Limit = 0x67, Attributes = 0x8B };
        for (int v = 0; v < 256; v++)
        {
            SetGate(m, v, Handler(v));
            m.WritePhysical(Handler(v), [0xF4]);
        }
        SetStack(m, RspOffset(0), rsp0);
    }

    /// <summary>The tables for 32-bit protected mode: <see cref="KernelCs"/> becomes 32-bit code, the IDT holds 8-byte
    /// 32-bit interrupt gates (DPL 0) to the HLT handlers, and the 32-bit TSS has SS0:ESP0 = KernelDs:<paramref name="esp0"/>.</summary>
    public static void InstallProtected(Machine m, uint esp0 = 0x7_0000)
    {
        Install(m);
        SetDescriptor(m, KernelCs, Descriptor(0, 0xFFFFF, CodeAccess, Flags32));
        m.State.Idtr = new TableRegister { Base = Idt, Limit = 256 * 8 - 1 };
        for (int v = 0; v < 256; v++)
            SetGate32(m, v, (uint)Handler(v));
        m.Bus.Write(Tss + 4, 4, esp0);
        m.Bus.Write(Tss + 8, 2, KernelDs);
    }

    /// <summary>An 8-byte protected-mode gate: type 0xE 32-bit interrupt, 0xF 32-bit trap, 0x6/0x7 their 16-bit forms.</summary>
    public static void SetGate32(Machine m, int vector, uint handler, int type = 0xE, int dpl = 0, ushort selector = KernelCs)
    {
        ulong gate = (handler & 0xFFFF) | ((ulong)selector << 16) | ((ulong)type << 40) | ((ulong)dpl << 45) | (1UL << 47)
                     | ((ulong)(handler >> 16) << 48);
        m.Bus.Write(Idt + (ulong)vector * 8, 8, gate);
    }

    public static void SetDescriptor(Machine m, int selector, ulong descriptor) =>
        m.Bus.Write(Gdt + (ulong)(selector & ~7), 8, descriptor);

    public static ulong ReadDescriptor(Machine m, int selector) => m.Bus.Read(Gdt + (ulong)(selector & ~7), 8);

    /// <summary>A 16-byte IA-32e gate: type 0xE interrupt, 0xF trap (SDM Vol. 3, Figure 6-8).</summary>
    public static void SetGate(Machine m, int vector, ulong handler, int type = 0xE, int dpl = 0, int ist = 0,
                               ushort selector = KernelCs, bool present = true)
    {
        ulong low = (handler & 0xFFFF) | ((ulong)selector << 16) | ((ulong)ist << 32) | ((ulong)type << 40)
                    | ((ulong)dpl << 45) | (present ? 1UL << 47 : 0) | ((handler >> 16 & 0xFFFF) << 48);
        m.Bus.Write(Idt + (ulong)vector * 16, 8, low);
        m.Bus.Write(Idt + (ulong)vector * 16 + 8, 8, handler >> 32);
    }

    public static int RspOffset(int level) => 4 + level * 8;

    public static int IstOffset(int n) => 36 + (n - 1) * 8;

    public static void SetStack(Machine m, int offset, ulong value) => m.Bus.Write(Tss + (ulong)offset, 8, value);

    /// <summary>The loaded segment caches of a CPL-3 64-bit program: CS <see cref="UserCs"/>, SS and DS
    /// <see cref="UserDs"/>, as an IRET to user mode leaves them.</summary>
    public static void EnterUserMode(Machine m, ulong rip, ulong rsp)
    {
        m.State.Segments[(int)SegmentRegister.Cs] = global::Repl.Machine.Cpu.FromDescriptor(UserCs, ReadDescriptor(m, UserCs));
        m.State.Segments[(int)SegmentRegister.Ss] = global::Repl.Machine.Cpu.FromDescriptor(UserDs, ReadDescriptor(m, UserDs));
        m.State.Segments[(int)SegmentRegister.Ds] = global::Repl.Machine.Cpu.FromDescriptor(UserDs, ReadDescriptor(m, UserDs));
        m.State.Rip = rip;
        m.State.Gpr[(int)Gpr.Rsp] = rsp;
    }

    /// <summary>The <paramref name="count"/> 8-byte slots at RSP, lowest first.</summary>
    public static ulong[] Frame(Machine m, int count)
    {
        ulong rsp = m.State.Gpr[(int)Gpr.Rsp];
        return Enumerable.Range(0, count).Select(k => m.Bus.Read(rsp + (ulong)k * 8, 8)).ToArray();
    }
}
