using System.Buffers.Binary;
using Repl.Shell.Debugging;

namespace Repl.Shell.Commands;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>The system structures 'info' shows, read from guest memory as the processor would read them: descriptor
/// tables (SDM Vol. 3, 3.5 and 6.14), the TSS (7.7), the local APIC's registers (11.4), the page walk (4.5) and the
/// pt_regs frame entry code builds on the kernel stack.</summary>
static class SystemViews
{
    /// <summary>Linear memory as the table views need it, or a one-line error naming what could not be read.</summary>
    static byte[] ReadLinear(Debugger d, ulong address, int length, string what)
    {
        var bytes = new byte[length];
        int read = d.Machine.ReadVirtual(address, bytes);
        if (read < length)
            throw new CommandException(address + (ulong)read < address
                ? $"cannot read {what} at 0x{address:x}: it would run past the top of the address space"
                : $"cannot read {what} at 0x{address:x}: {d.Machine.WhyUnreadable(address + (ulong)read)}");
        return bytes;
    }

    public static void Gdt(Debugger d, string args, TextWriter o)
    {
        var gdtr = d.Machine.State.Gdtr;
        DescriptorTable(d, o, "GDT", gdtr.Base, gdtr.Limit);
    }

    public static void Ldt(Debugger d, string args, TextWriter o)
    {
        var ldtr = d.Machine.State.Ldtr;
        if (ldtr.Selector == 0)
        {
            o.WriteLine("No LDT: LDTR holds the null selector.");
            return;
        }
        DescriptorTable(d, o, "LDT", ldtr.Base, ldtr.Limit);
    }

