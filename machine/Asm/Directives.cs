namespace Repl.Machine.Asm;

/// <summary>The pseudo-ops of GNU as that the assembler proper handles (the preprocessor has its own).</summary>
internal sealed partial class AssemblyPass
{
    delegate void Handler(AssemblyPass pass, Statement statement, Cursor c);

    static readonly Dictionary<string, Handler> Handlers = new(StringComparer.OrdinalIgnoreCase)
    {
        ["text"] = (p, s, c) => p.SwitchTo(s, c, ".text"),
        ["data"] = (p, s, c) => p.SwitchTo(s, c, ".data"),
        ["bss"] = (p, s, c) => p.SwitchTo(s, c, ".bss"),
        // Not a GNU as pseudo-op on x86 ELF; the issue asks for it as a shorthand of .section .rodata.
        ["rodata"] = (p, s, c) => p.SwitchTo(s, c, ".rodata"),
        ["section"] = (p, s, c) => p.Section(s, c, push: false),
        ["pushsection"] = (p, s, c) => p.Section(s, c, push: true),
        ["popsection"] = (p, s, c) => p.PopSection(s, c),
        ["previous"] = (p, s, c) => p.Previous(s, c),
        ["org"] = (p, s, c) => p.Org(s, c),
        // On x86 ELF, .align takes a byte count, as .balign does.
        ["align"] = (p, s, c) => p.Align(s, c, powerOfTwo: false, 1),
        ["balign"] = (p, s, c) => p.Align(s, c, powerOfTwo: false, 1),
        ["balignw"] = (p, s, c) => p.Align(s, c, powerOfTwo: false, 2),
        ["balignl"] = (p, s, c) => p.Align(s, c, powerOfTwo: false, 4),
        ["p2align"] = (p, s, c) => p.Align(s, c, powerOfTwo: true, 1),
        ["p2alignw"] = (p, s, c) => p.Align(s, c, powerOfTwo: true, 2),
        ["p2alignl"] = (p, s, c) => p.Align(s, c, powerOfTwo: true, 4),
        ["globl"] = (p, s, c) => p.Bind(s, c, AsmSymbolBinding.Global),
        ["global"] = (p, s, c) => p.Bind(s, c, AsmSymbolBinding.Global),
        ["local"] = (p, s, c) => p.Bind(s, c, AsmSymbolBinding.Local),
        ["weak"] = (p, s, c) => p.Bind(s, c, AsmSymbolBinding.Weak),
        ["type"] = (p, s, c) => p.Type(s, c),
        ["size"] = (p, s, c) => p.Size(s, c),
        ["byte"] = (p, s, c) => p.Data(s, c, 1),
        ["short"] = (p, s, c) => p.Data(s, c, 2),
        ["word"] = (p, s, c) => p.Data(s, c, 2),
        ["hword"] = (p, s, c) => p.Data(s, c, 2),
        ["value"] = (p, s, c) => p.Data(s, c, 2),
        ["2byte"] = (p, s, c) => p.Data(s, c, 2),
        ["int"] = (p, s, c) => p.Data(s, c, 4),
        ["long"] = (p, s, c) => p.Data(s, c, 4),
        ["4byte"] = (p, s, c) => p.Data(s, c, 4),
        ["quad"] = (p, s, c) => p.Data(s, c, 8),
        ["8byte"] = (p, s, c) => p.Data(s, c, 8),
        ["ascii"] = (p, s, c) => p.Strings(s, c, terminate: false),
        ["asciz"] = (p, s, c) => p.Strings(s, c, terminate: true),
        ["string"] = (p, s, c) => p.Strings(s, c, terminate: true),
        ["fill"] = (p, s, c) => p.Fill(s, c),
        ["skip"] = (p, s, c) => p.Space(s, c, allowFill: true),
        ["space"] = (p, s, c) => p.Space(s, c, allowFill: true),
        ["zero"] = (p, s, c) => p.Space(s, c, allowFill: false),
        ["equ"] = (p, s, c) => p.Equate(s, c, fixedOnce: false),
        ["set"] = (p, s, c) => p.Equate(s, c, fixedOnce: false),
        ["equiv"] = (p, s, c) => p.Equate(s, c, fixedOnce: true),
        ["incbin"] = (p, s, c) => p.Incbin(s, c),
        ["error"] = (p, s, c) => p.Message(s, c, DiagnosticSeverity.Error),
        ["warning"] = (p, s, c) => p.Message(s, c, DiagnosticSeverity.Warning),
        ["err"] = (p, s, c) => p.Diagnostics.Error(s, 0, ".err encountered"),
        ["print"] = (p, s, c) => p.Print(s, c),
        ["code16"] = (p, s, c) => p.Code(s, c, 16),
        ["code32"] = (p, s, c) => p.Code(s, c, 32),
        ["code64"] = (p, s, c) => p.Code(s, c, 64),
        ["intel_syntax"] = (p, s, c) => p.SyntaxSwitch(s, c, AsmSyntax.Intel),
        ["att_syntax"] = (p, s, c) => p.SyntaxSwitch(s, c, AsmSyntax.Att),
        // Debug information, unwind tables, identification and visibility: accepted as GNU as accepts them,
        // without effect on the image (our DWARF comes from the line table).
        ["file"] = Ignore, ["loc"] = Ignore, ["loc_mark_labels"] = Ignore, ["ident"] = Ignore,
        ["hidden"] = Ignore, ["internal"] = Ignore, ["protected"] = Ignore,
    };

