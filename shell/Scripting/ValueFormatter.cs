using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.CodeAnalysis.CSharp;

namespace Repl.Shell.Scripting;

/// <summary>
/// How the shell shows the value of a C# expression: integers in hex, with the decimal beside it when that helps
/// (small, or negative as a signed number); byte arrays as hex dumps; records, structs, anonymous objects and our
/// views as tables of their fields, unless they say themselves in a line of their own (a StopReason: "breakpoint at
/// 0x100003"); collections briefly; anything else as its own ToString. Whatever the value does, formatting ends and
/// does not throw: a value inside a table shows on one line, nested to a few levels, a value met again inside itself
/// (Mem.Phys is itself) shows as &lt;cycle&gt;, a collection shows its first items and counts only so far, and a getter,
/// enumerator or ToString that throws shows what it threw in its place.
/// </summary>
public static class ValueFormatter
{
    const int CollectionItems = 8, DumpBytes = 256, InlineMembers = 8, NestingDepth = 3, CountedItems = 10_000;

    public static string Format(object? value) => value switch
    {
        byte[] bytes => HexDump(bytes),
        // An anonymous object reads best as C# writes it: { A = 1, B = 0x1000 (4096) }.
        not null when Tabular(value.GetType()) && !IsAnonymous(value.GetType()) => Table(value),
        _ => Inline(value, 0, new HashSet<object>(ReferenceEqualityComparer.Instance)),
    };

    /// <summary>A value on one line. <paramref name="open"/> holds the objects being formatted around it, so that a
    /// value reaching back to one of them ends there rather than going round for ever.</summary>
    static string Inline(object? value, int depth, HashSet<object> open) => Guarded(() => value switch
    {
        null => "null",
        string s => SymbolDisplay.FormatLiteral(s, quote: true),
        char c => SymbolDisplay.FormatLiteral(c, quote: true),
        bool b => b ? "true" : "false",
        Enum e => e.ToString(),
        byte or ushort or uint or ulong => Unsigned(Convert.ToUInt64(value, CultureInfo.InvariantCulture), Width(value)),
        sbyte or short or int or long => Signed(Convert.ToInt64(value, CultureInfo.InvariantCulture), Width(value)),
        IEnumerable items => Nested(items, depth, open, "[...]", () => Brief(items, depth, open)),
        _ when Tabular(value.GetType()) => Nested(value, depth, open, "{ ... }", () => Braced(value, depth, open)),
        _ => value.ToString() ?? "",
    });

    /// <summary>Formats a value that holds others, unless it is too deep or already open around itself.</summary>
    static string Nested(object value, int depth, HashSet<object> open, string elided, Func<string> format)
    {
        if (depth >= NestingDepth)
            return elided;
        // Value types are copies: only a reference can lead back to itself.
        if (!value.GetType().IsValueType && !open.Add(value))
            return "<cycle>";
        try
        {
            return format();
        }
        finally
        {
            open.Remove(value);
        }
    }

    /// <summary>What a getter, enumerator or ToString threw, in place of the value: the rest still shows.</summary>
    static string Guarded(Func<string> format)
    {
        try
        {
            return format();
        }
        catch (Exception e)
        {
            var cause = e is TargetInvocationException { InnerException: { } inner } ? inner : e;
            return $"<{cause.GetType().Name}: {cause.Message}>";
        }
    }

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

    /// <summary>The first items, and how many there are when that is cheap to know (a collection's Count, or up to
    /// <see cref="CountedItems"/> enumerated: a sequence may never end).</summary>
    static string Brief(IEnumerable items, int depth, HashSet<object> open)
    {
        var shown = new List<string>();
        int count = 0;
        var enumerator = items.GetEnumerator();
        try
        {
            while (count < CountedItems && enumerator.MoveNext())
            {
                if (count++ < CollectionItems)
                    shown.Add(Inline(enumerator.Current, depth + 1, open));
            }
        }
        finally
        {
            (enumerator as IDisposable)?.Dispose();
        }
        string more = count <= CollectionItems ? ""
            : items is ICollection collection ? $", ... ({collection.Count} items)"
            : count < CountedItems ? $", ... ({count} items)"
            : $", ... (over {CountedItems} items)";
        return $"[{string.Join(", ", shown)}{more}]";
    }

