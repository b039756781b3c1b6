namespace Repl.Machine.Asm;

// Inside the namespace, so that Register, Code and friends are Iced's rather than Repl.Machine's.
using Iced.Intel;

/// <summary>
/// Chooses, for a parsed instruction, the encoding GNU as 2.40 (without -O) emits: among Iced's forms of the
/// mnemonic that the operands fit, the shortest; on a tie the first in opcode order, which puts the destination
/// in ModRM.rm for register pairs (89 rather than 8b). Immediates and displacements get their short fields only
/// when their value is already known to be absolute; anything else gets the full-size field, fixed after layout.
/// </summary>
internal static class InstructionSelector
{
    const string CannotSize = "no instruction mnemonic suffix given and no register operands; can't size instruction";

    public static EncodedInstruction? Select(ParsedInstruction parsed, IInstructionContext context, out string? error, out int errorPosition)
    {
        error = null;
        errorPosition = parsed.Position;
        if (parsed.Prefixes.GroupBy(PrefixGroup).Any(g => g.Count() > 1))
        {
            error = "same type of prefix used twice";
            return null;
        }
        byte[] rawPrefixes = parsed.Prefixes.Select(RawPrefix).Where(b => b != 0).ToArray();
        if (parsed.Mnemonic == Mnemonic.INVALID)
            return EncodedInstruction.PrefixesOnly(parsed.Prefixes.Select(PrefixByte).ToArray());

        var operands = new List<Bound>();
        foreach (var operand in parsed.Operands)
        {
            var bound = Evaluate(operand, context, out error, out errorPosition);
            if (bound is null)
                return null;
            operands.Add(bound);
        }
        // From here on, errors are about the instruction as a whole.
        errorPosition = parsed.Position;
        // GNU as reads "imul $3,%eax" as "imul $3,%eax,%eax".
        if (parsed.Mnemonic == Mnemonic.Imul && operands.Count == 2 && operands[1].Operand.Kind == OperandKind.Immediate)
            operands.Insert(1, operands[0]);

        // aam and aad without an operand divide and multiply by ten.
        if (parsed.Mnemonic is Mnemonic.Aam or Mnemonic.Aad && operands.Count == 0)
            operands.Add(new Bound(new AsmOperand(OperandKind.Immediate, parsed.Position) { Value = new ConstantExpr(parsed.Position, 10) }, true, 10));

        var request = new Request(parsed, context.Bitness, operands);
        var fits = new List<Candidate>();
        foreach (var code in CodesOf(parsed.Mnemonic))
        {
            var info = code.ToOpCode();
            if (!info.IsAvailableInMode(context.Bitness))
                continue;
            if (request.Bind(info, operands) is { } fit)
                fits.Add(fit);
            else if (Commutative(parsed.Mnemonic) && operands.Count == 2 && request.Bind(info, [operands[1], operands[0]]) is { } swapped)
                fits.Add(swapped with { Swapped = true });
        }
        if (fits.Count == 0)
        {
            error = CodesOf(parsed.Mnemonic).Any(c => c.ToOpCode().IsAvailableInMode(context.Bitness))
                ? $"operand type mismatch for `{parsed.Mnemonic.ToString().ToLowerInvariant()}'"
                : $"`{parsed.Mnemonic.ToString().ToLowerInvariant()}' is not supported in {context.Bitness}-bit mode";
            return null;
        }
        // data16 (data32 in 16-bit code) sizes an instruction its operands leave open: data16 push $imm pushes a word.
        if (parsed.OperandSize == 0 && parsed.Prefixes.Contains(context.Bitness == 16 ? "data32" : "data16")
            && fits.Where(f => f.Width == (context.Bitness == 16 ? 4 : 2)).ToList() is { Count: > 0 } prefixed)
            fits = prefixed;

        if (!Unambiguous(request, ref fits))
        {
            error = CannotSize;
            return null;
        }

        // Only a read-modify-write of memory may be locked.
        if (parsed.Prefixes.Contains("lock"))
            fits.RemoveAll(f => !f.Info.CanUseLockPrefix || f.Slots.Length == 0 || f.Slots[0].Operand?.Operand.Kind != OperandKind.Memory);
        if (fits.Count == 0)
        {
            error = "expecting lockable instruction after `lock'";
            return null;
        }

        EncodedInstruction? best = null;
        string? lastError = null;
        // On a tie GNU as prefers the sign-extended imm8 form to the accumulator one (66 83 c0 01, not 66 05 01 00).
        foreach (var fit in fits.OrderBy(f => f.Swapped).ThenBy(f => !f.HasShortImmediate))
        {
            var built = fit.Build(request, rawPrefixes, out lastError);
            if (built is not null && (best is null || built.Length < best.Length))
                best = built;
        }
        if (best is null)
            error = lastError ?? "invalid operands";
        return best;
    }

