namespace Repl.Shell.Commands;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>Segment descriptors and their cached attributes in words (SDM Vol. 3, 3.4.5 and 3.5).</summary>
static class Descriptors
{
    /// <summary>Bits 51:12 of a CR3 or paging entry: the physical address of the next table or the page frame.</summary>
    public const ulong FrameMask = 0x000F_FFFF_FFFF_F000;

    /// <summary>A descriptor's attribute bits (type, S, DPL, P at 7:0; AVL, L, D/B, G at 15:12) as the segment caches
    /// hold them.</summary>
    public static ushort Attributes(ulong descriptor) => (ushort)((descriptor >> 40) & 0xF0FF);

    public static readonly string[] SegmentHeader = ["Reg", "Sel", "Base", "Limit", "Attr", "Type", "DPL", "Flags"];

    public static string[] SegmentRow(string name, in SegmentCache c) =>
        [name, $"0x{c.Selector:x4}", $"0x{c.Base:x16}", $"0x{c.Limit:x8}", $"0x{c.Attributes:x4}", TypeName(c.Attributes), c.Dpl.ToString(), Flags(c.Attributes)];

    /// <summary>The type field (bits 0-3 of the attributes) read with S: code/data with their access bits, or the system type.</summary>
    public static string TypeName(ushort attributes)
    {
        int type = attributes & 0xF;
        if ((attributes & SegmentCache.AttrS) != 0)
        {
            bool code = (type & 8) != 0;
            string rights = code
                ? "x" + ((type & 2) != 0 ? "r" : "") + ((type & 4) != 0 ? " conforming" : "")
                : "r" + ((type & 2) != 0 ? "w" : "") + ((type & 4) != 0 ? " expand-down" : "");
            return $"{(code ? "code" : "data")} {rights}{((type & 1) != 0 ? " accessed" : "")}";
        }
        return type switch
        {
            1 => "tss16 available",
            2 => "ldt",
            3 => "tss16 busy",
            4 => "call gate16",
            5 => "task gate",
            6 => "interrupt gate16",
            7 => "trap gate16",
            9 => "tss available",
            11 => "tss busy",
            12 => "call gate",
            14 => "interrupt gate",
            15 => "trap gate",
            _ => $"reserved ({type})",
        };
    }

    /// <summary>P, L, D/B, G and AVL, where set.</summary>
    public static string Flags(ushort attributes)
    {
        var flags = new List<string>();
        if ((attributes & SegmentCache.AttrPresent) != 0) flags.Add("P");
        if ((attributes & SegmentCache.AttrLong) != 0) flags.Add("L");
        if ((attributes & SegmentCache.AttrDefaultBig) != 0) flags.Add("D");
        if ((attributes & SegmentCache.AttrGranularity) != 0) flags.Add("G");
        if ((attributes & (1 << 12)) != 0) flags.Add("AVL");
        return string.Join(' ', flags);
    }
}
