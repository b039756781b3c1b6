using System.Text;

namespace Repl.GdbStub;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>A feature of the target description (GDB manual, "Target Descriptions"), served as its own file.</summary>
public sealed record Feature(string Name, string File, string Types);

/// <summary>
/// One register as the client sees it: its place in the 'g' packet is its index in <see cref="TargetDescription.Registers"/>,
/// its size <see cref="Bits"/>. Registers the machine does not hold (x87, SSE) read as their reset values and refuse
/// writes (<see cref="Write"/> null), as do the read-only mode and CPL.
/// </summary>
public sealed record GdbRegister(string Name, int Bits, string Type, Feature Feature, Func<Machine, ulong> Read,
                                 Action<Machine, ulong>? Write, string? Group = null, int? Dwarf = null, string? Generic = null)
{
    public int Bytes => Bits / 8;
}

/// <summary>
/// The registers the stub serves and the XML that describes them. The layout is fixed for the whole session: the
/// 64-bit layout is served from the first instruction on, even while the guest runs 32-bit code, so that a switch to
/// long mode never makes gdb report "Remote 'g' packet reply is too long" (a known pain with QEMU). One table
/// produces the 'g' packet, the XML and lldb's qRegisterInfo, so they cannot disagree.
/// <list type="bullet">
/// <item>org.gnu.gdb.i386.core: gdb's amd64 registers, with fs_base, gs_base, k_gs_base, cr0, cr2, cr3, cr4, cr8 and
/// efer after gs as QEMU places them, and the x87 registers gdb requires in this feature.</item>
/// <item>org.gnu.gdb.i386.sse: xmm0-15 and mxcsr, which gdb's amd64 support requires. The machine has no SSE or x87
/// state: these read as after FNINIT/reset (zeros, FCW 0x37f, an empty tag word, MXCSR 0x1f80) and writes are refused.</item>
/// <item>org.repl.x86.system: the segment caches (fs and gs bases are the core's fs_base/gs_base), LDTR, TR, GDTR, IDTR,
/// DR0-DR3/DR6/DR7, the SYSCALL and SYSENTER MSRs (KERNEL_GS_BASE is the core's k_gs_base), and, read-only, the
/// operating mode (<see cref="OperatingMode"/>) and the CPL.</item>
/// </list>
/// </summary>
public static class TargetDescription
{
    public const string Architecture = "i386:x86-64";

    static readonly Feature Core = new("org.gnu.gdb.i386.core", "core.xml", CoreTypes);
    static readonly Feature Sse = new("org.gnu.gdb.i386.sse", "sse.xml", SseTypes);
    static readonly Feature System = new("org.repl.x86.system", "system.xml", "");

    public static readonly IReadOnlyList<Feature> Features = [Core, Sse, System];

    public static readonly IReadOnlyList<GdbRegister> Registers = BuildRegisters();

    /// <summary>The size of the 'g' packet's data, in bytes.</summary>
    public static readonly int TotalBytes = Registers.Sum(r => r.Bytes);

    /// <summary>The register's number (its place in the table), or -1.</summary>
    public static int IndexOf(string name)
    {
        for (int i = 0; i < Registers.Count; i++)
            if (Registers[i].Name == name)
                return i;
        return -1;
    }

