namespace Repl.Machine.Asm;

// Inside the namespace, so that Register and Mnemonic are Iced's rather than Repl.Machine's.
using Iced.Intel;

/// <summary>
/// Reads an AT&amp;T statement as GNU as does: prefixes, a mnemonic whose suffix (b, w, l, q) may state the
/// operand size, and operands written source first, which it returns destination first (Intel order).
/// </summary>
internal static class AttSyntax
{
    /// <summary>Prefix words GNU as accepts before a mnemonic.</summary>
    internal static readonly HashSet<string> PrefixWords =
    [
        "rep", "repe", "repz", "repne", "repnz", "xacquire", "xrelease", "bnd", "lock", "data16", "data32", "addr16", "addr32", "rex64", "rex.w", "notrack",
        "cs", "ds", "es", "fs", "gs", "ss",
    ];

    public static ParsedInstruction? Parse(Cursor statement, IInstructionContext context, out string? error, out int errorPosition)
    {
        error = null;
        errorPosition = statement.Position;
        var prefixes = new List<string>();
        statement.SkipSpace();
        int position = statement.Position;
        string? name = statement.Identifier();
        while (name is not null && PrefixWords.Contains(name.ToLowerInvariant()))
        {
            prefixes.Add(name.ToLowerInvariant());
            statement.SkipSpace();
            position = statement.Position;
            name = statement.Identifier();
        }
        if (string.IsNullOrEmpty(name))
        {
            if (prefixes.Count > 0 && statement.AtEnd)
                return new ParsedInstruction(prefixes, Mnemonic.INVALID, 0, [], position);
            error = "expected an instruction mnemonic";
            errorPosition = position;
            return null;
        }
        if (AttMnemonics.Resolve(name.ToLowerInvariant()) is not { } resolved)
        {
            error = $"no such instruction: `{name}'";
            errorPosition = position;
            return null;
        }

        var operands = new List<AsmOperand>();
        if (!statement.AtEnd)
        {
            do
            {
                var operand = Operand(statement, context, out error, out errorPosition);
                if (operand is null)
                    return null;
                operands.Add(operand);
            } while (statement.Accept(','));
            if (!statement.AtEnd)
            {
                error = $"junk `{statement.Rest.Trim()}' after operands";
                errorPosition = statement.Position;
                return null;
            }
        }

        // AT&T writes the source first; GNU as keeps the order of instructions whose operands are all
        // immediates (enter $size,$level and ljmp $selector,$offset), and of bound, whose order is the Intel one.
        if (!operands.All(o => o.Kind == OperandKind.Immediate) && resolved.Mnemonic != Mnemonic.Bound)
            operands.Reverse();
        if (resolved.Mnemonic == Mnemonic.INVALID)
        {
            // A bare movs, stos, lods ... takes its size from its register operand (the port %dx of ins and outs
            // says nothing), or GNU as's default, l.
            var register = operands.FirstOrDefault(o => o.Kind == OperandKind.Register && o.Register.IsGPR() && o.Register != Register.DX);
            char suffix = register is null ? 'l' : "bwlq"[System.Numerics.BitOperations.Log2((uint)register.Register.GetSize())];
            resolved = AttMnemonics.Resolve(name.ToLowerInvariant() + suffix)!.Value;
        }
        if (resolved.SourceSize != 0)
            operands = operands.Select((o, i) => i == operands.Count - 1 && o.Kind == OperandKind.Memory ? o with { Size = resolved.SourceSize } : o).ToList();
        return new ParsedInstruction(prefixes, resolved.Mnemonic, resolved.OperandSize, operands, position)
        {
            Far = resolved.Far,
            Absolute64 = resolved.Absolute64,
        };
    }

    static AsmOperand? Operand(Cursor c, IInstructionContext context, out string? error, out int errorPosition)
    {
        error = null;
        c.SkipSpace();
        int at = errorPosition = c.Position;
        bool indirect = c.Accept('*');
        c.SkipSpace();
        if (c.Peek == '$')
        {
            c.Position++;
            var value = Expressions.Parse(c, context, out error, out errorPosition);
            return value is null ? null : new AsmOperand(OperandKind.Immediate, at) { Value = value, Indirect = indirect };
        }
        var segment = Register.None;
        if (c.Peek == '%')
        {
            int registerAt = c.Position;
            if (RegisterName(c, out error) is not { } register)
            {
                errorPosition = registerAt;
                return null;
            }
            if (!c.Accept(':'))
                return new AsmOperand(OperandKind.Register, at) { Register = register, Indirect = indirect };
            if (!register.IsSegmentRegister())
            {
                error = $"`%{register.ToString().ToLowerInvariant()}' is not a valid segment register";
                errorPosition = registerAt;
                return null;
            }
            segment = register;
            c.SkipSpace();
        }
        return Memory(c, context, at, segment, indirect, out error, out errorPosition);
    }

