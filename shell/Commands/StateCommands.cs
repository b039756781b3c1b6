using System.Globalization;
using Repl.Shell.Debugging;

namespace Repl.Shell.Commands;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>regs, set, msr and inject: the processor's registers read, written and interrupted.</summary>
static class StateCommands
{
    /// <summary>What regs shows, by name (before All, whose help lists them).</summary>
    internal static readonly string[] Groups = ["gp", "seg", "cr", "dr", "msr", "all"];

    public static IReadOnlyList<ShellCommand> All { get; } =
    [
        new("regs", ["registers"], "Show registers: gp, seg, cr, dr, msr or all, or the ones named",
            "regs [gp|seg|cr|dr|msr|all|REG...]\ngp (the default): general-purpose registers, RIP and RFLAGS with its flags; seg: segment registers with their\nhidden base, limit and attributes, and the descriptor-table registers; cr: control registers and EFER with\ntheir bits; dr: debug registers; msr: every MSR of the vendor profile; all: every group. REG: one register or a\npart of one (rip, eax, al), as gdb's 'info registers rip'.\nExample: regs seg, regs rip rax",
            Regs, Repeat: Repeat.Same, Arguments: (_, before, word) =>
                before.Length == 0 ? Completions.Matching(word, Groups).Concat(Completions.RegisterName(word))
                : Groups.Contains(before[0]) ? [] : Completions.RegisterName(word)),
        new("set", [], "Write a register: set REG=VALUE",
            "set REG=VALUE\nWrites a register (rax, rip, rflags, cr3, fs_base, gs_base, dr7...) or a part of one (eax, ax, al, ah, r8d...: as gdb,\nthe other bits are kept); VALUE may use symbols and registers.\nExample: set rip=sum, set al=0x3c",
            Set, Repeat: Repeat.Same, Arguments: (_, before, word) => before.Length == 0 ? Completions.RegisterName(word) : []),
        new("msr", [], "Read or write a model-specific register",
            "msr [NAME|INDEX] [VALUE]\nWithout arguments lists every MSR; with one reads it; with two writes it (as a debugger: no guest checks).\nExample: msr lstar, msr 0xc0000102 0",
            Msr, Arguments: (d, before, word) => before.Length == 0 ? Completions.MsrName(d, word) : []),
        new("inject", [], "Signal an NMI or an external interrupt",
            "inject nmi | irq VECTOR\nThe NMI is delivered at the next instruction boundary where NMIs are not blocked; the interrupt once\nRFLAGS.IF allows. Run or step to see it delivered.\nExample: inject irq 0x20",
            Inject, Arguments: Completions.First("nmi", "irq")),
    ];

