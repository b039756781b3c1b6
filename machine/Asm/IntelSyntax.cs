namespace Repl.Machine.Asm;

// Inside the namespace, so that Register and Mnemonic are Iced's rather than Repl.Machine's.
using Iced.Intel;

/// <summary>
/// GNU as's Intel syntax (.intel_syntax noprefix): bare registers and immediates, "[base + index*scale + disp]"
/// memory in any order (also "disp[base]" and "[a][b]"), "seg:" overrides, "dword ptr" sizes, "offset sym"
/// immediates, and gas's rule that a bare relocatable symbol ("mov eax, sym") is a memory operand. The result
/// is the same <see cref="ParsedInstruction"/> the AT&amp;T parser gives, so one selector encodes both.
/// </summary>
/// <remarks>
/// Conventions the selector relies on: a direct branch target ("jmp label", "call 0x1000") is an Immediate
/// operand; the operand of an indirect jmp/call (register or memory) is marked <see cref="AsmOperand.Indirect"/>;
/// a direct far pointer "jmp sel:off" is two Immediates, selector then offset, with <see cref="ParsedInstruction.Far"/>.
/// String instructions written with operands ("movs byte ptr [rdi], byte ptr [rsi]") get the sized mnemonic
/// (Movsb) and keep their operands, which carry any segment override. A "ptr" size sizes its memory operand
/// (<see cref="AsmOperand.Size"/>), not <see cref="ParsedInstruction.OperandSize"/>, which the selector reads as the
/// operation's size: "movzx eax, byte ptr [rax]" is a 32-bit operation on a byte.
/// </remarks>
internal static class IntelSyntax
{
    /// <summary>
    /// Parses the statement at the cursor (prefixes, mnemonic, operands). Null, with an error and the position it
    /// is about, when the text is not an Intel-syntax instruction.
    /// </summary>
    public static ParsedInstruction? Parse(Cursor statement, IInstructionContext context, out string? error, out int errorPosition)
    {
        var parser = new Parser(statement, context);
        var instruction = parser.Instruction();
        error = parser.Error;
        errorPosition = parser.ErrorPosition;
        return error is null ? instruction : null;
    }

    /// <summary>Bytes named by the "X ptr" operand size keywords.</summary>
    static readonly Dictionary<string, int> PtrSizes = new()
    {
        ["byte"] = 1, ["word"] = 2, ["dword"] = 4, ["fword"] = 6, ["qword"] = 8, ["mmword"] = 8, ["tbyte"] = 10,
        ["oword"] = 16, ["xmmword"] = 16, ["ymmword"] = 32, ["zmmword"] = 64,
    };

    /// <summary>
    /// Register names as GNU as spells them: Iced's names in lower case, except that the low bytes of r8-r15 are
    /// r8b-r15b (Iced says r8l) and the x87 stack is "st" or "st(i)", read separately.
    /// </summary>
    static readonly Dictionary<string, Register> Registers = Enum.GetValues<Register>()
        .Where(r => r != Register.None && !r.ToString().StartsWith("DontUse", StringComparison.Ordinal) && !r.ToString().StartsWith("ST", StringComparison.Ordinal))
        .DistinctBy(r => r.ToString())
        .ToDictionary(r => r is >= Register.R8L and <= Register.R15L ? $"r{r - Register.R8L + 8}b" : r.ToString().ToLowerInvariant());

    /// <summary>String instructions whose size comes from their operands: "movs" becomes Movsb..Movsq.</summary>
    static readonly HashSet<string> StringFamilies = ["movs", "cmps", "scas", "lods", "stos", "ins", "outs"];

    static bool IsBranch(Mnemonic m) => m is Mnemonic.Jmp or Mnemonic.Call or Mnemonic.Loop or Mnemonic.Loope or Mnemonic.Loopne
        or Mnemonic.Jcxz or Mnemonic.Jecxz or Mnemonic.Jrcxz or Mnemonic.Xbegin
        || m.ToString() is ['J', _, ..];