    /// <summary>GNU as writes data16/addr32 and rex.w as bytes of their own; the other prefixes are Iced flags.</summary>
    static byte RawPrefix(string prefix) => prefix switch
    {
        "data16" or "data32" => 0x66,
        "addr16" or "addr32" => 0x67,
        // notrack is a DS override on an indirect branch, for CET.
        "notrack" => 0x3e,
        // rex.w sets REX.W in whatever form is chosen: rex.w ljmp *mem is the m16:64 far pointer.
        "rex64" or "rex.w" => 0x48,
        _ => 0,
    };

    /// <summary>The byte of a prefix written on a line of its own.</summary>
    static byte PrefixByte(string prefix) => prefix switch
    {
        "rep" or "repe" or "repz" or "xrelease" => 0xf3,
        "repne" or "repnz" or "xacquire" or "bnd" => 0xf2,
        "lock" => 0xf0,
        "cs" => 0x2e, "ds" => 0x3e, "es" => 0x26, "fs" => 0x64, "gs" => 0x65, "ss" => 0x36,
        _ => RawPrefix(prefix),
    };

    /// <summary>The prefix groups of the manual: lock and repeat, segment, operand size, address size.</summary>
    static int PrefixGroup(string prefix) => PrefixByte(prefix) switch
    {
        0xf0 => 0,
        0xf2 or 0xf3 => 1,
        0x48 => 5,
        0x66 => 3,
        0x67 => 4,
        _ => 2,
    };

    static bool Commutative(Mnemonic m) => m is Mnemonic.Xchg or Mnemonic.Test;

    /// <summary>
    /// When no suffix, register or stated size fixes the operand size, GNU as refuses to guess for memory operands,
    /// except for stack and branch instructions, which take the mode's natural size; instructions without memory
    /// operands (iret, lret, push $1) take the natural size too.
    /// </summary>
    static bool Unambiguous(Request request, ref List<Candidate> fits)
    {
        var memory = request.Operands.FindIndex(o => o.Operand.Kind == OperandKind.Memory);
        bool differs = memory >= 0
            ? fits.Select(f => f.Info.MemorySize).Distinct().Count() > 1
            : fits.Select(f => f.Width).Distinct().Count() > 1;
        if (!differs)
            return true;
        bool stackOrBranch = fits.All(f => f.Info.IsStackInstruction || f.Info.Mnemonic is Mnemonic.Jmp or Mnemonic.Call);
        if (memory >= 0 && !stackOrBranch)
            return false;
        int natural = request.NaturalWidth(fits.Any(f => f.Info.DefaultOpSize64 && !Request.IsFar(f.Info)));
        var chosen = fits.Where(f => f.Width == natural || f.Width == 0).ToList();
        if (chosen.Count == 0)
            return memory < 0;
        fits = chosen;
        return true;
    }

    static readonly Dictionary<Mnemonic, Code[]> CodesByMnemonic = Enum.GetValues<Code>()
        .Where(c => c.ToOpCode() is { IsInstruction: true, Encoding: EncodingKind.Legacy or EncodingKind.VEX } info
                    // Forms only special decoder options reach (486 A-step cmpxchg, Knights Corner ...) are no one's choice.
                    && info.DecoderOption == DecoderOptions.None
                    // GNU as refuses bswap of a 16-bit register, whose result is undefined.
                    && c != Code.Bswap_r16
                    && Enumerable.Range(0, info.OpCount).All(i => Supported(info.GetOpKind(i))))
        .GroupBy(c => c.Mnemonic())
        .ToDictionary(g => g.Key, g => g.ToArray());

    /// <summary>The operand kinds of the general-purpose and system instructions the machine implements.</summary>
    static bool Supported(OpCodeOperandKind kind) => kind switch
    {
        OpCodeOperandKind.mm_reg or OpCodeOperandKind.mm_rm or OpCodeOperandKind.mm_or_mem
            or >= OpCodeOperandKind.xmm_reg and <= OpCodeOperandKind.zmmp3_vvvv
            or OpCodeOperandKind.k_reg or OpCodeOperandKind.kp1_reg or OpCodeOperandKind.k_rm or OpCodeOperandKind.k_vvvv or OpCodeOperandKind.k_or_mem
            or OpCodeOperandKind.xmm_or_mem or OpCodeOperandKind.ymm_or_mem or OpCodeOperandKind.zmm_or_mem
            or OpCodeOperandKind.st0 or OpCodeOperandKind.sti_opcode or OpCodeOperandKind.bnd_reg or OpCodeOperandKind.bnd_or_mem_mpx
            or OpCodeOperandKind.tmm_reg or OpCodeOperandKind.tmm_rm or OpCodeOperandKind.tmm_vvvv
            or OpCodeOperandKind.mem_mpx or OpCodeOperandKind.mem_mib or OpCodeOperandKind.sibmem
            or >= OpCodeOperandKind.mem_vsib32x and <= OpCodeOperandKind.mem_vsib64z => false,
        _ => true,
    };

    internal static IEnumerable<Code> CodesOfMnemonic(Mnemonic m) => CodesByMnemonic.TryGetValue(m, out var codes) ? codes : [];