    static List<GdbRegister> BuildRegisters()
    {
        var list = new List<GdbRegister>();
        void Add(string name, int bits, string type, Feature feature, Func<Machine, ulong> read, Action<Machine, ulong>? write,
                 string? group = null, int? dwarf = null, string? generic = null) =>
            list.Add(new GdbRegister(name, bits, type, feature, read, write, group, dwarf, generic));
        void Architectural(string name, Register r, int bits, string type, Feature feature, int? dwarf = null, string? generic = null) =>
            Add(name, bits, type, feature, m => m.ReadRegister(r), (m, v) => m.WriteRegister(r, v), dwarf: dwarf, generic: generic);

        // gdb's amd64 order (and the SysV ABI's DWARF numbers, which lldb wants).
        (string Name, Register Reg, int Dwarf)[] gprs =
        [
            ("rax", Register.Rax, 0), ("rbx", Register.Rbx, 3), ("rcx", Register.Rcx, 2), ("rdx", Register.Rdx, 1),
            ("rsi", Register.Rsi, 4), ("rdi", Register.Rdi, 5), ("rbp", Register.Rbp, 6), ("rsp", Register.Rsp, 7),
        ];
        foreach (var (name, reg, dwarf) in gprs)
            Architectural(name, reg, 64, name is "rbp" or "rsp" ? "data_ptr" : "int64", Core, dwarf,
                          name switch { "rbp" => "fp", "rsp" => "sp", _ => null });
        for (int i = 8; i < 16; i++)
            Architectural("r" + i, Register.R8 + (i - 8), 64, "int64", Core, i);
        Architectural("rip", Register.Rip, 64, "code_ptr", Core, 16, "pc");
        Architectural("eflags", Register.Rflags, 32, "i386_eflags", Core, 49, "flags");
        (string Name, Register Reg, int Dwarf)[] selectors =
            [("cs", Register.Cs, 51), ("ss", Register.Ss, 52), ("ds", Register.Ds, 53), ("es", Register.Es, 50), ("fs", Register.Fs, 54), ("gs", Register.Gs, 55)];
        foreach (var (name, reg, dwarf) in selectors)
            Architectural(name, reg, 32, "int32", Core, dwarf);
        Architectural("fs_base", Register.FsBase, 64, "int64", Core, 58);
        Architectural("gs_base", Register.GsBase, 64, "int64", Core, 59);
        Add("k_gs_base", 64, "int64", Core, m => m.State.KernelGsBase, (m, v) => m.State.KernelGsBase = v);
        foreach (var (name, reg, type) in new[] { ("cr0", Register.Cr0, "x86_64_cr0"), ("cr2", Register.Cr2, "int64"), ("cr3", Register.Cr3, "int64"),
                                                  ("cr4", Register.Cr4, "x86_64_cr4"), ("cr8", Register.Cr8, "int64"), ("efer", Register.Efer, "x86_64_efer") })
            Architectural(name, reg, 64, type, Core);

        // x87: absent from the machine, required by gdb in the core feature.
        for (int i = 0; i < 8; i++)
            Add("st" + i, 80, "i387_ext", Core, _ => 0, null, "float", 33 + i);
        foreach (var (name, reset) in new[] { ("fctrl", 0x37FUL), ("fstat", 0UL), ("ftag", 0xFFFFUL), ("fiseg", 0UL), ("fioff", 0UL), ("foseg", 0UL), ("fooff", 0UL), ("fop", 0UL) })
            Add(name, 32, "int", Core, _ => reset, null, "float");

        for (int i = 0; i < 16; i++)
            Add("xmm" + i, 128, "vec128", Sse, _ => 0, null, "vector", 17 + i);
        Add("mxcsr", 32, "i386_mxcsr", Sse, _ => 0x1F80, null, "vector");

        // The segment caches: what the processor loaded from the descriptors (SDM Vol. 3, 3.4.3).
        foreach (var sr in new[] { SegmentRegister.Cs, SegmentRegister.Ss, SegmentRegister.Ds, SegmentRegister.Es, SegmentRegister.Fs, SegmentRegister.Gs })
        {
            string name = sr.ToString().ToLowerInvariant();
            int n = (int)sr;
            if (sr is not (SegmentRegister.Fs or SegmentRegister.Gs))
                Add(name + "_base", 64, "data_ptr", System, m => m.State.Segments[n].Base, (m, v) => m.State.Segments[n].Base = v, "system");
            Add(name + "_limit", 32, "uint32", System, m => m.State.Segments[n].Limit, (m, v) => m.State.Segments[n].Limit = (uint)v, "system");
            Add(name + "_attr", 32, "uint32", System, m => m.State.Segments[n].Attributes, (m, v) => m.State.Segments[n].Attributes = (ushort)v, "system");
        }
        SystemSegment("ldtr", m => ref m.State.Ldtr);
        SystemSegment("tr", m => ref m.State.Tr);
        Add("gdtr_base", 64, "data_ptr", System, m => m.State.Gdtr.Base, (m, v) => m.State.Gdtr.Base = v, "system");
        Add("gdtr_limit", 32, "uint32", System, m => m.State.Gdtr.Limit, (m, v) => m.State.Gdtr.Limit = (ushort)v, "system");
        Add("idtr_base", 64, "data_ptr", System, m => m.State.Idtr.Base, (m, v) => m.State.Idtr.Base = v, "system");
        Add("idtr_limit", 32, "uint32", System, m => m.State.Idtr.Limit, (m, v) => m.State.Idtr.Limit = (ushort)v, "system");
        foreach (var (name, reg) in new[] { ("dr0", Register.Dr0), ("dr1", Register.Dr1), ("dr2", Register.Dr2), ("dr3", Register.Dr3), ("dr6", Register.Dr6), ("dr7", Register.Dr7) })
            Add(name, 64, "uint64", System, m => m.ReadRegister(reg), (m, v) => m.WriteRegister(reg, v), "system");
        Msr("star", m => ref m.State.Star);
        Msr("lstar", m => ref m.State.Lstar);
        Msr("cstar", m => ref m.State.Cstar);
        Msr("sfmask", m => ref m.State.Sfmask);
        Msr("sysenter_cs", m => ref m.State.SysenterCs);
        Msr("sysenter_esp", m => ref m.State.SysenterEsp);
        Msr("sysenter_eip", m => ref m.State.SysenterEip);
        Add("mode", 32, "int32", System, m => (ulong)OperatingModes.Of(m.State), null, "system");
        Add("cpl", 32, "int32", System, m => (ulong)m.State.Cpl, null, "system");
        return list;

        void SystemSegment(string name, StateField<SegmentCache> field)
        {
            Add(name, 32, "int32", System, m => field(m).Selector, (m, v) => field(m).Selector = (ushort)v, "system");
            Add(name + "_base", 64, "data_ptr", System, m => field(m).Base, (m, v) => field(m).Base = v, "system");
            Add(name + "_limit", 32, "uint32", System, m => field(m).Limit, (m, v) => field(m).Limit = (uint)v, "system");
            Add(name + "_attr", 32, "uint32", System, m => field(m).Attributes, (m, v) => field(m).Attributes = (ushort)v, "system");
        }

        void Msr(string name, StateField<ulong> field) =>
            Add(name, 64, "uint64", System, m => field(m), (m, v) => field(m) = v, "system");
    }