    static bool IsAddressRegister(Register r) => r.IsGPR16() || r.IsGPR32() || r.IsGPR64() || r is Register.RIP or Register.EIP;

    /// <summary>A register term of an address: "rbx", or "rbx*4" (Scaled, even when the factor is 1).</summary>
    readonly record struct RegisterTerm(Register Register, int Scale, bool Scaled, int Position);

    sealed class Parser(Cursor c, IInstructionContext context)
    {
        public string? Error;
        public int ErrorPosition;

        /// <summary>Records the first error; false, so that a failing step can return it.</summary>
        bool Fail(string message, int position)
        {
            if (Error is null)
            {
                Error = message;
                ErrorPosition = position;
            }
            return false;
        }

        T? Fail<T>(string message, int position) where T : class
        {
            Fail(message, position);
            return null;
        }

        public ParsedInstruction? Instruction()
        {
            // Prefix words and mnemonic spellings are GNU as's in both syntaxes, less the AT&T size suffixes that
            // name a source size (movzbl): Intel syntax says that with "byte ptr".
            var prefixes = new List<string>();
            string name;
            int at;
            while (true)
            {
                c.SkipSpace();
                at = c.Position;
                if (c.Identifier() is not { Length: > 0 } word)
                {
                    if (prefixes.Count > 0 && c.AtEnd)
                        return new ParsedInstruction(prefixes, Mnemonic.INVALID, 0, [], at);
                    return Fail<ParsedInstruction>("expected an instruction", at);
                }
                name = word.ToLowerInvariant();
                if (!AttSyntax.PrefixWords.Contains(name))
                    break;
                prefixes.Add(name);
            }

            bool stringFamily = StringFamilies.Contains(name);
            var resolved = stringFamily ? new AttMnemonic(Mnemonic.INVALID) : AttMnemonics.Resolve(name);
            if (resolved is not { SourceSize: 0 } spelling)
                return Fail<ParsedInstruction>($"no such instruction: `{name}'", at);
            var mnemonic = spelling.Mnemonic;
            bool far = spelling.Far;

            var operands = new List<AsmOperand>();
            if (!c.AtEnd)
            {
                do
                {
                    if (!Operand(mnemonic, operands, ref far))
                        return null;
                }
                while (c.Accept(','));
            }
            if (!c.AtEnd)
                return Fail<ParsedInstruction>($"junk `{c.Rest.TrimEnd()}' after expression", c.Position);

            if (stringFamily && (mnemonic = StringMnemonic(name, operands, at)) == Mnemonic.INVALID)
                return null;
            return new ParsedInstruction(prefixes, mnemonic, spelling.OperandSize, operands, at) { Far = far, Absolute64 = spelling.Absolute64 };
        }

        /// <summary>
        /// The sized string mnemonic, from the size of its memory operand or else of its accumulator ("lods eax,
        /// [rsi]"); INVALID, with the error recorded, when neither says.
        /// </summary>
        Mnemonic StringMnemonic(string family, List<AsmOperand> operands, int at)
        {
            int size = operands.Select(o => o.Kind == OperandKind.Memory ? o.Size
                                          : o.Kind == OperandKind.Register && o.Register != Register.DX ? o.Register.GetSize() : 0)
                               .FirstOrDefault(s => s != 0);
            if (size == 0)
                return Invalid($"ambiguous operand size for `{family}'", at);
            string suffix = size switch { 1 => "b", 2 => "w", 4 => "d", _ => "q" };
            return Enum.TryParse(family + suffix, ignoreCase: true, out Mnemonic m) ? m : Invalid($"invalid operand size for `{family}'", at);
        }

        Mnemonic Invalid(string message, int position)
        {
            Fail(message, position);
            return Mnemonic.INVALID;
        }