    /// <summary>The forms of a mnemonic; a bare pushf, popf, pusha, popa or iret stands for every operand size.</summary>
    static IEnumerable<Code> CodesOf(Mnemonic m)
    {
        Mnemonic[] family = m switch
        {
            Mnemonic.Pushf => [Mnemonic.Pushf, Mnemonic.Pushfd, Mnemonic.Pushfq],
            Mnemonic.Popf => [Mnemonic.Popf, Mnemonic.Popfd, Mnemonic.Popfq],
            Mnemonic.Pusha => [Mnemonic.Pusha, Mnemonic.Pushad],
            Mnemonic.Popa => [Mnemonic.Popa, Mnemonic.Popad],
            Mnemonic.Iret => [Mnemonic.Iret, Mnemonic.Iretd, Mnemonic.Iretq],
            _ => [m],
        };
        return family.SelectMany(CodesOfMnemonic);
    }

    /// <summary>Reads what can be known of an operand's expression now.</summary>
    static Bound? Evaluate(AsmOperand operand, IInstructionContext context, out string? error, out int errorPosition)
    {
        error = null;
        errorPosition = operand.Position;
        if (operand.Value is null)
            return new Bound(operand, true, 0);
        var now = context.EvaluateNow(operand.Value);
        if (now.Error is not null)
        {
            error = now.Error;
            errorPosition = now.ErrorPosition;
            return null;
        }
        return now.IsAbsolute(out long value) ? new Bound(operand, true, value) : new Bound(operand, false, 0);
    }
}

/// <summary>An operand with its value if that is already an absolute number.</summary>
internal sealed record Bound(AsmOperand Operand, bool Absolute, long Value);

/// <summary>The instruction being matched against Iced's forms.</summary>
internal sealed record Request(ParsedInstruction Parsed, int Bitness, List<Bound> Operands)
{
    /// <summary>The address size of a moffs form or an address without registers: the mode's, or the other one an addr32/addr16 prefix asks for.</summary>
    public int MoffsBits => Bitness switch
    {
        64 or 16 when Parsed.Prefixes.Contains("addr32") => 32,
        32 when Parsed.Prefixes.Contains("addr16") => 16,
        _ => Bitness,
    };

    /// <summary>The operand size without a 66 or REX.W prefix: 64 for near branches and the stack in 64-bit code.</summary>
    public int NaturalWidth(bool defaultOpSize64) => Bitness == 64 && defaultOpSize64 ? 8 : Bitness == 16 ? 2 : 4;

    public static bool IsFar(OpCodeInfo info)
        => info.MemorySize is MemorySize.SegPtr16 or MemorySize.SegPtr32 or MemorySize.SegPtr64
           || (info.OpCount > 0 && info.GetOpKind(0) is OpCodeOperandKind.farbr2_2 or OpCodeOperandKind.farbr4_2);

    static bool IsBranch(OpCodeOperandKind k) => k is OpCodeOperandKind.br16_1 or OpCodeOperandKind.br32_1 or OpCodeOperandKind.br64_1
        or OpCodeOperandKind.br16_2 or OpCodeOperandKind.br32_4 or OpCodeOperandKind.br64_4;

    static bool IsImplicit(OpCodeOperandKind k) => k is OpCodeOperandKind.seg_rSI or OpCodeOperandKind.es_rDI or OpCodeOperandKind.seg_rDI
        or OpCodeOperandKind.seg_rBX_al;

    static Register FixedRegister(OpCodeOperandKind k) => k switch
    {
        OpCodeOperandKind.al => Register.AL, OpCodeOperandKind.cl => Register.CL, OpCodeOperandKind.ax => Register.AX,
        OpCodeOperandKind.dx => Register.DX, OpCodeOperandKind.eax => Register.EAX, OpCodeOperandKind.rax => Register.RAX,
        OpCodeOperandKind.es => Register.ES, OpCodeOperandKind.cs => Register.CS, OpCodeOperandKind.ss => Register.SS,
        OpCodeOperandKind.ds => Register.DS, OpCodeOperandKind.fs => Register.FS, OpCodeOperandKind.gs => Register.GS,
        _ => Register.None,
    };

    /// <summary>Operand width in bytes a form has (0 for forms without one, such as lgdt or int).</summary>
    public static int WidthOf(OpCodeInfo info)
    {
        if (info.OperandSize != 0)
            return info.OperandSize / 8;
        for (int i = 0; i < info.OpCount; i++)
            if (info.GetOpKind(i) is OpCodeOperandKind.r8_or_mem or OpCodeOperandKind.r8_reg or OpCodeOperandKind.r8_opcode or OpCodeOperandKind.al)
                return 1;
        return info.MemorySize == MemorySize.UInt8 ? 1 : 0;
    }