    /// <summary>A table's value on one line: <c>{ Name = value, ... }</c>, C#'s anonymous-type way.</summary>
    static string Braced(object value, int depth, HashSet<object> open)
    {
        var members = Members(value.GetType()).ToList();
        var shown = members.Take(InlineMembers).Select(m => $"{m.Name} = {Inline(Read(m, value), depth + 1, open)}");
        string more = members.Count > InlineMembers ? ", ..." : "";
        return $"{{ {string.Join(", ", shown)}{more} }}";
    }

    /// <summary>A top-level value of our views, records, structs and anonymous objects: a table.</summary>
    static bool Tabular(Type type) => IsRecordLike(type) && !WritesItself(type);

    /// <summary>Records, value types with fields, anonymous objects, our own views and the classes a session or script
    /// declares (Roslyn nests them in its Submission#N classes): what a table of fields reads well for. Types that print
    /// themselves meaningfully (their ToString is their own) but are not records keep ToString.</summary>
    static bool IsRecordLike(Type type) =>
        !type.IsEnum
        && (type.GetMethod("<Clone>$") is not null                                 // a record class
            || type.IsValueType && !type.IsPrimitive
            || IsAnonymous(type)
            || type.Namespace == typeof(ValueFormatter).Namespace
            || type.DeclaringType?.Name.StartsWith("Submission#", StringComparison.Ordinal) == true)
        && Members(type).Any();

    static bool IsAnonymous(Type type) =>
        type.IsDefined(typeof(CompilerGeneratedAttribute)) && type.Name.Contains("AnonymousType", StringComparison.Ordinal);

    /// <summary>The type overrides ToString by hand; a record's or an anonymous type's generated ToString
    /// ("Frame { Rip = 4096 }") does not count.</summary>
    static bool WritesItself(Type type) =>
        !IsAnonymous(type)
        && type.GetMethod(nameof(ToString), Type.EmptyTypes) is { } toString && toString.DeclaringType == type
        && !toString.IsDefined(typeof(CompilerGeneratedAttribute));

    static IEnumerable<MemberInfo> Members(Type type) =>
        type.GetMembers(BindingFlags.Public | BindingFlags.Instance)
            .Where(m => m is FieldInfo || m is PropertyInfo { CanRead: true } p && p.GetIndexParameters().Length == 0
                        && p.Name != "EqualityContract");

    /// <summary>A field or property's value; a getter that throws shows as what it threw.</summary>
    static object? Read(MemberInfo member, object value)
    {
        try
        {
            return member is FieldInfo f ? f.GetValue(value) : ((PropertyInfo)member).GetValue(value);
        }
        catch (TargetInvocationException e) when (e.InnerException is { } inner)
        {
            return new Thrown(inner);
        }
    }

    /// <summary>Stands in for a value whose getter threw.</summary>
    sealed class Thrown(Exception exception)
    {
        public override string ToString() => $"<{exception.GetType().Name}: {exception.Message}>";
    }

    /// <summary>One row per public field or property: name, then the value formatted on one line.</summary>
    static string Table(object value)
    {
        var open = new HashSet<object>(ReferenceEqualityComparer.Instance) { value };
        var rows = Members(value.GetType()).Select(m => (m.Name, Value: Inline(Read(m, value), 1, open))).ToList();
        int width = rows.Max(r => r.Name.Length);
        return value.GetType().Name + "\n" + string.Join("\n", rows.Select(r => $"  {r.Name.PadRight(width)}  {r.Value}"));
    }
}