    static void Ignore(AssemblyPass pass, Statement statement, Cursor c) { }

    /// <summary>
    /// The most bytes one .skip, .fill, .org or alignment may ask for: the image is a byte array, and a larger
    /// request is a typo rather than a kernel (GNU as itself runs out of memory on them).
    /// </summary>
    internal const long MaxSpace = 1L << 30;

    void Directive(Statement statement, Cursor c)
    {
        int at = c.Position;
        c.Position++;
        // Not Identifier(): pseudo-op names may start with a digit (.2byte).
        while (Cursor.IsSymbolPart(c.Peek))
            c.Position++;
        string name = c.Text[(at + 1)..c.Position];
        if (Handlers.TryGetValue(name, out var handler))
            handler(this, statement, c);
        else if (name.StartsWith("cfi_", StringComparison.OrdinalIgnoreCase))
            Ignore(this, statement, c);
        else
            Diagnostics.Error(statement, at, $"unknown pseudo-op: `.{name}'");
    }

    // Sections.

    /// <summary>The flags and type GNU as gives a section it knows by name (also its "name.suffix" variants).</summary>
    static (SectionFlags Flags, bool NoBits) Defaults(string name)
    {
        static bool Is(string name, string known) => name == known || name.StartsWith(known + ".", StringComparison.Ordinal);
        if (Is(name, ".text"))
            return (SectionFlags.Alloc | SectionFlags.Execute, false);
        if (Is(name, ".data"))
            return (SectionFlags.Alloc | SectionFlags.Write, false);
        if (Is(name, ".bss"))
            return (SectionFlags.Alloc | SectionFlags.Write, true);
        if (Is(name, ".rodata"))
            return (SectionFlags.Alloc, false);
        return (SectionFlags.None, false);
    }

    /// <summary>The section of that name, created on first mention with the given or default attributes.</summary>
    Section SectionNamed(string name, SectionFlags? flags, bool? noBits)
    {
        var section = sections.FirstOrDefault(s => s.Name == name);
        if (section is null)
        {
            var defaults = Defaults(name);
            section = new Section(name, flags ?? defaults.Flags, noBits ?? defaults.NoBits);
            section.Fragments.Add(new Fragment(section));
            sections.Add(section);
        }
        return section;
    }

    /// <summary>Every section change, even to the section already current, makes the current one .previous's (as GNU as).</summary>
    void Enter(Section section)
    {
        previous = current;
        current = section;
    }

    void SwitchTo(Statement statement, Cursor c, string name)
    {
        if (!c.AtEnd)
        {
            Diagnostics.Error(statement, c.Position, "subsections are not supported");
            return;
        }
        Enter(SectionNamed(name, null, null));
    }

