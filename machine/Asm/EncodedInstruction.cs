namespace Repl.Machine.Asm;

// Inside the namespace, so that Register, Code and friends are Iced's rather than Repl.Machine's.
using Iced.Intel;

internal enum FieldKind
{
    Immediate,
    /// <summary>A ModRM/SIB displacement.</summary>
    Displacement,
    /// <summary>The address of a moffs form (a0-a3).</summary>
    Offset,
    /// <summary>sym(%rip): the expression is the target; the field holds target minus the next instruction's address.</summary>
    RipTarget,
    /// <summary>8(%rip): the expression is the displacement itself.</summary>
    RipDisplacement,
    Branch,
    FarOffset,
    FarSelector,
}

/// <summary>An expression of the instruction and the field of the Iced instruction its value goes into.</summary>
internal sealed record Field(FieldKind Kind, Bound Operand, int Index, OpKind OpKind, int AddressBytes = 0)
{
    public Expr? Expression => Operand.Operand.Value;

    /// <summary>
    /// Puts <paramref name="value"/> into the instruction. A value that was known when the form was chosen is
    /// truncated to its field, as GNU as does; one that was not (a label) must fit, as a linker relocation must.
    /// </summary>
    public string? Apply(ref Instruction instruction, long value, ulong nextIp)
    {
        bool check = !Operand.Absolute;
        switch (Kind)
        {
            case FieldKind.Immediate:
                switch (OpKind)
                {
                    case OpKind.Immediate8: instruction.Immediate8 = (byte)value; return Range(check, value, -128, 255, 8);
                    case OpKind.Immediate8_2nd: instruction.Immediate8_2nd = (byte)value; return Range(check, value, -128, 255, 8);
                    case OpKind.Immediate16: instruction.Immediate16 = (ushort)value; return Range(check, value, short.MinValue, ushort.MaxValue, 16);
                    case OpKind.Immediate32: instruction.Immediate32 = (uint)value; return Range(check, value, int.MinValue, uint.MaxValue, 32);
                    case OpKind.Immediate64: instruction.Immediate64 = (ulong)value; return null;
                    case OpKind.Immediate8to16: instruction.Immediate8to16 = (sbyte)value; return null;
                    case OpKind.Immediate8to32: instruction.Immediate8to32 = (sbyte)value; return null;
                    case OpKind.Immediate8to64: instruction.Immediate8to64 = (sbyte)value; return null;
                    default: instruction.Immediate32to64 = (int)value; return Range(check, value, int.MinValue, int.MaxValue, 32);
                }
            case FieldKind.Displacement or FieldKind.Offset when AddressBytes == 2:
                instruction.MemoryDisplacement64 = (ushort)value;
                return Range(check, value, short.MinValue, ushort.MaxValue, 16);
            case FieldKind.Displacement or FieldKind.Offset when AddressBytes == 4:
                instruction.MemoryDisplacement64 = (uint)value;
                return Range(check, value, int.MinValue, uint.MaxValue, 32);
            case FieldKind.Offset:
                instruction.MemoryDisplacement64 = (ulong)value;
                return null;
            case FieldKind.Displacement:
                // 64-bit addressing sign-extends its 32-bit displacement.
                instruction.MemoryDisplacement64 = (ulong)(long)(int)value;
                return Range(check, value, int.MinValue, int.MaxValue, 32);
            case FieldKind.RipTarget:
                instruction.MemoryDisplacement64 = (ulong)value;
                return null;
            case FieldKind.RipDisplacement:
                instruction.MemoryDisplacement64 = nextIp + (ulong)(long)(int)value;
                return null;
            case FieldKind.Branch:
                switch (OpKind)
                {
                    case OpKind.NearBranch16: instruction.NearBranch16 = (ushort)value; break;
                    case OpKind.NearBranch32: instruction.NearBranch32 = (uint)value; break;
                    default: instruction.NearBranch64 = (ulong)value; break;
                }
                return null;
            case FieldKind.FarOffset:
                if (OpKind == OpKind.FarBranch16)
                    instruction.FarBranch16 = (ushort)value;
                else
                    instruction.FarBranch32 = (uint)value;
                return Range(check, value, 0, OpKind == OpKind.FarBranch16 ? ushort.MaxValue : uint.MaxValue, OpKind == OpKind.FarBranch16 ? 16 : 32);
            default:
                instruction.FarBranchSelector = (ushort)value;
                return Range(check, value, 0, ushort.MaxValue, 16);
        }
    }