    /// <summary>disp(base,index,scale) with each part optional, after an optional segment override.</summary>
    static AsmOperand? Memory(Cursor c, IInstructionContext context, int at, Register segment, bool indirect, out string? error, out int errorPosition)
    {
        error = null;
        errorPosition = c.Position;
        Expr? displacement = null;
        c.SkipSpace();
        if (!(c.Peek == '(' && c.Rest.TrimStart('(', ' ', '\t').StartsWith('%')) && !(c.Peek == '(' && c.Rest[1..].TrimStart().StartsWith(',')))
        {
            displacement = Expressions.Parse(c, context, out error, out errorPosition);
            if (displacement is null)
                return null;
        }
        var operand = new AsmOperand(OperandKind.Memory, at) { Value = displacement, Segment = segment, Indirect = indirect };
        if (!c.Accept('('))
            return operand;
        Register @base = Register.None, index = Register.None;
        int scale = 1;
        c.SkipSpace();
        if (c.Peek == '%')
        {
            errorPosition = c.Position;
            if (RegisterName(c, out error) is not { } b)
                return null;
            @base = b;
        }
        // After the first comma come an index and optionally a scale, or a scale alone (ignored without an index,
        // as GNU as does); after an index the scale may be left empty.
        if (c.Accept(','))
        {
            c.SkipSpace();
            if (c.Peek == '%')
            {
                errorPosition = c.Position;
                if (RegisterName(c, out error) is not { } x)
                    return null;
                index = x;
                if (c.Accept(',') && !(c.AtEnd || c.Peek == ')'))
                {
                    if (Scale(c, context, out error, out errorPosition) is not { } s)
                        return null;
                    scale = s;
                }
            }
            else if (c.Peek == ')')
            {
                error = "expecting index register or scale factor after `,'; got ')'";
                errorPosition = c.Position;
                return null;
            }
            else if (Scale(c, context, out error, out errorPosition) is null)
                return null;
        }
        if (!c.Accept(')'))
        {
            error = "missing ')' in memory operand";
            errorPosition = c.Position;
            return null;
        }
        return operand with { Base = @base, Index = index, Scale = scale };
    }

    static int? Scale(Cursor c, IInstructionContext context, out string? error, out int errorPosition)
    {
        c.SkipSpace();
        int at = errorPosition = c.Position;
        var expr = c.Peek == ',' ? null : Expressions.Parse(c, context, out error, out errorPosition);
        if (expr is not null && context.EvaluateNow(expr).IsAbsolute(out long s) && s is 1 or 2 or 4 or 8)
        {
            error = null;
            return (int)s;
        }
        error = $"expecting scale factor of 1, 2, 4, or 8: got `{c.Text[at..c.Position].Trim()}'";
        errorPosition = at;
        return null;
    }

    /// <summary>A '%' register name; GNU as also spells the byte registers r8b..r15b and the debug registers db0..db7.</summary>
    static Register? RegisterName(Cursor c, out string? error)
    {
        error = null;
        c.Position++;
        string? name = c.Identifier();
        if (name is not null && Registers.TryGetValue(name.ToLowerInvariant(), out var register))
            return register;
        error = $"bad register name `%{name}'";
        return null;
    }

    static readonly Dictionary<string, Register> Registers = BuildRegisters();

    static Dictionary<string, Register> BuildRegisters()
    {
        var names = new Dictionary<string, Register>();
        foreach (var r in Enum.GetValues<Register>())
            if (r.IsGPR() || r.IsSegmentRegister() || r.IsCR() || r.IsDR() || r.IsTR() || r is Register.RIP or Register.EIP)
                names[r.ToString().ToLowerInvariant()] = r;
        for (int n = 8; n <= 15; n++)
            names[$"r{n}b"] = names[$"r{n}l"];
        for (int n = 0; n <= 7; n++)
            names[$"db{n}"] = names[$"dr{n}"];
        return names;
    }
}

/// <summary>
/// What an AT&amp;T mnemonic means: the Iced mnemonic and the sizes its suffixes state. INVALID stands for a bare
/// string instruction (movs, stos ...), whose Iced mnemonic its operands decide.
/// </summary>
internal readonly record struct AttMnemonic(Mnemonic Mnemonic, int OperandSize = 0, int SourceSize = 0, bool Far = false, bool Absolute64 = false);

/// <summary>
/// GNU as's AT&amp;T mnemonics: Iced's names, optionally with a size suffix, plus the AT&amp;T-only spellings
/// (cltq, movzbl, ljmp, lret, movabs ...) and the condition-code aliases (jz, setnae, cmovnbe ...).
/// </summary>
internal static class AttMnemonics
{
    static int SuffixSize(char suffix) => suffix switch { 'b' => 1, 'w' => 2, 'l' => 4, 'q' => 8, _ => 0 };

