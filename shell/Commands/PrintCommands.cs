using System.Globalization;
using System.Text.RegularExpressions;
using Repl.Shell.Debugging;

namespace Repl.Shell.Commands;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>print (p): gdb's print over C#. The expression is C# evaluated in the session, with gdb's $ names: registers
/// and their parts ($rax, $eax, $al) and the value history ($, $$, $N). Each value printed joins the history as $N.</summary>
static partial class PrintCommands
{
    public static IReadOnlyList<ShellCommand> All { get; } =
    [
        new("print", ["p"], "Evaluate C# (with $rax, $eax, $al...) and print it, in a gdb format if given",
            "print[/FORMAT] [EXPRESSION]\nEvaluates EXPRESSION as C# in the session (Cpu.Rax + 1, Mem.U64[Cpu.Rsp]); $REG stands for a register or a part of\n"
            + "one ($rax as ulong, $eax uint, $ax ushort, $al byte), and $N, $ and $$ for the value history: value N, the last,\n"
            + "the one before. The value is printed as $N = VALUE and kept as $N. Without EXPRESSION, the last value again.\n"
            + "FORMAT, for integers, as gdb's: x hex, z hex zero-padded to the type's size, o octal, t binary, d signed,\n"
            + "u unsigned, c character, a address with its symbol; s and none print the value as C# shows it.\n"
            + "Example: p $rax, p/x $rsp, p/t Cpu.Rflags, p/a Mem.U64[Cpu.Rsp], p",
            Print),
    ];

    /// <summary>gdb's $ names: $rax, $1, $, $$. A $ before a string (C#'s interpolation: $"...", $@"...") is left alone.</summary>
    [GeneratedRegex(@"\$(?<name>\$|\d+|[A-Za-z_]\w*)?(?![""@{])")]
    private static partial Regex Dollar();

    static void Print(Debugger d, string args, TextWriter o)
    {
        string expression = args.Trim();
        char format = 's';
        if (expression.StartsWith('/'))
        {
            int end = expression.IndexOfAny([' ', '\t']);
            format = Format(end < 0 ? expression[1..] : expression[1..end]);
            expression = end < 0 ? "" : expression[end..].Trim();
        }
        object? value;
        if (expression.Length == 0)
            value = d.ValueHistory.Count > 0 ? d.ValueHistory[^1] : throw new CommandException("the value history is empty: print something first, as in: p $rax");
        else
        {
            var evaluate = d.ExpressionEvaluator
                ?? throw new CommandException("print evaluates C#, and no C# session is running here (try 'regs rax' or 'x/gx ADDR')");
            value = evaluate(Dollar().Replace(expression, m => Substitute(d, m.Groups["name"].Value)));
        }
        string text = format == 's' ? Scripting.ValueFormatter.Format(value) : Formatted(d, value, format);
        d.ValueHistory.Add(value);
        o.WriteLine($"${d.ValueHistory.Count} = {text}");
    }

    static char Format(string text)
    {
        if (text.Length > 0 && char.IsAsciiDigit(text[0]))
            throw new CommandException("print shows one value: a count is meaningless there (x/4gx shows several)");
        if (text.Length != 1 || !"xzotduacs".Contains(text[0]))
            throw new CommandException(text == "i"
                ? "the format i is meaningless in print (x/i ADDR disassembles)"
                : $"'{text}' is not a print format (x z o t d u c a s), as in: p/x $rsp");
        return text[0];
    }

    /// <summary>The C# a $ name stands for: a register read when the expression runs, typed by its width, or a value of
    /// the history under its own type. Reads rather than literals, so that $rax + $rbx wraps as C# arithmetic on
    /// Cpu.Rax does instead of overflowing as a constant would.</summary>
    static string Substitute(Debugger d, string name)
    {
        if (RegisterNames.TryParsePart(name, out var part))
        {
            string read = $"Debugger.ReadRegister(\"{name}\")";
            return part.Bits switch { 8 => $"((byte){read})", 16 => $"((ushort){read})", 32 => $"((uint){read})", _ => read };
        }
        int index = name switch
        {
            "" => d.ValueHistory.Count,
            "$" => d.ValueHistory.Count - 1,
            _ when char.IsAsciiDigit(name[0]) => int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : 0,
            _ => throw new CommandException($"no register named '${name}' (try $rax, $eax, $al, $rsp, $rip, $cr3)"),
        };
        if (index < 1 || index > d.ValueHistory.Count)
            throw new CommandException(d.ValueHistory.Count == 0
                ? "the value history is empty: print something first, as in: p $rax"
                : $"the value history holds $1 to ${d.ValueHistory.Count}");
        object? old = d.ValueHistory[index - 1];
        return old is not null && Keywords.TryGetValue(old.GetType(), out string? keyword)
            ? $"(({keyword})Debugger.ValueHistory[{index - 1}])"
            : throw new CommandException($"${index} is {(old is null ? "null" : "a " + old.GetType().Name)}: only numbers, chars and bools can be used again in C#");
    }

    static readonly Dictionary<Type, string> Keywords = new()
    {
        [typeof(bool)] = "bool", [typeof(char)] = "char",
        [typeof(byte)] = "byte", [typeof(sbyte)] = "sbyte", [typeof(short)] = "short", [typeof(ushort)] = "ushort",
        [typeof(int)] = "int", [typeof(uint)] = "uint", [typeof(long)] = "long", [typeof(ulong)] = "ulong",
    };

    /// <summary>An integer in gdb's print format: its bits, as many as its type has, read as the letter says.</summary>
    static string Formatted(Debugger d, object? value, char format)
    {
        var (raw, bits) = value switch
        {
            bool b => (b ? 1UL : 0, 8),
            byte v => (v, 8),
            sbyte v => ((byte)v, 8),
            short v => ((ushort)v, 16),
            ushort v => (v, 16),
            char v => (v, 16),
            int v => ((uint)v, 32),
            uint v => (v, 32),
            long v => ((ulong)v, 64),
            ulong v => (v, 64),
            _ => throw new CommandException($"p/{format} formats integers, and this value is {(value is null ? "null" : "a " + value.GetType().Name)} (p alone prints it)"),
        };
        long signed = bits == 64 ? (long)raw : (long)(raw << (64 - bits)) >> (64 - bits);
        return format switch
        {
            'x' => $"0x{raw:x}",
            'z' => "0x" + raw.ToString("x" + (bits / 4).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture),
            'o' => raw == 0 ? "0" : "0" + Convert.ToString((long)raw, 8),
            't' => Convert.ToString((long)raw, 2),
            'd' => signed.ToString(CultureInfo.InvariantCulture),
            'u' => raw.ToString(CultureInfo.InvariantCulture),
            'c' => Character((byte)raw),
            _ => d.Program.Describe(raw),
        };
    }

    /// <summary>gdb's /c: the low byte as a signed char, then the character, escaped as C escapes it.</summary>
    static string Character(byte b)
    {
        string shown = b switch
        {
            (byte)'\'' => "\\'",
            (byte)'\\' => "\\\\",
            >= 0x20 and < 0x7f => ((char)b).ToString(),
            7 => "\\a", 8 => "\\b", 9 => "\\t", 10 => "\\n", 11 => "\\v", 12 => "\\f", 13 => "\\r",
            _ => "\\" + Convert.ToString(b, 8).PadLeft(3, '0'),
        };
        return $"{(sbyte)b} '{shown}'";
    }
}