    /// <summary>Matches the operands to a form, or null when they do not fit it.</summary>
    public Candidate? Bind(OpCodeInfo info, List<Bound> operands)
    {
        var p = Parsed;
        bool far = IsFar(info);
        if (info.Mnemonic is Mnemonic.Jmp or Mnemonic.Call && far != p.Far)
            return null;
        int width = WidthOf(info);
        // A suffix on an instruction whose operand is a 16-bit selector (mov to or from a segment register, verr,
        // lldt, str ...) names that operand; only a register operand decides the form.
        bool selector = info.Mnemonic is Mnemonic.Verr or Mnemonic.Verw or Mnemonic.Lldt or Mnemonic.Ltr or Mnemonic.Lmsw
                            or Mnemonic.Sldt or Mnemonic.Str or Mnemonic.Smsw
                        || Enumerable.Range(0, info.OpCount).Any(i => info.GetOpKind(i) == OpCodeOperandKind.seg_reg);
        if (p.OperandSize != 0 && width != 0 && width != p.OperandSize && !selector)
            return null;
        // A near branch to a label takes the mode's own size; jmpw and friends are not GNU as's choice.
        if (info.OpCount > 0 && IsBranch(info.GetOpKind(0)) && width != NaturalWidth(info.DefaultOpSize64))
            return null;
        // GNU as writes movsxd into a 16-bit register from memory only, and sysexit in 16-bit code without a suffix.
        if ((info.Code == Code.Movsxd_r16_rm16 && operands.Count == 2 && operands[1].Operand.Kind == OperandKind.Register)
            || (info.Mnemonic == Mnemonic.Sysexit && Bitness == 16 && p.OperandSize != 0))
            return null;
        // xchg %eax,%eax is not nop in 64-bit code, where 90 would leave the upper half of rax alone.
        if (info.Code == Code.Xchg_r32_EAX && Bitness == 64 && operands.Count == 2
            && operands.All(o => o.Operand.Kind == OperandKind.Register && o.Operand.Register == Register.EAX))
            return null;

        var slots = new Binding[info.OpCount];
        int next = 0;
        bool stringForm = Enumerable.Range(0, info.OpCount).Any(i => IsImplicit(info.GetOpKind(i)));
        bool implicitAll = operands.Count == 0 && stringForm;
        // "lods (%rsi)" names the string operand but leaves the accumulator implied.
        bool impliedAccumulator = stringForm && operands.Count < info.OpCount;
        for (int i = 0; i < info.OpCount; i++)
        {
            var kind = info.GetOpKind(i);
            if (implicitAll || (impliedAccumulator && FixedRegister(kind) != Register.None))
            {
                slots[i] = new Binding(kind, null, FixedRegister(kind));
                continue;
            }
            if (kind == OpCodeOperandKind.imm8_const_1 && next == operands.Count)
            {
                slots[i] = new Binding(kind, null, Register.None);
                continue;
            }
            if (kind is OpCodeOperandKind.farbr2_2 or OpCodeOperandKind.farbr4_2)
            {
                if (operands.Count != 2 || operands.Any(o => o.Operand.Kind != OperandKind.Immediate))
                    return null;
                slots[i] = new Binding(kind, operands[1], Register.None, operands[0]);
                next = 2;
                continue;
            }
            if (next >= operands.Count)
                return null;
            var o = operands[next++];
            var fit = Fit(info, i, kind, o);
            if (fit is null)
                return null;
            slots[i] = fit;
        }
        if (next != operands.Count)
            return null;
        return new Candidate(info, width, slots);
    }

    Binding? Fit(OpCodeInfo info, int slot, OpCodeOperandKind kind, Bound b)
    {
        var o = b.Operand;
        bool branchMnemonic = info.Mnemonic is Mnemonic.Jmp or Mnemonic.Call;
        switch (o.Kind)
        {
            case OperandKind.Register:
                return FitRegister(info, slot, kind, o.Register) is var r && r != Register.None ? new Binding(kind, b, r) : null;
            case OperandKind.Immediate:
                if (o.Indirect)
                    return null;
                if (IsBranch(kind))
                    return BranchFits(info, kind, b) ? new Binding(kind, b, Register.None) : null;
                return FitImmediate(kind, b) ? new Binding(kind, b, Register.None) : null;
            default:
                bool direct = !o.Indirect && o.Base == Register.None && o.Index == Register.None && o.Segment == Register.None;
                // in and out also accept the port register written as (%dx).
                if (kind == OpCodeOperandKind.dx && o.Base == Register.DX && o.Index == Register.None && o.Value is null)
                    return new Binding(kind, b, Register.DX);
                if (IsBranch(kind))
                    return direct && BranchFits(info, kind, b) ? new Binding(kind, b, Register.None) : null;
                if (branchMnemonic && direct)
                    return null;
                if (o.Size != 0 && info.MemorySize.GetSize() != o.Size && info.MemorySize != MemorySize.Unknown)
                    return null;
                return kind switch
                {
                    // In 64-bit code the moffs forms are movabs's, or GNU as's way to reach an address that a
                    // sign-extended disp32 cannot.
                    OpCodeOperandKind.mem_offs => o.Base == Register.None && o.Index == Register.None
                                                  && (MoffsBits != 64 || Parsed.Absolute64 || BeyondDisp32(o, b))
                        ? new Binding(kind, b, Register.None) : null,
                    OpCodeOperandKind.r8_or_mem or OpCodeOperandKind.r16_or_mem or OpCodeOperandKind.r32_or_mem or OpCodeOperandKind.r64_or_mem
                        or OpCodeOperandKind.mem when !Parsed.Absolute64 && !BeyondDisp32(o, b) => new Binding(kind, b, Register.None),
                    OpCodeOperandKind.seg_rSI or OpCodeOperandKind.seg_rDI => IsStringPointer(o, Register.SI, Register.ESI, Register.RSI) ? new Binding(kind, b, Register.None) : null,
                    OpCodeOperandKind.es_rDI => IsStringPointer(o, Register.DI, Register.EDI, Register.RDI) && o.Segment is Register.None or Register.ES
                        ? new Binding(kind, b, Register.None) : null,
                    OpCodeOperandKind.seg_rBX_al => o.Base is Register.BX or Register.EBX or Register.RBX && o.Value is null ? new Binding(kind, b, Register.None) : null,
                    _ => null,
                };
        }
    }