    delegate ref T StateField<T>(Machine m);

    /// <summary>The XML document named <paramref name="annex"/> (target.xml or a feature's file), or null.</summary>
    public static string? Document(string annex)
    {
        if (annex == "target.xml")
        {
            var target = new StringBuilder("<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target version=\"1.0\">\n");
            target.Append($"  <architecture>{Architecture}</architecture>\n");
            foreach (var f in Features)
                target.Append($"  <xi:include href=\"{f.File}\"/>\n");
            return target.Append("</target>\n").ToString();
        }
        var feature = Features.FirstOrDefault(f => f.File == annex);
        if (feature is null)
            return null;
        var xml = new StringBuilder($"<?xml version=\"1.0\"?>\n<!DOCTYPE feature SYSTEM \"gdb-target.dtd\">\n<feature name=\"{feature.Name}\">\n");
        xml.Append(feature.Types);
        for (int i = 0; i < Registers.Count; i++)
        {
            var r = Registers[i];
            if (r.Feature != feature)
                continue;
            xml.Append($"  <reg name=\"{r.Name}\" bitsize=\"{r.Bits}\" type=\"{r.Type}\" regnum=\"{i}\"");
            if (r.Group is not null)
                xml.Append($" group=\"{r.Group}\"");
            xml.Append("/>\n");
        }
        return xml.Append("</feature>\n").ToString();
    }

    /// <summary>lldb's qRegisterInfo reply for register <paramref name="n"/> (lldb's gdb-remote protocol extensions), or null past the last.</summary>
    public static string? RegisterInfo(int n)
    {
        if (n < 0 || n >= Registers.Count)
            return null;
        var r = Registers[n];
        int offset = Registers.Take(n).Sum(x => x.Bytes);
        bool vector = r.Bits > 64;
        var info = new StringBuilder($"name:{r.Name};bitsize:{r.Bits};offset:{offset};");
        info.Append(vector ? "encoding:vector;format:vector-uint8;" : "encoding:uint;format:hex;");
        info.Append($"set:{r.Feature.Name switch { "org.gnu.gdb.i386.core" => "General Purpose Registers", "org.gnu.gdb.i386.sse" => "SSE Registers", _ => "System Registers" }};");
        if (r.Dwarf is { } dwarf)
            info.Append($"ehframe:{dwarf};dwarf:{dwarf};");
        if (r.Generic is { } generic)
            info.Append($"generic:{generic};");
        return info.ToString();
    }