    static void DescriptorTable(Debugger d, TextWriter o, string name, ulong tableBase, uint limit)
    {
        if (limit < 7)
        {
            o.WriteLine($"The {name} is empty (base 0x{tableBase:x}, limit 0x{limit:x}).");
            return;
        }
        byte[] table = ReadLinear(d, tableBase, (int)limit + 1, $"the {name}");
        bool longMode = (d.Machine.State.Efer & CpuState.EferLMA) != 0;
        var rows = new List<string[]>();
        for (int offset = 0; offset + 8 <= table.Length; offset += 8)
        {
            ulong low = BinaryPrimitives.ReadUInt64LittleEndian(table.AsSpan(offset));
            if (low == 0)
                continue;
            ushort attributes = Descriptors.Attributes(low);
            ulong descriptorBase = ((low >> 16) & 0xFF_FFFF) | ((low >> 56) << 24);
            uint rawLimit = (uint)(low & 0xFFFF) | (uint)((low >> 48) & 0xF) << 16;
            uint scaled = (attributes & SegmentCache.AttrGranularity) != 0 ? rawLimit << 12 | 0xFFF : rawLimit;
            // In IA-32e mode, LDT and TSS descriptors take 16 bytes: the upper half holds base bits 63:32.
            bool wide = longMode && (attributes & SegmentCache.AttrS) == 0 && (attributes & 0xF) is 2 or 9 or 11;
            if (wide && offset + 16 <= table.Length)
                descriptorBase |= (ulong)BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(offset + 8)) << 32;
            rows.Add([$"{offset / 8}", $"0x{offset:x4}", $"0x{descriptorBase:x}", $"0x{scaled:x}", Descriptors.TypeName(attributes),
                      ((attributes >> 5) & 3).ToString(), Descriptors.Flags(attributes)]);
            if (wide)
                offset += 8;
        }
        if (rows.Count == 0)
        {
            o.WriteLine($"The {name} at 0x{tableBase:x}, limit 0x{limit:x}, holds no descriptors: every entry is zero.");
            return;
        }
        o.WriteLine($"{name} at 0x{tableBase:x}, limit 0x{limit:x}:");
        Table.Write(o, ["Index", "Sel", "Base", "Limit", "Type", "DPL", "Flags"], rows);
    }

    public static void Idt(Debugger d, string args, TextWriter o)
    {
        var idtr = d.Machine.State.Idtr;
        bool longMode = (d.Machine.State.Efer & CpuState.EferLMA) != 0;
        int gateSize = longMode ? 16 : 8;
        if (idtr.Limit < gateSize - 1)
        {
            o.WriteLine($"The IDT is empty (base 0x{idtr.Base:x}, limit 0x{idtr.Limit:x}): any exception ends in a triple fault.");
            return;
        }
        byte[] table = ReadLinear(d, idtr.Base, idtr.Limit + 1, "the IDT");
        var rows = new List<string[]>();
        foreach (var (vector, offset, low) in PresentGates(table, longMode))
        {
            ushort attributes = (ushort)((low >> 40) & 0xFF);
            rows.Add([$"{vector}", VectorNames.Mnemonic((Vector)vector), d.Program.Describe(offset), $"0x{(low >> 16) & 0xFFFF:x4}",
                      Descriptors.TypeName(attributes), ((attributes >> 5) & 3).ToString(), longMode ? $"{(low >> 32) & 7}" : "-"]);
        }
        o.WriteLine($"IDT at 0x{idtr.Base:x}, limit 0x{idtr.Limit:x}: {rows.Count} present gate{(rows.Count == 1 ? "" : "s")}");
        Table.Write(o, ["Vec", "Name", "Handler", "Sel", "Type", "DPL", "IST"], rows);
    }

    /// <summary>The present gates of an IDT's bytes (16-byte gates in long mode, 8-byte ones otherwise): the vector, the
    /// handler's offset and the gate's low quadword (selector, type, DPL, IST).</summary>
    internal static IEnumerable<(int Vector, ulong Offset, ulong Low)> PresentGates(byte[] table, bool longMode)
    {
        int gateSize = longMode ? 16 : 8;
        for (int vector = 0; (vector + 1) * gateSize <= table.Length && vector < 256; vector++)
        {
            ulong low = BinaryPrimitives.ReadUInt64LittleEndian(table.AsSpan(vector * gateSize));
            if ((low >> 47 & 1) == 0)
                continue; // not present
            ulong offset = (low & 0xFFFF) | ((low >> 48) << 16);
            if (longMode)
                offset |= (ulong)BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(vector * gateSize + 8)) << 32;
            yield return (vector, offset, low);
        }
    }

    public static void Tss(Debugger d, string args, TextWriter o)
    {
        var tr = d.Machine.State.Tr;
        if (tr.Selector == 0)
        {
            o.WriteLine("No TSS: TR holds the null selector (LTR has not run).");
            return;
        }
        o.WriteLine($"TSS at 0x{tr.Base:x} (selector 0x{tr.Selector:x}, limit 0x{tr.Limit:x}):");
        if ((d.Machine.State.Efer & CpuState.EferLMA) != 0)
        {
            // The 64-bit TSS (SDM Vol. 3, Figure 8-11): stacks for privilege changes, the IST, and the I/O map base.
            byte[] t = ReadLinear(d, tr.Base, 104, "the TSS");
            for (int i = 0; i < 3; i++)
                o.WriteLine($"rsp{i}   0x{BinaryPrimitives.ReadUInt64LittleEndian(t.AsSpan(4 + 8 * i)):x16}");
            for (int i = 1; i <= 7; i++)
                o.WriteLine($"ist{i}   0x{BinaryPrimitives.ReadUInt64LittleEndian(t.AsSpan(36 + 8 * (i - 1))):x16}");
            o.WriteLine($"iomap  0x{BinaryPrimitives.ReadUInt16LittleEndian(t.AsSpan(102)):x4}");
            return;
        }
        // The 32-bit TSS (Figure 8-2): the stacks a privilege change loads, and what a task switch saved.
        byte[] b = ReadLinear(d, tr.Base, 104, "the TSS");
        uint U32(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(offset));
        for (int i = 0; i < 3; i++)
            o.WriteLine($"ss{i}:esp{i}  0x{U32(8 + 8 * i) & 0xFFFF:x4}:0x{U32(4 + 8 * i):x8}");
        o.WriteLine($"cr3  0x{U32(28):x8}   eip 0x{U32(32):x8}   eflags 0x{U32(36):x8}   link 0x{U32(0) & 0xFFFF:x4}");
        o.WriteLine($"iomap  0x{BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(102)):x4}");
    }

    /// <summary>The local APIC registers worth reading, with their xAPIC offsets (SDM Vol. 3, Table 11-1).</summary>
    static readonly (string Name, int Offset)[] ApicRegisters =
    [
        ("ID", 0x20), ("Version", 0x30), ("TPR", 0x80), ("PPR", 0xA0), ("LDR", 0xD0), ("DFR", 0xE0), ("SVR", 0xF0), ("ESR", 0x280),
        ("ICR low", 0x300), ("ICR high", 0x310), ("LVT timer", 0x320), ("LVT thermal", 0x330), ("LVT perf", 0x340),
        ("LVT LINT0", 0x350), ("LVT LINT1", 0x360), ("LVT error", 0x370), ("Timer initial", 0x380), ("Timer current", 0x390),
        ("Timer divide", 0x3E0),
    ];

    public static void Apic(Debugger d, string args, TextWriter o)
    {
        var apic = d.Machine.Apic;
        ulong apicBase = d.Machine.ReadMsr(Repl.Machine.Msr.ApicBase);
        o.WriteLine($"local APIC at p:0x{apicBase & Descriptors.FrameMask:x}, {((apicBase >> 11 & 1) != 0 ? "enabled" : "disabled")} in IA32_APIC_BASE");
        Table.Write(o, ["Register", "Offset", "Value"],
                    ApicRegisters.Select(r => new[] { r.Name, $"0x{r.Offset:x3}", $"0x{apic.Read((ulong)r.Offset, 4):x8}" }));
        // ISR, TMR and IRR are 256-bit maps, eight 32-bit registers 16 bytes apart.
        foreach (var (name, offset) in new[] { ("ISR (in service)", 0x100), ("TMR (level)", 0x180), ("IRR (requested)", 0x200) })
        {
            var vectors = Enumerable.Range(0, 256).Where(v => (apic.Read((ulong)(offset + v / 32 * 16), 4) >> (v % 32) & 1) != 0);
            o.WriteLine($"{name}: {(vectors.Any() ? string.Join(' ', vectors.Select(v => $"0x{v:x2}")) : "none")}");
        }
    }

    public static void Tlb(Debugger d, string args, TextWriter o)
    {
        var entries = d.Machine.TlbEntries().OrderBy(e => e.Pcid ?? -1).ThenBy(e => e.Linear).ToList();
        if (entries.Count == 0)
        {
            o.WriteLine("The TLB holds no translation.");
            return;
        }
        o.WriteLine($"{entries.Count} translations (4 KiB each; a larger page is cached a 4 KiB piece at a time; rights a lookup grants without a walk):");
        Table.Write(o, ["Linear", "Physical", "Page", "PCID", "User", "Supervisor"],
                    entries.Select(e => new[]
                    {
                        $"0x{e.Linear:x}", $"p:0x{e.Physical:x}", e.PageSize switch { 1UL << 30 => "1G", 1UL << 21 => "2M", _ => "4K" },
                        e.Pcid is { } pcid ? pcid.ToString() : "global", e.User, e.Supervisor,
                    }));
    }

    /// <summary>A paging structure level: its name, the linear-address bit its index starts at, and its index width.</summary>
    readonly record struct Level(string Name, int Shift, int IndexBits);

    public static void PageWalk(Debugger d, string args, TextWriter o)
    {
        if (args.Trim().Length == 0)
            throw new CommandException("info pt needs a linear address, as in: info pt $rip");
        ulong linear = d.Evaluate(args);
        ref CpuState s = ref d.Machine.State;
        if ((s.Cr0 & CpuState.Cr0PG) == 0)
        {
            o.WriteLine($"paging is off: linear 0x{linear:x} is physical 0x{linear:x}");
            return;
        }
        bool ia32e = (s.Efer & CpuState.EferLMA) != 0, pae = (s.Cr4 & (1 << 5)) != 0;
        Level[] levels = ia32e
            ? (s.Cr4 & (1 << 12)) != 0
                ? [new("PML5", 48, 9), new("PML4", 39, 9), new("PDPT", 30, 9), new("PD", 21, 9), new("PT", 12, 9)]
                : [new("PML4", 39, 9), new("PDPT", 30, 9), new("PD", 21, 9), new("PT", 12, 9)]
            : pae ? [new("PDPT", 30, 2), new("PD", 21, 9), new("PT", 12, 9)]
            : [new("PD", 22, 10), new("PT", 12, 10)];
        int entrySize = ia32e || pae ? 8 : 4;
        // CR3 holds the first table: 4 KiB aligned, except PAE's 32-byte aligned PDPT.
        ulong table = !ia32e && pae ? s.Cr3 & 0xFFFF_FFE0 : s.Cr3 & Descriptors.FrameMask;
        o.WriteLine($"{(ia32e ? $"{levels.Length}-level" : pae ? "PAE" : "32-bit")} walk of 0x{linear:x} from cr3 0x{s.Cr3:x}:");
        Span<byte> raw = stackalloc byte[8];
        for (int i = 0; i < levels.Length; i++)
        {
            var level = levels[i];
            ulong index = (linear >> level.Shift) & ((1UL << level.IndexBits) - 1);
            ulong at = table + index * (ulong)entrySize;
            raw.Clear();
            d.Machine.ReadPhysical(at, raw[..entrySize]);
            ulong entry = BinaryPrimitives.ReadUInt64LittleEndian(raw);
            o.WriteLine($"  {level.Name}[{index}] at p:0x{at:x} = 0x{entry:x16} [ {EntryFlags(entry, entrySize == 8)} ]");
            if ((entry & 1) == 0)
            {
                o.WriteLine($"not present: an access to 0x{linear:x} page-faults here");
                return;
            }
            // A large page ends the walk at the PDPT (1 GiB) or PD (2 or 4 MiB) level; PAE's PDPTEs have no PS bit.
            bool large = (entry & 0x80) != 0 && (level.Name == "PD" || level.Name == "PDPT" && ia32e);
            bool last = i == levels.Length - 1 || large;
            ulong frameMask = entrySize == 8 ? Descriptors.FrameMask : 0xFFFF_F000;
            if (last)
            {
                ulong pageMask = (1UL << level.Shift) - 1;
                ulong frame = !ia32e && !pae && level.Shift == 22
                    ? (entry & 0xFFC0_0000) | ((entry >> 13 & 0xFF) << 32) // PSE-36: bits 39:32 of a 4 MiB page sit in bits 20:13
                    : entry & frameMask & ~pageMask;
                o.WriteLine($"0x{linear:x} -> p:0x{frame | (linear & pageMask):x} ({PageSize(level.Shift)} page)");
                return;
            }
            table = entry & frameMask;
        }
    }

    static string PageSize(int shift) => shift switch { 12 => "4 KiB", 21 => "2 MiB", 22 => "4 MiB", _ => "1 GiB" };

    static string EntryFlags(ulong entry, bool hasNx)
    {
        string[] names = ["P", "W", "U", "PWT", "PCD", "A", "D", "PS", "G"];
        var set = names.Where((_, bit) => (entry >> bit & 1) != 0).ToList();
        if (hasNx && (long)entry < 0)
            set.Add("NX");
        return string.Join(' ', set);
    }

    /// <summary>Linux's struct pt_regs (arch/x86/include/asm/ptrace.h), lowest address first: what the entry code pushes.</summary>
    internal static readonly string[] PtRegs =
        ["r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss"];

    /// <summary>How far above RSP <c>info frame</c> looks for the frame of the entry in progress: a kernel stack's size.</summary>
    const int FrameReach = 16 << 10;

    public static void Frame(Debugger d, string args, TextWriter o)
    {
        ulong at;
        if (args.Trim().Length > 0)
            at = d.Evaluate(args);
        else
        {
            ulong rsp = d.Machine.State.Gpr[(int)Gpr.Rsp];
            at = InnermostFrame(d, rsp) ?? throw new CommandException(
                $"no pt_regs frame within {FrameReach >> 10} KiB above rsp 0x{rsp:x} (give its address: info frame ADDR)");
        }
        byte[] frame = ReadLinear(d, at, PtRegs.Length * 8, "the pt_regs frame");
        o.WriteLine($"pt_regs at 0x{at:x}:");
        var rows = PtRegs.Select((name, i) =>
        {
            ulong value = BinaryPrimitives.ReadUInt64LittleEndian(frame.AsSpan(i * 8));
            string note = name switch
            {
                "rip" => d.Program.Describe(value),
                "cs" or "ss" => $"RPL {value & 3}",
                "orig_rax" when value == ulong.MaxValue => "-1 (not a system call)",
                _ => "",
            };
            return new[] { $"+0x{i * 8:x2}", name, $"0x{value:x16}", note };
        });
        Table.Write(o, ["Off", "Field", "Value", ""], rows);
    }

    /// <summary>
    /// The frame of the entry in progress: entry code pushes (or, after SYSCALL, builds) the hardware part — RIP, CS,
    /// RFLAGS, RSP, SS — first and the registers below it, and what it calls runs lower still, so the first window above
    /// RSP whose hardware part an interrupt could have pushed is the innermost frame. Could have: RIP and RSP
    /// canonical, RFLAGS with bit 1 set and no reserved bit, CS a code descriptor with DPL = RPL (SDM Vol. 3, 6.14.2's
    /// frame, 5.8's privilege rules), SS null or a writable data descriptor at the same privilege.
    /// </summary>
    internal static ulong? InnermostFrame(Debugger d, ulong rsp)
    {
        var stack = new byte[FrameReach + PtRegs.Length * 8];
        int read = d.Machine.ReadVirtual(rsp, stack);
        ulong Field(int window, string name) => BinaryPrimitives.ReadUInt64LittleEndian(stack.AsSpan(window + Array.IndexOf(PtRegs, name) * 8));
        for (int window = 0; window + PtRegs.Length * 8 <= read; window += 8)
        {
            ulong cs = Field(window, "cs"), ss = Field(window, "ss"), flags = Field(window, "eflags");
            if (cs is 0 or > 0xFFFF || ss > 0xFFFF || (flags & 2) == 0 || (flags & ~0x3F_7FD7UL) != 0
                || !d.Machine.State.IsCanonical(Field(window, "rip")) || !d.Machine.State.IsCanonical(Field(window, "rsp")))
                continue;
            int cpl = (int)(cs & 3);
            if (Segment(d, cs) is not { IsCode: true } code || code.Dpl != cpl)
                continue; // CS must name a present code segment whose DPL is its RPL
            bool stackOk = ss < 4 ? cpl == 0 // a null SS is how 64-bit mode runs ring 0
                : (int)(ss & 3) == cpl && Segment(d, ss) is { IsCode: false } data
                  && (data.Attributes & (SegmentCache.AttrS | SegmentCache.AttrWritable)) == (SegmentCache.AttrS | SegmentCache.AttrWritable);
            if (stackOk)
                return rsp + (ulong)window;
        }
        return null;
    }

    /// <summary>The attributes of the present descriptor <paramref name="selector"/> names in the GDT or LDT, or null.</summary>
    static SegmentCache? Segment(Debugger d, ulong selector)
    {
        var s = d.Machine.State;
        var (tableBase, limit) = (selector & 4) == 0 ? (s.Gdtr.Base, s.Gdtr.Limit) : (s.Ldtr.Base, s.Ldtr.Limit);
        ulong offset = selector & ~7UL;
        var raw = new byte[8];
        if (offset == 0 && (selector & 4) == 0 || offset + 7 > limit || d.Machine.ReadVirtual(tableBase + offset, raw) < 8)
            return null;
        var segment = new SegmentCache { Attributes = Descriptors.Attributes(BinaryPrimitives.ReadUInt64LittleEndian(raw)) };
        return segment.Present ? segment : null;
    }
}