        /// <summary>Reads one operand (two for a direct far pointer) into <paramref name="operands"/>.</summary>
        bool Operand(Mnemonic mnemonic, List<AsmOperand> operands, ref bool far)
        {
            c.SkipSpace();
            int at = c.Position;
            int size = 0;
            bool offset = false, near = false;
            while (true)
            {
                int save = c.Position;
                string? word = c.Identifier()?.ToLowerInvariant();
                int afterWord = c.Position;
                string? next = word is null ? null : c.Identifier()?.ToLowerInvariant();
                if (word is not null && next == "ptr" && PtrSizes.TryGetValue(word, out int bytes))
                    size = bytes;
                else if (word is "far" or "near" && next == "ptr")
                {
                    far |= word == "far";
                    near = true;
                }
                else if (word is "offset" or "short")
                {
                    c.Position = afterWord;
                    offset |= word == "offset";
                }
                else
                {
                    c.Position = save;
                    break;
                }
            }

            bool branch = IsBranch(mnemonic);
            if (size != 0 && branch && mnemonic is Mnemonic.Jmp or Mnemonic.Call)
                far |= size is 6 or 10 || (size == 4 && context.Bitness != 32);

            var registers = new List<RegisterTerm>();
            var displacement = new List<(Expr Term, bool Negative)>();
            var segment = Register.None;
            bool bracket = false, flat = false;
            Expr? selector = null;
            while (true)
            {
                c.SkipSpace();
                int piece = c.Position;
                // "[rax+8]+[rbx*4]": a '+' joins bracketed parts as it joins terms inside them.
                if (bracket && c.Peek == '+' && c.Text.AsSpan(c.Position + 1).TrimStart().StartsWith("["))
                    c.Position++;
                if (c.Accept('['))
                {
                    if (Expression() is not { } inner || !Decompose(inner, false, registers, displacement))
                        return false;
                    if (!c.Accept(']'))
                        return Fail("missing ']'", c.Position);
                    bracket = true;
                }
                else if (RegisterAt() is { } register)
                {
                    if (register.IsSegmentRegister() && c.Accept(':'))
                    {
                        if (segment != Register.None)
                            return Fail("only one segment override is allowed", piece);
                        segment = register;
                        continue;
                    }
                    // Outside brackets a register is the whole operand, as in gas ("rax+8" is an error; what follows
                    // "ebx ebx" is junk, which the statement's end check reports).
                    c.SkipSpace();
                    if (registers.Count != 0 || displacement.Count != 0 || bracket || segment != Register.None || size != 0 || offset
                        || "+-*/%|&^![<>=".Contains(c.Peek))
                        return Fail("invalid use of register", piece);
                    operands.Add(new AsmOperand(OperandKind.Register, at) { Register = register, Indirect = branch });
                    return true;
                }
                else if (c.Identifier() is { } word && word.Equals("flat", StringComparison.OrdinalIgnoreCase) && c.Accept(':'))
                {
                    // gcc's "OFFSET FLAT:sym" and "DWORD PTR FLAT:sym": the flat address space, no prefix.
                    flat = true;
                    continue;
                }
                else
                {
                    c.Position = piece;
                    if (Expression() is not { } e)
                        return false;
                    if (HasRegister(e))
                        return Fail("invalid use of register", piece);
                    c.SkipSpace();
                    if (c.Peek == ':' && selector is null && segment == Register.None && !flat && !bracket && displacement.Count == 0)
                    {
                        c.Position++;
                        selector = e;
                        continue;
                    }
                    displacement.Add((e, false));
                }
                c.SkipSpace();
                if (c.Peek != '[' && !(bracket && c.Peek is '+' or '-'))
                    break;
            }

            var value = Sum(displacement);
            if (selector is not null)
            {
                if (registers.Count != 0 || value is null)
                    return Fail("invalid far pointer: expected selector:offset", at);
                operands.Add(new AsmOperand(OperandKind.Immediate, at) { Value = selector });
                operands.Add(new AsmOperand(OperandKind.Immediate, at) { Value = value });
                far = true;
                return true;
            }
            if (offset)
            {
                if (registers.Count != 0 || bracket || segment != Register.None || value is null)
                    return Fail("invalid use of `offset': it takes an address, not a memory operand", at);
                operands.Add(new AsmOperand(OperandKind.Immediate, at) { Value = value, Size = size });
                return true;
            }
            if (registers.Count == 0 && !bracket && segment == Register.None && !flat && value is not null)
            {
                // gas: a lone relocatable symbol (plus a constant) is the memory at that address; the target of a
                // jump or call is a branch target, unless a data size says it is a pointer in memory.
                if (!IsRelocatableSymbol(value) || (branch && (size == 0 || near)))
                {
                    operands.Add(new AsmOperand(OperandKind.Immediate, at) { Value = value, Size = size });
                    return true;
                }
            }
            if (value is null && registers.Count == 0)
                return Fail("expected an operand", at);
            return Memory(operands, at, registers, value, segment, size, branch);
        }