    /// <summary>
    /// A jmp or jcc to a target already absolute (jmp 0x1000) is near at once, as GNU as emits it with a relocation;
    /// only a label's distance is worth relaxing. loop and jecxz, which have no near form, stay short.
    /// </summary>
    bool BranchFits(OpCodeInfo info, OpCodeOperandKind kind, Bound b)
        => !(IsShortBranch(kind) && b.Absolute && NearForm(info, Bitness) != Code.INVALID);

    public static bool IsShortBranch(OpCodeOperandKind k) => k is OpCodeOperandKind.br16_1 or OpCodeOperandKind.br32_1 or OpCodeOperandKind.br64_1;

    /// <summary>The rel16/rel32 form of a short branch, or INVALID for loop, jecxz and friends.</summary>
    public static Code NearForm(OpCodeInfo shortForm, int bitness)
        => InstructionSelector.CodesOfMnemonic(shortForm.Mnemonic).FirstOrDefault(c => c.ToOpCode() is var near && near.IsAvailableInMode(bitness)
               && near.OpCount == 1 && near.GetOpKind(0) is OpCodeOperandKind.br16_2 or OpCodeOperandKind.br32_4 or OpCodeOperandKind.br64_4
               && near.OperandSize == shortForm.OperandSize, Code.INVALID);

    /// <summary>A 64-bit address with neither base nor index that a sign-extended disp32 cannot reach.</summary>
    bool BeyondDisp32(AsmOperand o, Bound b)
        => MoffsBits == 64 && o.Base == Register.None && o.Index == Register.None && b.Absolute && b.Value is < int.MinValue or > int.MaxValue;

    static bool IsStringPointer(AsmOperand o, Register r16, Register r32, Register r64)
        => o.Index == Register.None && (o.Base == r16 || o.Base == r32 || o.Base == r64) && o.Value is null;

    /// <summary>The register to encode for a register operand in this slot, or None when it does not fit.</summary>
    static Register FitRegister(OpCodeInfo info, int slot, OpCodeOperandKind kind, Register r)
    {
        if (FixedRegister(kind) is var fixedRegister && fixedRegister != Register.None)
            return r == fixedRegister ? r : Register.None;
        int size = kind switch
        {
            OpCodeOperandKind.r8_or_mem or OpCodeOperandKind.r8_reg or OpCodeOperandKind.r8_opcode => 1,
            OpCodeOperandKind.r16_or_mem or OpCodeOperandKind.r16_reg or OpCodeOperandKind.r16_reg_mem or OpCodeOperandKind.r16_rm or OpCodeOperandKind.r16_opcode => 2,
            OpCodeOperandKind.r32_or_mem or OpCodeOperandKind.r32_reg or OpCodeOperandKind.r32_reg_mem or OpCodeOperandKind.r32_rm or OpCodeOperandKind.r32_opcode or OpCodeOperandKind.r32_vvvv => 4,
            OpCodeOperandKind.r64_or_mem or OpCodeOperandKind.r64_reg or OpCodeOperandKind.r64_reg_mem or OpCodeOperandKind.r64_rm or OpCodeOperandKind.r64_opcode or OpCodeOperandKind.r64_vvvv => 8,
            _ => 0,
        };
        if (size != 0)
        {
            if (!r.IsGPR())
                return Register.None;
            if (r.GetSize() == size)
                return r;
            return SelectorRegister(info, slot, kind, r, size) ? Resize(r, size) : Register.None;
        }
        return kind switch
        {
            OpCodeOperandKind.seg_reg => r.IsSegmentRegister() ? r : Register.None,
            OpCodeOperandKind.cr_reg => r.IsCR() ? r : Register.None,
            OpCodeOperandKind.dr_reg => r.IsDR() ? r : Register.None,
            OpCodeOperandKind.tr_reg => r.IsTR() ? r : Register.None,
            _ => Register.None,
        };
    }

