using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;
using Microsoft.CodeAnalysis.CSharp;

namespace Repl.Shell.Scripting;

/// <summary>
/// How the shell shows the value of a C# expression: integers in hex, with the decimal beside it when that helps
/// (small, or negative as a signed number); byte arrays as hex dumps; records and structs as tables of their
/// fields, unless they say themselves in a line of their own (a StopReason: "breakpoint at 0x100003"); collections
/// briefly; anything else as its own ToString.
/// </summary>
public static class ValueFormatter
{
    const int CollectionItems = 8, DumpBytes = 256;

    public static string Format(object? value) => value switch
    {
        null => "null",
        string s => SymbolDisplay.FormatLiteral(s, quote: true),
        char c => SymbolDisplay.FormatLiteral(c, quote: true),
        bool b => b ? "true" : "false",
        Enum e => e.ToString(),
        byte or ushort or uint or ulong => Unsigned(Convert.ToUInt64(value, CultureInfo.InvariantCulture), Width(value)),
        sbyte or short or int or long => Signed(Convert.ToInt64(value, CultureInfo.InvariantCulture), Width(value)),
        byte[] bytes => HexDump(bytes),
        IEnumerable items => Brief(items),
        _ when IsRecordLike(value.GetType()) && !WritesItself(value.GetType()) => Table(value),
        _ => value.ToString() ?? "",
    };

    /// <summary>0x2a (42): the decimal is shown below 2^16, where people think in it, and for values whose top bit
    /// is set, where the signed reading (-1 for 0xffffffffffffffff) is usually the one meant.</summary>
    static string Unsigned(ulong v, int bytes)
    {
        int bits = bytes * 8;
        bool topBit = (v >> (bits - 1) & 1) != 0;
        if (v < 0x1_0000)
            return v < 10 ? v.ToString(CultureInfo.InvariantCulture) : $"0x{v:x} ({v})";
        if (topBit)
            return $"0x{v:x} ({SignExtend(v, bits)})";
        return $"0x{v:x}";
    }

    static string Signed(long v, int bytes)
    {
        ulong raw = bytes == 8 ? (ulong)v : (ulong)v & ((1UL << (bytes * 8)) - 1);
        return v < 0 ? $"0x{raw:x} ({v})" : Unsigned(raw, bytes);
    }

    static long SignExtend(ulong v, int bits) => bits == 64 ? (long)v : (long)(v << (64 - bits)) >> (64 - bits);

    static int Width(object value) => value switch
    {
        byte or sbyte => 1,
        ushort or short => 2,
        uint or int => 4,
        _ => 8,
    };

    /// <summary>16 bytes a line: offset, hex, and the printable ASCII, as xxd shows them.</summary>
    public static string HexDump(byte[] bytes)
    {
        var text = new StringBuilder();
        int shown = Math.Min(bytes.Length, DumpBytes);
        for (int line = 0; line < shown; line += 16)
        {
            var chunk = bytes.AsSpan(line, Math.Min(16, shown - line));
            text.Append(CultureInfo.InvariantCulture, $"{line:x4}: ");
            for (int i = 0; i < 16; i++)
                text.Append(i < chunk.Length ? chunk[i].ToString("x2", CultureInfo.InvariantCulture) + " " : "   ");
            text.Append(' ');
            foreach (byte b in chunk)
                text.Append(b is >= 0x20 and < 0x7F ? (char)b : '.');
            text.Append('\n');
        }
        if (shown < bytes.Length)
            text.Append(CultureInfo.InvariantCulture, $"... ({bytes.Length} bytes)\n");
        return bytes.Length == 0 ? "byte[0]" : text.ToString().TrimEnd('\n');
    }

    static string Brief(IEnumerable items)
    {
        var shown = new List<string>();
        int count = 0;
        foreach (object? item in items)
        {
            if (count++ < CollectionItems)
                shown.Add(Inline(item));
        }
        string more = count > CollectionItems ? $", ... ({count} items)" : "";
        return $"[{string.Join(", ", shown)}{more}]";
    }

    /// <summary>A value inside a collection or a table cell: one line.</summary>
    static string Inline(object? item)
    {
        string text = Format(item);
        return text.Contains('\n') ? item?.ToString() ?? "null" : text;
    }

    /// <summary>Records, value types with fields, and our own views: what a table of fields reads well for. Types
    /// that print themselves meaningfully (their ToString is their own) but are not records keep ToString.</summary>
    static bool IsRecordLike(Type type) =>
        type.GetMethod("<Clone>$") is not null                                    // a record class
        || type.IsValueType && !type.IsPrimitive && Members(type).Any()
        || type.Namespace == typeof(ValueFormatter).Namespace && Members(type).Any();

    /// <summary>The type overrides ToString by hand; a record's generated ToString ("Frame { Rip = 4096 }") does not count.</summary>
    static bool WritesItself(Type type) =>
        type.GetMethod(nameof(ToString), Type.EmptyTypes) is { } toString && toString.DeclaringType == type
        && !toString.IsDefined(typeof(System.Runtime.CompilerServices.CompilerGeneratedAttribute));

    static IEnumerable<MemberInfo> Members(Type type) =>
        type.GetMembers(BindingFlags.Public | BindingFlags.Instance)
            .Where(m => m is FieldInfo || m is PropertyInfo { CanRead: true } p && p.GetIndexParameters().Length == 0
                        && p.Name != "EqualityContract");

    /// <summary>One row per public field or property: name, then the value formatted on one line.</summary>
    static string Table(object value)
    {
        var rows = new List<(string Name, string Value)>();
        foreach (var member in Members(value.GetType()))
        {
            object? cell;
            try
            {
                cell = member is FieldInfo f ? f.GetValue(value) : ((PropertyInfo)member).GetValue(value);
            }
            catch (TargetInvocationException e)
            {
                cell = $"<{e.InnerException?.Message}>";
            }
            rows.Add((member.Name, Inline(cell)));
        }
        int width = rows.Max(r => r.Name.Length);
        return value.GetType().Name + "\n" + string.Join("\n", rows.Select(r => $"  {r.Name.PadRight(width)}  {r.Value}"));
    }
}