    /// <summary>.section name[,"flags"[,@type]] (flags a, w, x; type @progbits or @nobits; the rest is accepted).</summary>
    void Section(Statement statement, Cursor c, bool push)
    {
        c.SkipSpace();
        int at = c.Position;
        string? name = c.Peek == '"' ? c.Identifier() : SectionName(c);
        if (string.IsNullOrEmpty(name))
        {
            Diagnostics.Error(statement, at, "expected a section name");
            return;
        }
        SectionFlags? flags = null;
        bool? noBits = null;
        if (c.Accept(','))
        {
            c.SkipSpace();
            int flagsAt = c.Position;
            if (c.Peek == '"')
            {
                var text = c.StringLiteral(out string? error);
                if (text is null)
                {
                    Diagnostics.Error(statement, flagsAt, error!);
                    return;
                }
                flags = SectionFlags.None;
                foreach (char f in System.Text.Encoding.ASCII.GetString(text))
                    flags |= f switch { 'a' => SectionFlags.Alloc, 'w' => SectionFlags.Write, 'x' => SectionFlags.Execute, _ => SectionFlags.None };
                if (c.Accept(','))
                {
                    c.SkipSpace();
                    int typeAt = c.Position;
                    if (c.Peek is '@' or '%')
                        c.Position++;
                    string type = c.Identifier() ?? "";
                    if (type is not ("progbits" or "nobits" or "note" or "init_array" or "fini_array" or "preinit_array"))
                    {
                        Diagnostics.Error(statement, typeAt, $"unrecognized section type `{type}'");
                        return;
                    }
                    noBits = type == "nobits";
                }
            }
            // Entity sizes, groups and linkage (",M,1", ",G,name,comdat") do not change the image.
            while (!c.AtEnd)
                c.Position++;
        }
        if (!ExpectEnd(statement, c))
            return;
        if (push)
            pushed.Push((current, previous));
        Enter(SectionNamed(name, flags, noBits));
    }

    /// <summary>A section name as GNU as reads it unquoted: anything up to a comma or a blank (".note.GNU-stack").</summary>
    static string SectionName(Cursor c)
    {
        int start = c.Position;
        while (c.Position < c.Text.Length && c.Peek is not (',' or ' ' or '\t'))
            c.Position++;
        return c.Text[start..c.Position];
    }

    void PopSection(Statement statement, Cursor c)
    {
        if (!ExpectEnd(statement, c))
            return;
        if (pushed.Count == 0)
        {
            Diagnostics.Warning(statement, 0, ".popsection without corresponding .pushsection; ignored");
            return;
        }
        (current, previous) = pushed.Pop();
    }

    void Previous(Statement statement, Cursor c)
    {
        if (ExpectEnd(statement, c))
            (current, previous) = (previous, current);
    }

    // Location counter and padding.

    /// <summary>.org expr[,fill] and ". = expr": pad up to an offset in the current section.</summary>
    void Org(Statement statement, Cursor c)
    {
        c.SkipSpace();
        int at = c.Position;
        if (ParseExpression(statement, c) is not { } target)
            return;
        long fill = 0;
        if (c.Accept(',') && !TryAbsolute(statement, c, out fill))
            return;
        if (ExpectEnd(statement, c))
            current.Close(new OrgPart(statement, target, at, (byte)fill));
    }

    /// <summary>
    /// .align/.balign bytes[,fill[,max]] and .p2align bits[,fill[,max]]; an empty fill means the default. The w and
    /// l variants fill with a 2- or 4-byte pattern (<paramref name="fillSize"/>).
    /// </summary>
    void Align(Statement statement, Cursor c, bool powerOfTwo, int fillSize)
    {
        c.SkipSpace();
        int at = c.Position;
        if (!TryAbsolute(statement, c, out long amount))
            return;
        byte[]? fill = null;
        long maxSkip = 0;
        if (c.Accept(','))
        {
            c.SkipSpace();
            if (c.Peek != ',')
            {
                if (!TryAbsolute(statement, c, out long f))
                    return;
                fill = Enumerable.Range(0, fillSize).Select(i => (byte)(f >> (8 * i))).ToArray();
            }
            if (c.Accept(',') && !TryAbsolute(statement, c, out maxSkip))
                return;
        }
        if (!ExpectEnd(statement, c))
            return;
        if (fill is null && fillSize > 1)
            Diagnostics.Warning(statement, at, "expected fill pattern missing");
        long alignment = powerOfTwo ? 1L << (int)Math.Clamp(amount, 0, 62) : Math.Max(amount, 1);
        if (alignment > MaxSpace)
        {
            Diagnostics.Error(statement, at, $"alignment too large: at most {MaxSpace} bytes");
            return;
        }
        if ((alignment & (alignment - 1)) != 0)
        {
            Diagnostics.Error(statement, at, "alignment not a power of 2");
            return;
        }
        if (alignment == 1)
            return;
        current.Alignment = Math.Max(current.Alignment, (ulong)alignment);
        current.Close(new AlignPart(statement, alignment, fill, maxSkip, Bitness));
    }