    /// <summary>
    /// Where GNU as takes a general register of another size than the form's: a 16-bit selector read from any
    /// general register (mov to a segment register, lar, lsl, lldt, ltr, lmsw, verr, verw) is encoded without a size prefix; mov from a segment
    /// register, str and sldt into a 64-bit register drop REX.W; arpl's registers are 16-bit without a 66 prefix.
    /// </summary>
    static bool SelectorRegister(OpCodeInfo info, int slot, OpCodeOperandKind kind, Register r, int size)
    {
        if (info.Mnemonic == Mnemonic.Arpl)
            return r.GetSize() == 2 && size == 4;
        if (info.MemorySize != MemorySize.UInt16 || kind is not (OpCodeOperandKind.r32_or_mem or OpCodeOperandKind.r64_or_mem))
            return false;
        if (slot > 0 || info.Mnemonic is Mnemonic.Lldt or Mnemonic.Ltr or Mnemonic.Lmsw or Mnemonic.Verr or Mnemonic.Verw)
            return r.GetSize() >= 2;
        return r.GetSize() == 8 && size == 4 && info.Mnemonic is Mnemonic.Mov or Mnemonic.Str or Mnemonic.Sldt;
    }

    static Register Resize(Register r, int size)
    {
        int number = r.GetFullRegister() - Register.RAX;
        return size switch
        {
            2 => Register.AX + number,
            4 => Register.EAX + number,
            _ => Register.RAX + number,
        };
    }

    /// <summary>
    /// Whether an immediate fits the field: a short sign-extended field only for a value known now that fits once
    /// truncated to the operand size; 32-bit sign-extended in 64-bit operations only for values that fit it.
    /// Other fields take anything (GNU as truncates known values, with a warning).
    /// </summary>
    bool FitImmediate(OpCodeOperandKind kind, Bound b)
    {
        long v = b.Value;
        // movabs: the 64-bit immediate, whatever the value.
        if (Parsed.Absolute64 && kind != OpCodeOperandKind.imm64)
            return false;
        return kind switch
        {
            OpCodeOperandKind.imm8_const_1 => b.Absolute && v == 1,
            OpCodeOperandKind.imm8sex16 => b.Absolute && FitsSigned8(v, 16),
            OpCodeOperandKind.imm8sex32 => b.Absolute && FitsSigned8(v, 32),
            OpCodeOperandKind.imm8sex64 => b.Absolute && v is >= sbyte.MinValue and <= sbyte.MaxValue,
            OpCodeOperandKind.imm32sex64 => !b.Absolute || v is >= int.MinValue and <= int.MaxValue,
            OpCodeOperandKind.imm8 or OpCodeOperandKind.imm16 or OpCodeOperandKind.imm32 or OpCodeOperandKind.imm64 => true,
            _ => false,
        };
    }

    /// <summary>
    /// GNU as sign-reduces a 16- or 32-bit immediate only when nothing is set above the operand size, so 0xff80
    /// fits a 16-bit operation's imm8 and 0x7fffffff does not.
    /// </summary>
    static bool FitsSigned8(long v, int bits)
    {
        long mask = (1L << bits) - 1;
        long reduced = (v & ~mask) == 0 ? ((v & mask) ^ (1L << (bits - 1))) - (1L << (bits - 1)) : v;
        return reduced is >= sbyte.MinValue and <= sbyte.MaxValue;
    }
}

/// <summary>One operand slot of a form: its kind, the operand written for it (null when implicit), the register to encode.</summary>
internal sealed record Binding(OpCodeOperandKind Kind, Bound? Operand, Register Register, Bound? Selector = null);

/// <summary>A form the operands fit.</summary>
internal sealed record Candidate(OpCodeInfo Info, int Width, Binding[] Slots)
{
    public bool Swapped { get; init; }

    public bool HasShortImmediate => Slots.Any(s => s.Kind is OpCodeOperandKind.imm8sex16 or OpCodeOperandKind.imm8sex32 or OpCodeOperandKind.imm8sex64);