    static string? Range(bool check, long value, long min, long max, int bits)
        => check && (value < min || value > max) ? $"value {value} does not fit in {bits} bits" : null;
}

/// <summary>
/// An instruction whose form is chosen and whose length is fixed, except that a relaxable branch (jmp/jcc to a
/// label) starts short and may grow once to its near form. The bytes are produced after layout, when every
/// expression it holds has its final value.
/// </summary>
internal sealed class EncodedInstruction
{
    Instruction template;
    readonly IReadOnlyList<Field> fields;
    readonly byte[] rawPrefixes;
    readonly bool rexW;
    /// <summary>Bytes added to Iced's encoding: written prefixes Iced does not emit, and a REX byte rex.w asks for.</summary>
    readonly int added;
    readonly int bitness;
    Code nearCode;

    EncodedInstruction(Instruction template, IReadOnlyList<Field> fields, byte[] rawPrefixes, bool rexW, int added, int bitness, Code nearCode, int length, int nearLength)
    {
        this.template = template;
        this.fields = fields;
        this.rawPrefixes = rawPrefixes;
        this.rexW = rexW;
        this.added = added;
        this.bitness = bitness;
        this.nearCode = nearCode;
        Length = length;
        NearLength = nearLength;
    }

    /// <summary>
    /// The instruction with its operands' values as known now, measured; null with Iced's complaint when Iced
    /// cannot encode the form (a high-byte register beside a REX prefix, for instance).
    /// </summary>
    internal static EncodedInstruction? Create(Instruction template, IReadOnlyList<Field> fields, byte[] rawPrefixes, int bitness, Code nearCode, out string? error)
    {
        var own = Encode(template, bitness, 0, out error);
        if (own is null)
            return null;
        // A written prefix Iced emits anyway (addr32 on a 32-bit address) appears once, as in GNU as.
        int run = own.TakeWhile(IsLegacyPrefix).Count();
        var extra = rawPrefixes.Distinct().Where(p => p != Rex.W && !own[..run].Contains(p)).ToArray();
        bool rexW = rawPrefixes.Contains(Rex.W);
        int added = extra.Length + (rexW && !IsRex(own[run]) ? 1 : 0);
        int length = added + own.Length, nearLength = length;
        if (nearCode != Code.INVALID)
        {
            var near = template;
            near.Code = nearCode;
            nearLength = added + (Encode(near, bitness, 0, out error)?.Length ?? 0);
            if (error is not null)
                return null;
        }
        return new EncodedInstruction(template, fields, extra, rexW, added, bitness, nearCode, length, nearLength);
    }

    static class Rex
    {
        public const byte W = 0x48;
    }

    static bool IsRex(byte b) => b is >= 0x40 and <= 0x4f;

    /// <summary>Prefix bytes written on a line of their own ("lock" then the instruction on the next line).</summary>
    internal static EncodedInstruction PrefixesOnly(byte[] prefixes)
        => new(default, [], prefixes, false, prefixes.Length, 64, Code.INVALID, prefixes.Length, prefixes.Length);

    /// <summary>A prefix statement: no instruction of its own, only the prefix bytes.</summary>
    bool PrefixOnly => template.Code == Code.INVALID;

    /// <summary>Bytes it occupies in the current form.</summary>
    public int Length { get; private set; }

    /// <summary>The target of a relaxable branch still in its short form; null otherwise.</summary>
    public Expr? BranchTarget => nearCode != Code.INVALID ? fields[0].Expression : null;

    /// <summary>The length after <see cref="MakeNear"/>.</summary>
    public int NearLength { get; }