    /// <summary>.skip/.space size[,fill] and .zero size.</summary>
    void Space(Statement statement, Cursor c, bool allowFill)
    {
        c.SkipSpace();
        int at = c.Position;
        if (ParseExpression(statement, c) is not { } count)
            return;
        long fill = 0;
        if (allowFill && c.Accept(',') && !TryAbsolute(statement, c, out fill))
            return;
        if (!ExpectEnd(statement, c))
            return;
        if (fill != 0 && current.NoBits)
        {
            Diagnostics.Warning(statement, at, $"ignoring fill value in section `{current.Name}'");
            fill = 0;
        }
        var now = EvaluateNow(count);
        if (now.Error is not null)
            Diagnostics.Error(statement, now.ErrorPosition, now.Error);
        else if (now.IsAbsolute(out long size) && size > MaxSpace)
            Diagnostics.Error(statement, at, $"size too large: at most {MaxSpace} bytes");
        else if (now.IsAbsolute(out size) && size <= 0)
            // GNU as 2.40 says "zero" for a negative count too.
            Diagnostics.Warning(statement, at, ".space repeat count is zero, ignored");
        else if (now.IsAbsolute(out size))
            Emit(statement, Enumerable.Repeat((byte)fill, (int)size).ToArray());
        else
            // A size from labels not laid out yet (".skip 1f - 0b" across an instruction): layout decides.
            current.Close(new SpacePart(statement, count, at, (byte)fill));
    }

    /// <summary>
    /// .fill repeat[,size[,value]]: repeat copies of value in size bytes (at most 8); as GNU as, a size over 4
    /// holds the value's low 4 bytes and zeros.
    /// </summary>
    void Fill(Statement statement, Cursor c)
    {
        c.SkipSpace();
        int at = c.Position;
        if (!TryAbsolute(statement, c, out long repeat))
            return;
        long size = 1, value = 0;
        if (c.Accept(',') && !TryAbsolute(statement, c, out size))
            return;
        if (c.Accept(',') && !TryAbsolute(statement, c, out value))
            return;
        if (!ExpectEnd(statement, c))
            return;
        if (size > 8)
        {
            Diagnostics.Warning(statement, at, ".fill size clamped to 8");
            size = 8;
        }
        if (repeat < 0)
        {
            Diagnostics.Warning(statement, at, "repeat < 0; .fill ignored");
            return;
        }
        if (size > 0 && repeat > MaxSpace / size)
        {
            Diagnostics.Error(statement, at, $"size too large: at most {MaxSpace} bytes");
            return;
        }
        var one = new byte[Math.Max(size, 0)];
        for (int i = 0; i < one.Length && i < 4; i++)
            one[i] = (byte)(value >> (8 * i));
        var bytes = new byte[one.Length * repeat];
        for (long r = 0; r < repeat; r++)
            one.CopyTo(bytes, r * one.Length);
        if (bytes.Any(b => b != 0) && !StoreAllowed(statement, at))
            return;
        Emit(statement, bytes);
    }

    // Data.

    /// <summary>.byte/.short/.long/.quad and their synonyms: a comma-separated list of expressions.</summary>
    void Data(Statement statement, Cursor c, int size)
    {
        if (c.AtEnd)
            return;
        do
        {
            c.SkipSpace();
            int at = c.Position;
            if (ParseExpression(statement, c) is not { } expr)
                return;
            var now = EvaluateNow(expr);
            if (now.Error is not null)
            {
                Diagnostics.Error(statement, now.ErrorPosition, now.Error);
                return;
            }
            if (now.IsAbsolute(out long value))
            {
                if (value != 0 && !StoreAllowed(statement, at))
                    return;
                Emit(statement, Truncate(statement, at, value, size));
            }
            else if (StoreAllowed(statement, at))
            {
                // Known after layout only (a label, a difference across fragments, a symbol defined later).
                var fragment = current.Current;
                fragment.Holes.Add(new DataHole(fragment.FixedSize, size, expr, at, statement));
                Emit(statement, new byte[size]);
            }
            else
                return;
        } while (c.Accept(','));
        ExpectEnd(statement, c);
    }