    // The types gdb's own feature files define (gdb/features/i386/64bit-core.xml and 64bit-sse.xml describe them), and
    // flags for CR0, CR4 and EFER with the SDM's bit names, as QEMU's description has them (CR3 stays a number: as
    // flags gdb would print its bits and not the page-table address).
    const string CoreTypes = """
          <flags id="i386_eflags" size="4">
            <field name="CF" start="0" end="0"/>
            <field name="PF" start="2" end="2"/>
            <field name="AF" start="4" end="4"/>
            <field name="ZF" start="6" end="6"/>
            <field name="SF" start="7" end="7"/>
            <field name="TF" start="8" end="8"/>
            <field name="IF" start="9" end="9"/>
            <field name="DF" start="10" end="10"/>
            <field name="OF" start="11" end="11"/>
            <field name="NT" start="14" end="14"/>
            <field name="RF" start="16" end="16"/>
            <field name="VM" start="17" end="17"/>
            <field name="AC" start="18" end="18"/>
            <field name="VIF" start="19" end="19"/>
            <field name="VIP" start="20" end="20"/>
            <field name="ID" start="21" end="21"/>
          </flags>
          <flags id="x86_64_cr0" size="8">
            <field name="PE" start="0" end="0"/>
            <field name="MP" start="1" end="1"/>
            <field name="EM" start="2" end="2"/>
            <field name="TS" start="3" end="3"/>
            <field name="ET" start="4" end="4"/>
            <field name="NE" start="5" end="5"/>
            <field name="WP" start="16" end="16"/>
            <field name="AM" start="18" end="18"/>
            <field name="NW" start="29" end="29"/>
            <field name="CD" start="30" end="30"/>
            <field name="PG" start="31" end="31"/>
          </flags>
          <flags id="x86_64_cr4" size="8">
            <field name="VME" start="0" end="0"/>
            <field name="PVI" start="1" end="1"/>
            <field name="TSD" start="2" end="2"/>
            <field name="DE" start="3" end="3"/>
            <field name="PSE" start="4" end="4"/>
            <field name="PAE" start="5" end="5"/>
            <field name="MCE" start="6" end="6"/>
            <field name="PGE" start="7" end="7"/>
            <field name="PCE" start="8" end="8"/>
            <field name="OSFXSR" start="9" end="9"/>
            <field name="OSXMMEXCPT" start="10" end="10"/>
            <field name="UMIP" start="11" end="11"/>
            <field name="LA57" start="12" end="12"/>
            <field name="VMXE" start="13" end="13"/>
            <field name="SMXE" start="14" end="14"/>
            <field name="FSGSBASE" start="16" end="16"/>
            <field name="PCIDE" start="17" end="17"/>
            <field name="OSXSAVE" start="18" end="18"/>
            <field name="SMEP" start="20" end="20"/>
            <field name="SMAP" start="21" end="21"/>
            <field name="PKE" start="22" end="22"/>
          </flags>
          <flags id="x86_64_efer" size="8">
            <field name="SCE" start="0" end="0"/>
            <field name="LME" start="8" end="8"/>
            <field name="LMA" start="10" end="10"/>
            <field name="NXE" start="11" end="11"/>
            <field name="SVME" start="12" end="12"/>
            <field name="LMSLE" start="13" end="13"/>
            <field name="FFXSR" start="14" end="14"/>
            <field name="TCE" start="15" end="15"/>
          </flags>

        """;

    const string SseTypes = """
          <vector id="v4f" type="ieee_single" count="4"/>
          <vector id="v2d" type="ieee_double" count="2"/>
          <vector id="v16i8" type="int8" count="16"/>
          <vector id="v8i16" type="int16" count="8"/>
          <vector id="v4i32" type="int32" count="4"/>
          <vector id="v2i64" type="int64" count="2"/>
          <union id="vec128">
            <field name="v4_float" type="v4f"/>
            <field name="v2_double" type="v2d"/>
            <field name="v16_int8" type="v16i8"/>
            <field name="v8_int16" type="v8i16"/>
            <field name="v4_int32" type="v4i32"/>
            <field name="v2_int64" type="v2i64"/>
            <field name="uint128" type="uint128"/>
          </union>
          <flags id="i386_mxcsr" size="4">
            <field name="IE" start="0" end="0"/>
            <field name="DE" start="1" end="1"/>
            <field name="ZE" start="2" end="2"/>
            <field name="OE" start="3" end="3"/>
            <field name="UE" start="4" end="4"/>
            <field name="PE" start="5" end="5"/>
            <field name="DAZ" start="6" end="6"/>
            <field name="IM" start="7" end="7"/>
            <field name="DM" start="8" end="8"/>
            <field name="ZM" start="9" end="9"/>
            <field name="OM" start="10" end="10"/>
            <field name="UM" start="11" end="11"/>
            <field name="PM" start="12" end="12"/>
            <field name="FZ" start="15" end="15"/>
          </flags>

        """;
}

/// <summary>The processor's operating mode (SDM Vol. 3, 2.2), as the read-only "mode" register reports it.</summary>
public enum OperatingMode { Real = 0, Virtual8086 = 1, Protected = 2, Compatibility = 3, Long64 = 4 }

public static class OperatingModes
{
    public static OperatingMode Of(in CpuState s) =>
        (s.Cr0 & CpuState.Cr0PE) == 0 ? OperatingMode.Real
        : (s.Efer & CpuState.EferLMA) != 0 ? (s.Is64BitMode ? OperatingMode.Long64 : OperatingMode.Compatibility)
        : (s.Rflags & (ulong)RflagsBit.VM) != 0 ? OperatingMode.Virtual8086
        : OperatingMode.Protected;

    public static string Describe(OperatingMode mode) => mode switch
    {
        OperatingMode.Real => "real mode",
        OperatingMode.Virtual8086 => "virtual-8086 mode",
        OperatingMode.Protected => "protected mode",
        OperatingMode.Compatibility => "compatibility mode (IA-32e)",
        _ => "64-bit mode (IA-32e)",
    };
}