    /// <summary>The instruction in this form, with its values as known now, or null with Iced's complaint.</summary>
    public EncodedInstruction? Build(Request request, byte[] rawPrefixes, out string? error)
    {
        var instruction = new Instruction { Code = Info.Code };
        var fields = new List<Field>();
        int bitness = request.Bitness;
        for (int i = 0; i < Slots.Length; i++)
        {
            var slot = Slots[i];
            var operand = slot.Operand;
            switch (slot.Kind)
            {
                case OpCodeOperandKind.imm8_const_1:
                    instruction.SetOpKind(i, OpKind.Immediate8);
                    instruction.Immediate8 = 1;
                    break;
                case OpCodeOperandKind.imm8 or OpCodeOperandKind.imm16 or OpCodeOperandKind.imm32 or OpCodeOperandKind.imm64
                    or OpCodeOperandKind.imm8sex16 or OpCodeOperandKind.imm8sex32 or OpCodeOperandKind.imm8sex64 or OpCodeOperandKind.imm32sex64:
                {
                    var kind = ImmediateKind(slot.Kind, i > 0 && Slots[i - 1].Kind is OpCodeOperandKind.imm16 or OpCodeOperandKind.imm8);
                    instruction.SetOpKind(i, kind);
                    var field = new Field(FieldKind.Immediate, operand!, i, kind);
                    field.Apply(ref instruction, operand!.Value, 0);
                    fields.Add(field);
                    break;
                }
                case OpCodeOperandKind.br16_1 or OpCodeOperandKind.br16_2 or OpCodeOperandKind.br32_1 or OpCodeOperandKind.br32_4
                    or OpCodeOperandKind.br64_1 or OpCodeOperandKind.br64_4:
                {
                    var kind = slot.Kind switch
                    {
                        OpCodeOperandKind.br16_1 or OpCodeOperandKind.br16_2 => OpKind.NearBranch16,
                        OpCodeOperandKind.br32_1 or OpCodeOperandKind.br32_4 => OpKind.NearBranch32,
                        _ => OpKind.NearBranch64,
                    };
                    instruction.SetOpKind(i, kind);
                    fields.Add(new Field(FieldKind.Branch, operand!, i, kind));
                    break;
                }
                case OpCodeOperandKind.farbr2_2 or OpCodeOperandKind.farbr4_2:
                {
                    var kind = slot.Kind == OpCodeOperandKind.farbr2_2 ? OpKind.FarBranch16 : OpKind.FarBranch32;
                    instruction.SetOpKind(i, kind);
                    var offset = new Field(FieldKind.FarOffset, operand!, i, kind);
                    var selector = new Field(FieldKind.FarSelector, slot.Selector!, i, kind);
                    offset.Apply(ref instruction, operand!.Value, 0);
                    selector.Apply(ref instruction, slot.Selector!.Value, 0);
                    fields.Add(offset);
                    fields.Add(selector);
                    break;
                }
                case OpCodeOperandKind.seg_rSI or OpCodeOperandKind.es_rDI or OpCodeOperandKind.seg_rDI:
                {
                    int addressSize = operand is null ? bitness : AddressBits(operand.Operand, bitness);
                    instruction.SetOpKind(i, (slot.Kind, addressSize) switch
                    {
                        (OpCodeOperandKind.seg_rSI, 64) => OpKind.MemorySegRSI,
                        (OpCodeOperandKind.seg_rSI, 32) => OpKind.MemorySegESI,
                        (OpCodeOperandKind.seg_rSI, _) => OpKind.MemorySegSI,
                        (OpCodeOperandKind.seg_rDI, 64) => OpKind.MemorySegRDI,
                        (OpCodeOperandKind.seg_rDI, 32) => OpKind.MemorySegEDI,
                        (OpCodeOperandKind.seg_rDI, _) => OpKind.MemorySegDI,
                        (_, 64) => OpKind.MemoryESRDI,
                        (_, 32) => OpKind.MemoryESEDI,
                        _ => OpKind.MemoryESDI,
                    });
                    if (operand?.Operand.Segment is { } segment && segment is not (Register.None or Register.DS) && slot.Kind != OpCodeOperandKind.es_rDI)
                        instruction.SegmentPrefix = segment;
                    break;
                }
                case OpCodeOperandKind.seg_rBX_al:
                {
                    int addressSize = operand is null ? bitness : AddressBits(operand.Operand, bitness);
                    instruction.SetOpKind(i, OpKind.Memory);
                    instruction.MemoryBase = addressSize switch { 64 => Register.RBX, 32 => Register.EBX, _ => Register.BX };
                    instruction.MemoryIndex = Register.AL;
                    instruction.MemoryIndexScale = 1;
                    if (operand?.Operand.Segment is { } segment && segment != Register.None)
                        instruction.SegmentPrefix = segment;
                    break;
                }
                case OpCodeOperandKind.mem_offs:
                {
                    int offsetBytes = request.MoffsBits / 8;
                    instruction.SetOpKind(i, OpKind.Memory);
                    instruction.MemoryDisplSize = offsetBytes;
                    if (operand!.Operand.Segment is not (Register.None or Register.DS))
                        instruction.SegmentPrefix = operand.Operand.Segment;
                    var field = new Field(FieldKind.Offset, operand, i, OpKind.Memory, offsetBytes);
                    field.Apply(ref instruction, operand.Value, 0);
                    fields.Add(field);
                    break;
                }
                default:
                    if (slot.Register != Register.None)
                    {
                        instruction.SetOpKind(i, OpKind.Register);
                        instruction.SetOpRegister(i, slot.Register);
                    }
                    else
                        Memory(ref instruction, i, operand!, request.MoffsBits, fields);
                    break;
            }
        }
        foreach (var prefix in request.Parsed.Prefixes)
        {
            switch (prefix)
            {
                case "rep" or "repe" or "repz" or "xrelease": instruction.HasRepPrefix = true; break;
                case "repne" or "repnz" or "xacquire" or "bnd": instruction.HasRepnePrefix = true; break;
                case "lock": instruction.HasLockPrefix = true; break;
                case "cs": instruction.SegmentPrefix = Register.CS; break;
                case "ds": instruction.SegmentPrefix = Register.DS; break;
                case "es": instruction.SegmentPrefix = Register.ES; break;
                case "fs": instruction.SegmentPrefix = Register.FS; break;
                case "gs": instruction.SegmentPrefix = Register.GS; break;
                case "ss": instruction.SegmentPrefix = Register.SS; break;
            }
        }
        // GNU as writes xchg %rax,%rax as a plain nop.
        if (Info.Code == Code.Xchg_r64_RAX && Slots.All(s => s.Register == Register.RAX))
            instruction = Instruction.Create(Code.Nopd);
        // GNU as turns int $3 into the one-byte breakpoint.
        if (Info.Code == Code.Int_imm8 && fields[0].Operand.Absolute && fields[0].Operand.Value == 3)
        {
            instruction = Instruction.Create(Code.Int3);
            fields.Clear();
        }
        // An l suffix in 16-bit code on a form Iced gives no operand size (sysretl) is GNU as's 66 prefix.
        if (bitness == 16 && request.Parsed.OperandSize == 4 && Info.OperandSize == 0 && Slots.Length == 0)
            rawPrefixes = [.. rawPrefixes, 0x66];
        return EncodedInstruction.Create(instruction, fields, rawPrefixes, bitness, Relaxable(request), out error);
    }