        bool Memory(List<AsmOperand> operands, int at, List<RegisterTerm> registers, Expr? value, Register segment, int size, bool branch)
        {
            var base_ = Register.None;
            var index = Register.None;
            int scale = 1;
            foreach (var term in registers)
            {
                if (!IsAddressRegister(term.Register))
                    return Fail($"`{term.Register.ToString().ToLowerInvariant()}' cannot be used in an address", term.Position);
                if (term.Scale is not (1 or 2 or 4 or 8))
                    return Fail($"scale factor of {term.Scale} is not 1, 2, 4 or 8", term.Position);
                if (term.Scaled || base_ != Register.None)
                {
                    if (index != Register.None)
                        return Fail("too many registers in the address", term.Position);
                    // gas keeps rsp/esp, which cannot be an index, as the base: [rax+rsp] is [rsp+rax].
                    if (!term.Scaled && term.Register is Register.RSP or Register.ESP)
                        (base_, index) = (term.Register, base_);
                    else
                        (index, scale) = (term.Register, term.Scale);
                }
                else
                    base_ = term.Register;
            }
            // 16-bit addressing has fixed roles: [si+bx] is [bx+si].
            if (base_ is Register.SI or Register.DI && index is Register.BX or Register.BP && scale == 1)
                (base_, index) = (index, base_);
            operands.Add(new AsmOperand(OperandKind.Memory, at)
            {
                Value = value, Segment = segment, Base = base_, Index = index, Scale = scale, Size = size, Indirect = branch,
            });
            return true;
        }

        /// <summary>
        /// True for gas's O_symbol: one symbol, or '.', plus or minus terms already known to be absolute (an .equ
        /// constant defined above counts as a number; one defined below does not yet, so a lone such name is a
        /// symbol). A difference of symbols, or a symbol under any other operator, is not.
        /// </summary>
        bool IsRelocatableSymbol(Expr value)
        {
            var unknown = new List<(Expr Term, bool Negative)>();
            UnknownTerms(value, false, unknown);
            return unknown is [(SymbolExpr or DotExpr, false)];
        }

        /// <summary>The additive terms of an expression whose values are not absolute numbers yet, with their signs.</summary>
        void UnknownTerms(Expr e, bool negative, List<(Expr, bool)> unknown)
        {
            if (context.EvaluateNow(e).IsAbsolute(out _))
                return;
            switch (e)
            {
                case UnaryExpr { Operator: '+' or '-' } u:
                    UnknownTerms(u.Operand, negative ^ (u.Operator == '-'), unknown);
                    break;
                case BinaryExpr { Operator: BinaryOperator.Add or BinaryOperator.Subtract } b:
                    UnknownTerms(b.Left, negative, unknown);
                    UnknownTerms(b.Right, negative ^ (b.Operator == BinaryOperator.Subtract), unknown);
                    break;
                default:
                    unknown.Add((e, negative));
                    break;
            }
        }