    /// <summary>Grows a relaxable branch to its near form (rel16/rel32).</summary>
    public void MakeNear()
    {
        if (nearCode == Code.INVALID)
            return;
        template.Code = nearCode;
        nearCode = Code.INVALID;
        Length = NearLength;
    }

    /// <summary>
    /// The final bytes at <paramref name="ip"/>, with <paramref name="evaluate"/> giving each expression's final
    /// value (absolute after layout). Null with an error and its position when a value is undefined or does not
    /// fit its field.
    /// </summary>
    public byte[]? Encode(ulong ip, Func<Expr, Evaluation> evaluate, out string? error, out int errorPosition)
    {
        error = null;
        errorPosition = 0;
        if (PrefixOnly)
            return (byte[])rawPrefixes.Clone();
        var instruction = template;
        foreach (var field in fields)
        {
            errorPosition = field.Operand.Operand.Position;
            var value = evaluate(field.Expression!);
            if (value.Undefined is not null)
            {
                error = SymbolTable.Undefined(value.Undefined);
                return null;
            }
            if (value.Error is not null)
            {
                error = value.Error;
                errorPosition = value.ErrorPosition;
                return null;
            }
            if (!value.Value.IsAbsolute)
            {
                error = "expression is not an absolute value after layout";
                return null;
            }
            error = field.Apply(ref instruction, value.Value.Offset, ip + (ulong)Length);
            if (error is not null)
                return null;
        }
        errorPosition = fields.Count > 0 ? fields[0].Operand.Operand.Position : 0;
        // Iced places the instruction after the bytes added in front of it, so that its next IP is ours.
        var bytes = Encode(instruction, bitness, ip + (ulong)added, out error);
        if (bytes is null)
            return null;
        if (added + bytes.Length != Length)
        {
            error = $"internal error: the instruction's length changed from {Length} to {added + bytes.Length} bytes";
            return null;
        }
        int run = bytes.TakeWhile(IsLegacyPrefix).Count();
        var prefixes = rawPrefixes.Concat(bytes[..run]).OrderBy(GasPrefixOrder);
        var rest = bytes[run..];
        if (!rexW)
            return [.. prefixes, .. rest];
        if (IsRex(rest[0]))
        {
            rest[0] |= 0x08;
            return [.. prefixes, .. rest];
        }
        return [.. prefixes, Rex.W, .. rest];
    }

    static bool IsLegacyPrefix(byte b) => b is 0x26 or 0x2e or 0x36 or 0x3e or 0x64 or 0x65 or 0x66 or 0x67 or 0xf0 or 0xf2 or 0xf3;

    /// <summary>GNU as writes prefixes in a fixed order: segment, address size, operand size, rep, lock.</summary>
    static int GasPrefixOrder(byte b) => b switch
    {
        0x67 => 1,
        0x66 => 2,
        0xf2 or 0xf3 => 3,
        0xf0 => 4,
        _ => 0,
    };

    internal Instruction Template => template;

    /// <summary>One encoder per mode and thread, reused: choosing a form encodes every candidate.</summary>
    [ThreadStatic]
    static (Iced.Intel.Encoder Encoder, ByteWriter Writer)[]? encoders;

    static byte[]? Encode(in Instruction instruction, int bitness, ulong ip, out string? error)
    {
        encoders ??= new (Iced.Intel.Encoder, ByteWriter)[3];
        int mode = bitness / 32;
        if (encoders[mode].Encoder is null)
        {
            var w = new ByteWriter();
            encoders[mode] = (Iced.Intel.Encoder.Create(bitness, w), w);
        }
        var (encoder, writer) = encoders[mode];
        writer.Bytes.Clear();
        if (!encoder.TryEncode(instruction, ip, out _, out error))
        {
            error = error.Contains("too far", StringComparison.OrdinalIgnoreCase) || error.Contains("branch", StringComparison.OrdinalIgnoreCase)
                ? "jump target out of range" : error;
            return null;
        }
        error = null;
        return writer.Bytes.ToArray();
    }

    sealed class ByteWriter : CodeWriter
    {
        public readonly List<byte> Bytes = [];
        public override void WriteByte(byte value) => Bytes.Add(value);
    }
}