    /// <summary>jmp and jcc to a label start short and may grow to the near form of the same operand size.</summary>
    Code Relaxable(Request request) => Slots.Length == 1 && Request.IsShortBranch(Slots[0].Kind) ? Request.NearForm(Info, request.Bitness) : Code.INVALID;

    /// <summary>The address size the operand's registers imply, or <paramref name="addressBits"/> when it has none.</summary>
    static int AddressBits(AsmOperand o, int addressBits)
    {
        var r = o.Base != Register.None ? o.Base : o.Index;
        return r == Register.None ? addressBits : r.GetSize() * 8;
    }

    static OpKind ImmediateKind(OpCodeOperandKind kind, bool second) => kind switch
    {
        OpCodeOperandKind.imm8 => second ? OpKind.Immediate8_2nd : OpKind.Immediate8,
        OpCodeOperandKind.imm16 => OpKind.Immediate16,
        OpCodeOperandKind.imm32 => OpKind.Immediate32,
        OpCodeOperandKind.imm64 => OpKind.Immediate64,
        OpCodeOperandKind.imm8sex16 => OpKind.Immediate8to16,
        OpCodeOperandKind.imm8sex32 => OpKind.Immediate8to32,
        OpCodeOperandKind.imm8sex64 => OpKind.Immediate8to64,
        _ => OpKind.Immediate32to64,
    };

    /// <summary>
    /// A base/index/displacement operand. The displacement is left out when it is a known 0 (Iced restores the
    /// disp8 that rbp and r13 need), short when known and small, full size otherwise; a RIP-relative label is a
    /// target, a RIP-relative number is the displacement itself, as GNU as reads them.
    /// </summary>
    static void Memory(ref Instruction instruction, int i, Bound b, int addressBits, List<Field> fields)
    {
        var o = b.Operand;
        instruction.SetOpKind(i, OpKind.Memory);
        instruction.MemoryBase = o.Base;
        instruction.MemoryIndex = o.Index;
        instruction.MemoryIndexScale = o.Scale;
        // GNU as leaves out an override that names the segment the address uses anyway.
        var implied = o.Base is Register.RSP or Register.RBP or Register.ESP or Register.EBP or Register.SP or Register.BP ? Register.SS : Register.DS;
        if (o.Segment != Register.None && o.Segment != implied)
            instruction.SegmentPrefix = o.Segment;
        int addressBytes = AddressBits(o, addressBits) / 8;
        bool rip = o.Base is Register.RIP or Register.EIP;
        int size = rip || !b.Absolute || (o.Base == Register.None) ? addressBytes
            : b.Value == 0 ? 0
            : Fits8(b.Value, addressBytes) ? 1 : addressBytes;
        instruction.MemoryDisplSize = size;
        // (%rip) with nothing written is displacement 0 from the next instruction.
        if (rip && o.Value is null)
            b = new Bound(o with { Value = new ConstantExpr(o.Position, 0) }, true, 0);
        else if (o.Value is null)
            return;
        var field = new Field(rip && !b.Absolute ? FieldKind.RipTarget : rip ? FieldKind.RipDisplacement : FieldKind.Displacement, b, i, OpKind.Memory, addressBytes);
        field.Apply(ref instruction, b.Value, 0);
        fields.Add(field);
    }

    static bool Fits8(long value, int addressBytes) => addressBytes switch
    {
        2 => (short)value is >= sbyte.MinValue and <= sbyte.MaxValue,
        4 => (int)value is >= sbyte.MinValue and <= sbyte.MaxValue,
        _ => value is >= sbyte.MinValue and <= sbyte.MaxValue,
    };
}