    /// <summary>Names that mean something else than Iced's mnemonic of the same spelling, or no Iced mnemonic at all.</summary>
    static readonly Dictionary<string, AttMnemonic> Special = new()
    {
        ["cbtw"] = new(Mnemonic.Cbw), ["cwtl"] = new(Mnemonic.Cwde), ["cltq"] = new(Mnemonic.Cdqe),
        ["cwtd"] = new(Mnemonic.Cwd), ["cltd"] = new(Mnemonic.Cdq), ["cqto"] = new(Mnemonic.Cqo),
        ["sal"] = new(Mnemonic.Shl),
        // Iced's movq is the MMX/SSE one; in GNU as's integer world it is mov with a q suffix.
        ["movq"] = new(Mnemonic.Mov, 8),
        ["movabs"] = new(Mnemonic.Mov, Absolute64: true),
        ["ljmp"] = new(Mnemonic.Jmp, Far: true), ["lcall"] = new(Mnemonic.Call, Far: true), ["lret"] = new(Mnemonic.Retf, Far: true),
        ["sysretl"] = new(Mnemonic.Sysret, 4), ["sysexitl"] = new(Mnemonic.Sysexit, 4),
        ["iret"] = new(Mnemonic.Iret), ["pushf"] = new(Mnemonic.Pushf), ["popf"] = new(Mnemonic.Popf),
        ["pusha"] = new(Mnemonic.Pusha), ["popa"] = new(Mnemonic.Popa),
        ["movslq"] = new(Mnemonic.Movsxd, 8, 4),
        ["xlat"] = new(Mnemonic.Xlatb),
        ["loopz"] = new(Mnemonic.Loope), ["loopnz"] = new(Mnemonic.Loopne),
        ["movzb"] = new(Mnemonic.Movzx, 0, 1), ["movzw"] = new(Mnemonic.Movzx, 0, 2),
        ["movsbw"] = new(Mnemonic.Movsx, 2, 1), ["movsbl"] = new(Mnemonic.Movsx, 4, 1), ["movsbq"] = new(Mnemonic.Movsx, 8, 1),
        ["movswl"] = new(Mnemonic.Movsx, 4, 2), ["movswq"] = new(Mnemonic.Movsx, 8, 2),
        ["movzbw"] = new(Mnemonic.Movzx, 2, 1), ["movzbl"] = new(Mnemonic.Movzx, 4, 1), ["movzbq"] = new(Mnemonic.Movzx, 8, 1),
        ["movzwl"] = new(Mnemonic.Movzx, 4, 2), ["movzwq"] = new(Mnemonic.Movzx, 8, 2),
        // On movzx and movsx a suffix names the source's size.
        ["movzxb"] = new(Mnemonic.Movzx, 0, 1), ["movzxw"] = new(Mnemonic.Movzx, 0, 2),
        ["movsxb"] = new(Mnemonic.Movsx, 0, 1), ["movsxw"] = new(Mnemonic.Movsx, 0, 2),
    };

    /// <summary>Names that take a size suffix onto a base that is not Iced's: string instructions name the size in Iced.</summary>
    static readonly HashSet<string> SizedBases = ["movs", "cmps", "stos", "lods", "scas", "ins", "outs"];

    /// <summary>Condition-code spellings GNU as accepts beyond Iced's.</summary>
    static readonly Dictionary<string, string> ConditionAliases = new()
    {
        ["z"] = "e", ["nz"] = "ne", ["c"] = "b", ["nae"] = "b", ["nc"] = "ae", ["nb"] = "ae", ["na"] = "be", ["nbe"] = "a",
        ["pe"] = "p", ["po"] = "np", ["nge"] = "l", ["nl"] = "ge", ["ng"] = "le", ["nle"] = "g",
    };

    public static AttMnemonic? Resolve(string name)
    {
        if (SizedBases.Contains(name))
            return new AttMnemonic(Mnemonic.INVALID);
        if (Unsuffixed(name) is { } plain)
            return plain;
        if (name.Length > 2 && SuffixSize(name[^1]) is var size && size != 0 && Unsuffixed(name[..^1]) is { } suffixed)
        {
            if (SizedBases.Contains(name[..^1]))
                return suffixed;
            if (suffixed.OperandSize == 0 && suffixed.SourceSize == 0)
                return suffixed with { OperandSize = size };
        }
        return null;
    }

    static AttMnemonic? Unsuffixed(string name)
    {
        if (Special.TryGetValue(name, out var special))
            return special;
        if (SizedBases.Contains(name[..^1]) && SuffixSize(name[^1]) is var stringSize && stringSize != 0)
            return IcedName(name[..^1] + (stringSize == 4 ? 'd' : name[^1]));
        foreach (string family in (string[])["j", "set", "cmov"])
            if (name.StartsWith(family, StringComparison.Ordinal) && ConditionAliases.TryGetValue(name[family.Length..], out var cc))
                return IcedName(family + cc);
        return IcedName(name);
    }

    static AttMnemonic? IcedName(string name)
        => name.Length > 0 && char.IsAsciiLetter(name[0]) && Enum.TryParse<Mnemonic>(name, ignoreCase: true, out var m) && m != Mnemonic.INVALID
            ? new AttMnemonic(m) : null;
}
