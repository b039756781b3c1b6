using System.Text;

namespace Repl.Machine;

/// <summary>Whose processor the machine presents: it selects CPUID and the architecturally visible differences.</summary>
public enum CpuVendor
{
    Intel,
    Amd,
}

/// <summary>
/// CPUID (SDM Vol. 2, CPUID; APM Vol. 3, Appendix E). The leaves report exactly the features the machine
/// implements, so a guest that probes before it uses a feature never meets a #UD it was promised away.
/// </summary>
public static class Identification
{
    // Leaf 1 EDX and ECX.
    const uint De = 1 << 2; // Debugging Extensions: CR4.DE, I/O breakpoints, DR4/DR5 #UD (Debug.cs)
    const uint Tsc = 1 << 4, Msr = 1 << 5, Pae = 1 << 6, Cx8 = 1 << 8, Apic = 1 << 9, Sep = 1 << 11, Mtrr = 1 << 12, Pge = 1 << 13;
    const uint Mca = 1 << 14, Cmov = 1 << 15, Pat = 1 << 16;
    const uint Cx16 = 1 << 13, Pcid = 1 << 17, Movbe = 1 << 22, Popcnt = 1 << 23;
    // Leaf 7 EBX, ECX and EDX.
    const uint Fsgsbase = 1 << 0, Bmi1 = 1 << 3, Smep = 1 << 7, Bmi2 = 1 << 8, Invpcid = 1 << 10, Smap = 1 << 20;
    const uint La57 = 1 << 16, Rdpid = 1 << 22;
    const uint IbrsIbpb = 1 << 26, Stibp = 1 << 27, ArchCapabilities = 1 << 29, Ssbd = 1u << 31;
    // Leaf 8000_0001h ECX and EDX.
    const uint LahfLm = 1 << 0, Abm = 1 << 5;
    const uint Syscall = 1 << 11, Nx = 1 << 20, Page1Gb = 1 << 26, Rdtscp = 1 << 27, LongMode = 1 << 29;
    /// <summary>The leaf-1 EDX bits that AMD repeats in leaf 8000_0001h EDX (APM Vol. 3, E.4.2).</summary>
    const uint AmdMirroredEdx = De | Tsc | Msr | Pae | Cx8 | Apic | Mtrr | Pge | Mca | Cmov | Pat;
    // Leaf 8000_0008h EAX: physical and linear address widths.
    const uint AddressSizes = Cpu.MaxPhysicalAddressBits | 57 << 8;

    const uint MaxBasicLeaf = 7;
    const uint MaxExtendedLeaf = 0x8000_0008;

    public static string VendorString(CpuVendor vendor) => vendor == CpuVendor.Intel ? "GenuineIntel" : "AuthenticAMD";

    public static string BrandString(CpuVendor vendor) => $"Repl virtual x86-64 ({vendor} profile)";

    public static (uint Eax, uint Ebx, uint Ecx, uint Edx) Cpuid(CpuVendor vendor, uint leaf, uint subleaf)
    {
        bool basic = leaf <= MaxBasicLeaf;
        bool extended = leaf >= 0x8000_0000 && leaf <= MaxExtendedLeaf;
        if (!basic && !extended)
        {
            // Intel answers a leaf beyond the maximum with the highest basic leaf; AMD answers zeros.
            if (vendor == CpuVendor.Amd)
                return (0, 0, 0, 0);
            (leaf, subleaf) = (MaxBasicLeaf, 0);
        }
        return leaf switch
        {
            0 => VendorLeaf(MaxBasicLeaf, vendor),
            // Family/model/stepping of a contemporary part of each vendor; CLFLUSH line size 8 qwords; one logical
            // processor; initial APIC ID (EBX 31:24) 0.
            1 => (vendor == CpuVendor.Intel ? 0x0009_06EAu : 0x0083_0F10u, (8 << 8) | (1 << 16), Cx16 | Pcid | Movbe | Popcnt,
                  De | Tsc | Msr | Pae | Cx8 | Apic | Sep | Mtrr | Pge | Mca | Cmov | Pat),
            // The speculation-control MSRs are enumerated here on Intel only; AMD uses leaf 8000_0008h (not reported).
            7 when subleaf == 0 => (0, Fsgsbase | Bmi1 | Smep | Bmi2 | Invpcid | Smap, La57 | Rdpid,
                                   vendor == CpuVendor.Intel ? IbrsIbpb | Stibp | ArchCapabilities | Ssbd : 0),
            0x8000_0000 => VendorLeaf(MaxExtendedLeaf, vendor),
            0x8000_0001 => (0, 0, LahfLm | Abm, Syscall | Nx | Page1Gb | Rdtscp | LongMode | (vendor == CpuVendor.Amd ? AmdMirroredEdx : 0)),
            >= 0x8000_0002 and <= 0x8000_0004 => BrandLeaf(vendor, (int)(leaf - 0x8000_0002)),
            0x8000_0008 => (AddressSizes, 0, 0, 0),
            _ => (0, 0, 0, 0),
        };
    }

    /// <summary>EAX = the highest leaf of the range; EBX, EDX, ECX spell the vendor string.</summary>
    static (uint, uint, uint, uint) VendorLeaf(uint maxLeaf, CpuVendor vendor)
    {
        byte[] s = Encoding.ASCII.GetBytes(VendorString(vendor));
        return (maxLeaf, BitConverter.ToUInt32(s, 0), BitConverter.ToUInt32(s, 8), BitConverter.ToUInt32(s, 4));
    }

    /// <summary>Sixteen bytes of the 48-byte, NUL-padded brand string.</summary>
    static (uint, uint, uint, uint) BrandLeaf(CpuVendor vendor, int part)
    {
        byte[] s = new byte[48];
        Encoding.ASCII.GetBytes(BrandString(vendor)).CopyTo(s, 0);
        int o = part * 16;
        return (BitConverter.ToUInt32(s, o), BitConverter.ToUInt32(s, o + 4), BitConverter.ToUInt32(s, o + 8), BitConverter.ToUInt32(s, o + 12));
    }
}