        /// <summary>The register named at the cursor (st(i) included), consuming it; otherwise null, consuming nothing.</summary>
        Register? RegisterAt()
        {
            int save = c.Position;
            string? name = c.Identifier()?.ToLowerInvariant();
            if (name == "st")
            {
                int afterSt = c.Position;
                if (c.Accept('(') && c.Peek is >= '0' and <= '7' && c.PeekAt(1) == ')')
                {
                    var st = Register.ST0 + (c.Peek - '0');
                    c.Position += 2;
                    return st;
                }
                c.Position = afterSt;
                return Register.ST0;
            }
            if (name is not null && Registers.TryGetValue(name, out var register))
                return register;
            c.Position = save;
            return null;
        }

        Expr? Expression()
        {
            var e = Expressions.Parse(c, context, out string? error, out int position);
            return error is null ? e : Fail<Expr>(error, position);
        }

        bool IsRegister(Expr e, out Register register)
        {
            register = Register.None;
            return e is SymbolExpr s && Registers.TryGetValue(s.Name.ToLowerInvariant(), out register);
        }

        bool HasRegister(Expr e) => e switch
        {
            SymbolExpr => IsRegister(e, out _),
            UnaryExpr u => HasRegister(u.Operand),
            BinaryExpr b => HasRegister(b.Left) || HasRegister(b.Right),
            _ => false,
        };

        /// <summary>
        /// Splits an address expression into its register terms (reg, reg*scale, scale*reg) and the rest, the
        /// displacement terms with their signs. Registers anywhere else ("-rax", "rax&amp;1") are errors.
        /// </summary>
        bool Decompose(Expr e, bool negative, List<RegisterTerm> registers, List<(Expr, bool)> displacement)
        {
            if (!HasRegister(e))
            {
                displacement.Add((e, negative));
                return true;
            }
            switch (e)
            {
                case SymbolExpr when IsRegister(e, out var register) && !negative:
                    registers.Add(new RegisterTerm(register, 1, false, e.Position));
                    return true;
                case UnaryExpr { Operator: '+' } u:
                    return Decompose(u.Operand, negative, registers, displacement);
                case BinaryExpr { Operator: BinaryOperator.Add } b:
                    return Decompose(b.Left, negative, registers, displacement) && Decompose(b.Right, negative, registers, displacement);
                case BinaryExpr { Operator: BinaryOperator.Subtract } b:
                    return Decompose(b.Left, negative, registers, displacement) && Decompose(b.Right, !negative, registers, displacement);
                case BinaryExpr { Operator: BinaryOperator.Multiply } b when !negative:
                {
                    bool registerLeft = IsRegister(b.Left, out var left);
                    bool registerRight = IsRegister(b.Right, out var right);
                    var factor = registerLeft ? b.Right : b.Left;
                    if ((registerLeft == registerRight) || HasRegister(factor))
                        break;
                    if (!context.EvaluateNow(factor).IsAbsolute(out long scale))
                        return Fail("the scale factor must be an absolute constant", factor.Position);
                    registers.Add(new RegisterTerm(registerLeft ? left : right, (int)Math.Clamp(scale, int.MinValue, int.MaxValue), true, Start(e)));
                    return true;
                }
            }
            return Fail("invalid use of register", Start(e));
        }

        /// <summary>Where an expression's text begins (a binary node's own position is its operator's).</summary>
        static int Start(Expr e) => e is BinaryExpr b ? Start(b.Left) : e.Position;

        /// <summary>The displacement terms added back together in source order; null when there are none.</summary>
        static Expr? Sum(List<(Expr Term, bool Negative)> terms)
        {
            Expr? sum = null;
            foreach (var (term, negative) in terms)
                sum = sum is null
                    ? negative ? new UnaryExpr(term.Position, '-', term) : term
                    : new BinaryExpr(term.Position, negative ? BinaryOperator.Subtract : BinaryOperator.Add, sum, term);
            return sum;
        }
    }
}