    /// <summary>
    /// The low <paramref name="size"/> bytes of a value, little-endian; GNU as warns when the bits dropped are
    /// neither all zeros nor all ones (so -1 fits a byte, 0x100 does not).
    /// </summary>
    byte[] Truncate(Statement statement, int position, long value, int size)
    {
        if (size < 8 && (value >> (8 * size)) is not (0 or -1))
        {
            ulong kept = (ulong)value & ((1UL << (8 * size)) - 1);
            Diagnostics.Warning(statement, position, $"value 0x{(ulong)value:x} truncated to 0x{kept:x}");
        }
        var bytes = new byte[size];
        for (int i = 0; i < size; i++)
            bytes[i] = (byte)(value >> (8 * i));
        return bytes;
    }

    /// <summary>.ascii and .asciz/.string (a zero after each string).</summary>
    void Strings(Statement statement, Cursor c, bool terminate)
    {
        var bytes = new List<byte>();
        do
        {
            c.SkipSpace();
            int at = c.Position;
            var text = c.StringLiteral(out string? error);
            if (text is null)
            {
                Diagnostics.Error(statement, at, error!);
                return;
            }
            bytes.AddRange(text);
            if (terminate)
                bytes.Add(0);
        } while (c.Accept(','));
        if (!ExpectEnd(statement, c))
            return;
        if (bytes.Any(b => b != 0) && !StoreAllowed(statement, 0))
            return;
        Emit(statement, bytes.ToArray());
    }

    /// <summary>.print "text": a line GNU as writes to its standard output; the result carries it (<see cref="AssemblyResult.Printed"/>).</summary>
    void Print(Statement statement, Cursor c)
    {
        c.SkipSpace();
        int at = c.Position;
        if (c.StringLiteral(out string? error) is not { } text)
            Diagnostics.Error(statement, at, error!);
        else if (ExpectEnd(statement, c))
            printed.Add(System.Text.Encoding.UTF8.GetString(text));
    }

    /// <summary>.incbin "file"[,skip[,count]]: the file's bytes, looked up as .include looks files up.</summary>
    void Incbin(Statement statement, Cursor c)
    {
        c.SkipSpace();
        int at = c.Position;
        var name = c.StringLiteral(out string? error);
        if (name is null)
        {
            Diagnostics.Error(statement, at, error!);
            return;
        }
        long skip = 0, count = -1;
        if (c.Accept(',') && !TryAbsolute(statement, c, out skip))
            return;
        if (c.Accept(',') && !TryAbsolute(statement, c, out count))
            return;
        if (!ExpectEnd(statement, c))
            return;
        string file = System.Text.Encoding.UTF8.GetString(name);
        if (ReadIncluded(statement.Location.File, file) is not { } bytes)
        {
            Diagnostics.Error(statement, at, $"file not found: {file}");
            return;
        }
        if (skip < 0 || skip > bytes.Length)
        {
            Diagnostics.Error(statement, at, $"skip ({skip}) out of range for file of size {bytes.Length}");
            return;
        }
        long available = bytes.Length - skip;
        if (count < 0 || count > available)
            count = available;
        if (!StoreAllowed(statement, at))
            return;
        Emit(statement, bytes.AsSpan((int)skip, (int)count).ToArray());
    }

    /// <summary>The file's bytes: next to the including file first, then in each include directory.</summary>
    byte[]? ReadIncluded(string including, string file)
    {
        var candidates = new List<string>();
        if (Path.IsPathRooted(file))
            candidates.Add(file);
        else
        {
            candidates.Add(Path.Combine(Path.GetDirectoryName(including) ?? "", file));
            candidates.AddRange(options.IncludePaths.Select(d => Path.Combine(d, file)));
        }
        foreach (var candidate in candidates)
        {
            if (options.ReadFile is { } read)
            {
                if (read(candidate) is { } bytes)
                    return bytes;
            }
            else if (File.Exists(candidate))
                return File.ReadAllBytes(candidate);
        }
        return null;
    }

    // Symbols.

    void Bind(Statement statement, Cursor c, AsmSymbolBinding binding)
    {
        do
        {
            c.SkipSpace();
            int at = c.Position;
            if (c.Identifier() is not { } name)
            {
                Diagnostics.Error(statement, at, "expected symbol name");
                return;
            }
            symbols.Get(name).Binding = binding;
        } while (c.Accept(','));
        ExpectEnd(statement, c);
    }