    static readonly string[] GprNames = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];

    static readonly (int Bit, string Name)[] Cr0Bits =
        [(0, "PE"), (1, "MP"), (2, "EM"), (3, "TS"), (4, "ET"), (5, "NE"), (16, "WP"), (18, "AM"), (29, "NW"), (30, "CD"), (31, "PG")];

    static readonly (int Bit, string Name)[] Cr4Bits =
    [
        (0, "VME"), (1, "PVI"), (2, "TSD"), (3, "DE"), (4, "PSE"), (5, "PAE"), (6, "MCE"), (7, "PGE"), (8, "PCE"), (9, "OSFXSR"),
        (10, "OSXMMEXCPT"), (11, "UMIP"), (12, "LA57"), (13, "VMXE"), (14, "SMXE"), (16, "FSGSBASE"), (17, "PCIDE"), (18, "OSXSAVE"),
        (20, "SMEP"), (21, "SMAP"), (22, "PKE"),
    ];

    static readonly (int Bit, string Name)[] EferBits = [(0, "SCE"), (8, "LME"), (10, "LMA"), (11, "NXE"), (12, "SVME"), (14, "FFXSR")];

    static readonly (int Bit, string Name)[] RflagsBits =
        [(0, "CF"), (2, "PF"), (4, "AF"), (6, "ZF"), (7, "SF"), (8, "TF"), (9, "IF"), (10, "DF"), (11, "OF"), (14, "NT"), (16, "RF"), (17, "VM"), (18, "AC"), (19, "VIF"), (20, "VIP"), (21, "ID")];

    internal static string BitNames(ulong value, (int Bit, string Name)[] bits) =>
        string.Join(' ', bits.Where(b => (value >> b.Bit & 1) != 0).Select(b => b.Name));

    static void Regs(Debugger d, string args, TextWriter o)
    {
        string[] words = BreakpointCommands.Words(args.ToLowerInvariant());
        if (words.Length == 0)
            General(d, o);
        foreach (string word in words)
        {
            switch (word)
            {
                case "gp": General(d, o); break;
                case "seg": Segments(d, o); break;
                case "cr": Control(d, o); break;
                case "dr": DebugRegisters(d, o); break;
                case "msr": Msrs(d, o); break;
                case "all":
                    General(d, o);
                    Segments(d, o);
                    Control(d, o);
                    DebugRegisters(d, o);
                    Msrs(d, o);
                    break;
                default:
                    One(d, word, o);
                    break;
            }
        }
    }

    /// <summary>One register (or a part: eax, al) as gdb's 'info registers rip' shows it: name, hex, and its natural
    /// reading: the symbol RIP is at, the RFLAGS flags, the stack and frame pointers in hex, other values in decimal
    /// (signed for the general-purpose registers, as gdb types them).</summary>
    static void One(Debugger d, string name, TextWriter o)
    {
        if (!RegisterNames.TryParsePart(name, out var part))
            throw new CommandException($"no register or group '{name}' (a register: rax, eax, rip, cr3...; a group: gp, seg, cr, dr, msr or all)");
        ulong value = d.ReadRegister(part);
        string natural = part switch
        {
            { Register: Register.Rip, Bits: 64 } => d.Program.Describe(value),
            { Register: Register.Rflags } => $"[ {BitNames(value, RflagsBits)} IOPL={(value >> 12) & 3} ]",
            { Register: Register.Rsp or Register.Rbp, Bits: 64 } => $"0x{value:x}",
            _ when part.Register <= Register.R15 => (part.Bits switch { 8 => (sbyte)value, 16 => (short)value, 32 => (int)value, _ => (long)value }).ToString(CultureInfo.InvariantCulture),
            _ => value.ToString(CultureInfo.InvariantCulture),
        };
        o.WriteLine($"{name.TrimStart('$', '%'),-14} {$"0x{value:x}",-18} {natural}");
    }

    static void General(Debugger d, TextWriter o)
    {
        ref CpuState s = ref d.Machine.State;
        for (int i = 0; i < GprNames.Length; i += 2)
            o.WriteLine($"{GprNames[i],-6} 0x{d.Machine.ReadRegister(GprNames[i]):x16}   {GprNames[i + 1],-6} 0x{d.Machine.ReadRegister(GprNames[i + 1]):x16}");
        o.WriteLine($"{"rip",-6} {d.Program.Describe(s.Rip)}");
        ulong rflags = s.Rflags;
        o.WriteLine($"{"rflags",-6} 0x{rflags:x8} [ {BitNames(rflags, RflagsBits)} IOPL={(rflags >> 12) & 3} ]");
    }

    static void Segments(Debugger d, TextWriter o)
    {
        CpuState s = d.Machine.State; // a copy: the query below cannot hold a ref
        var rows = Enum.GetValues<SegmentRegister>()
            .Select(r => (Name: r.ToString().ToLowerInvariant(), Cache: s.Segments[(int)r]))
            .Append((Name: "ldtr", Cache: s.Ldtr)).Append((Name: "tr", Cache: s.Tr))
            .Select(r => Descriptors.SegmentRow(r.Name, r.Cache));
        Table.Write(o, Descriptors.SegmentHeader, rows);
        o.WriteLine($"gdtr   base 0x{s.Gdtr.Base:x16} limit 0x{s.Gdtr.Limit:x4}");
        o.WriteLine($"idtr   base 0x{s.Idtr.Base:x16} limit 0x{s.Idtr.Limit:x4}");
    }

    static void Control(Debugger d, TextWriter o)
    {
        ref CpuState s = ref d.Machine.State;
        o.WriteLine($"cr0    0x{s.Cr0:x16} [ {BitNames(s.Cr0, Cr0Bits)} ]");
        o.WriteLine($"cr2    0x{s.Cr2:x16}");
        o.WriteLine($"cr3    0x{s.Cr3:x16} [ root 0x{s.Cr3 & Descriptors.FrameMask:x} PCID {s.Cr3 & 0xFFF} ]");
        o.WriteLine($"cr4    0x{s.Cr4:x16} [ {BitNames(s.Cr4, Cr4Bits)} ]");
        o.WriteLine($"cr8    0x{s.Cr8:x16}");
        o.WriteLine($"efer   0x{s.Efer:x16} [ {BitNames(s.Efer, EferBits)} ]");
    }

    static void DebugRegisters(Debugger d, TextWriter o)
    {
        foreach (var r in new[] { Register.Dr0, Register.Dr1, Register.Dr2, Register.Dr3, Register.Dr6, Register.Dr7 })
            o.WriteLine($"{RegisterNames.NameOf(r),-6} 0x{d.Machine.ReadRegister(r):x16}");
    }

    static void Msrs(Debugger d, TextWriter o)
    {
        var rows = d.Machine.ListMsrs().Select(m => new[] { $"0x{(uint)m.Msr:x8}", m.Name, $"0x{d.Machine.ReadMsr(m.Msr):x16}", m.Description });
        Table.Write(o, ["Index", "Name", "Value", "Description"], rows);
    }

    static void Set(Debugger d, string args, TextWriter o)
    {
        int equals = args.IndexOf('=');
        if (equals <= 0)
            throw new CommandException("write it as set REG=VALUE, as in: set rax=0x3c");
        string name = args[..equals].Trim();
        if (name.StartsWith("var ", StringComparison.Ordinal))
            name = name[4..].Trim();
        if (!RegisterNames.TryParsePart(name, out var register))
            throw new CommandException($"no register named '{name}' (try rax, eax, al, rip, rflags, cr3, fs_base, gs_base, dr7)");
        ulong value = d.WriteRegister(register, d.Evaluate(args[(equals + 1)..]));
        o.WriteLine($"{name.TrimStart('$', '%').ToLowerInvariant()} = 0x{value:x}");
    }

    static void Msr(Debugger d, string args, TextWriter o)
    {
        string[] words = BreakpointCommands.Words(args);
        switch (words.Length)
        {
            case 0:
                Msrs(d, o);
                return;
            case 1 or 2:
                var msr = (Repl.Machine.Msr)BreakpointCommands.MsrIndex(d, words[0]);
                if (!ModelSpecificRegisters.Exists(msr, d.Machine.Cpu.Vendor))
                    throw new CommandException($"the {d.Machine.Cpu.Vendor} profile has no MSR 0x{(uint)msr:x} ('msr' alone lists them)");
                if (words.Length == 2)
                    d.Machine.WriteMsr(msr, d.Evaluate(words[1]));
                var info = ModelSpecificRegisters.Info(msr);
                o.WriteLine($"{info.Name} (0x{(uint)msr:x}) = 0x{d.Machine.ReadMsr(msr):x16}");
                return;
            default:
                throw new CommandException("msr takes a name or index and optionally a value, as in: msr lstar 0xffffffff81000000");
        }
    }

    static void Inject(Debugger d, string args, TextWriter o)
    {
        string[] words = BreakpointCommands.Words(args);
        switch (words)
        {
            case ["nmi"]:
                d.Machine.InjectNmi();
                o.WriteLine("NMI pending: it is delivered at the next boundary where NMIs are not blocked");
                return;
            case ["irq", var vector]:
                ulong v = d.Evaluate(vector);
                if (v is < 16 or > 255)
                    throw new CommandException($"vector {v} cannot be an external interrupt (16-255; 0-15 are the processor's)");
                d.Machine.RaiseInterrupt((byte)v);
                o.WriteLine($"interrupt 0x{v:x} requested: it is delivered once RFLAGS.IF allows");
                return;
            default:
                throw new CommandException("inject nmi, or inject irq VECTOR (16-255), as in: inject irq 0x20");
        }
    }
}