    /// <summary>.type sym,@function|@object|@notype (also %function, STT_FUNC, "function").</summary>
    void Type(Statement statement, Cursor c)
    {
        c.SkipSpace();
        int at = c.Position;
        if (c.Identifier() is not { } name || !c.Accept(','))
        {
            Diagnostics.Error(statement, at, "expected symbol name followed by a comma");
            return;
        }
        c.SkipSpace();
        int typeAt = c.Position;
        if (c.Peek is '@' or '%' or '"')
            c.Position++;
        string type = c.Identifier() ?? "";
        c.Accept('"');
        AsmSymbolType? kind = type switch
        {
            "function" or "STT_FUNC" => AsmSymbolType.Function,
            "object" or "STT_OBJECT" => AsmSymbolType.Object,
            "notype" or "STT_NOTYPE" => AsmSymbolType.NoType,
            _ => null,
        };
        if (kind is null)
        {
            Diagnostics.Error(statement, typeAt, $"unrecognized symbol type \"{type}\"");
            return;
        }
        if (ExpectEnd(statement, c))
            symbols.Get(name).Type = kind.Value;
    }

    /// <summary>.size sym,expr: the expression (usually ". - sym") is evaluated after layout.</summary>
    void Size(Statement statement, Cursor c)
    {
        c.SkipSpace();
        int at = c.Position;
        if (c.Identifier() is not { } name || !c.Accept(','))
        {
            Diagnostics.Error(statement, at, "expected comma after name in .size");
            return;
        }
        if (ParseExpression(statement, c) is { } expr && ExpectEnd(statement, c))
            symbols.Get(name).Size = (expr, current.Current, current.Current.FixedSize, statement);
    }

    /// <summary>.equ/.set/.equiv name, expr.</summary>
    void Equate(Statement statement, Cursor c, bool fixedOnce)
    {
        c.SkipSpace();
        int at = c.Position;
        if (c.Identifier() is not { } name || !c.Accept(','))
        {
            Diagnostics.Error(statement, at, "expected comma after name");
            return;
        }
        Assign(name, statement, at, c, fixedOnce);
    }

    // Messages and modes.

    /// <summary>.error "text" and .warning "text": a diagnostic of the user's own.</summary>
    void Message(Statement statement, Cursor c, DiagnosticSeverity severity)
    {
        string directive = severity == DiagnosticSeverity.Error ? ".error" : ".warning";
        string message = $"{directive} directive invoked in source file";
        if (!c.AtEnd)
        {
            var text = c.StringLiteral(out string? error);
            if (text is null)
            {
                Diagnostics.Error(statement, c.Position, error!);
                return;
            }
            message = System.Text.Encoding.UTF8.GetString(text);
        }
        Diagnostics.Add(severity, statement, 0, message);
    }

    void Code(Statement statement, Cursor c, int bitness)
    {
        if (ExpectEnd(statement, c))
            Bitness = bitness;
    }

    /// <summary>.intel_syntax [noprefix|prefix] and .att_syntax [prefix|noprefix].</summary>
    void SyntaxSwitch(Statement statement, Cursor c, AsmSyntax syntax)
    {
        c.SkipSpace();
        int at = c.Position;
        string option = c.Identifier() ?? "";
        if (option is not ("" or "prefix" or "noprefix"))
        {
            Diagnostics.Error(statement, at, "bad argument to syntax directive.");
            return;
        }
        if (ExpectEnd(statement, c))
            Syntax = syntax;
    }

    // Helpers.

    bool TryAbsolute(Statement statement, Cursor c, out long value)
    {
        value = 0;
        if (ParseExpression(statement, c) is not { } expr)
            return false;
        var now = EvaluateNow(expr);
        if (now.IsAbsolute(out value))
            return true;
        Diagnostics.Error(statement, now.Error is null ? expr.Position : now.ErrorPosition, now.Error ?? "expected an absolute expression");
        return false;
    }

    /// <summary>Appends known bytes to the current fragment and notes the statement in the line table.</summary>
    void Emit(Statement statement, byte[] bytes)
    {
        if (bytes.Length == 0)
            return;
        var fragment = current.Current;
        var line = LineOf(statement);
        fragment.Lines.Add((fragment.FixedSize, line.File, line.Line));
        fragment.Bytes.AddRange(bytes);
    }
}
