using Iced.Intel;
using IcedRegister = Iced.Intel.Register;

namespace Repl.Machine.Tests.Differential;

/// <summary>Building random instructions of a form: registers, memory operands and immediates from the Iced
/// operand description of the form, encoded for the host's slot.</summary>
sealed partial class Family
{
    readonly InstructionInfoFactory _info = new();

    /// <summary>Null segment overrides. 32-bit code has no CS among them: it cannot be written through, and it is
    /// not the scratch segment where that is in use.</summary>
    static readonly IcedRegister[] Segments = [IcedRegister.ES, IcedRegister.CS, IcedRegister.SS, IcedRegister.DS];
    static readonly IcedRegister[] Segments32 = [IcedRegister.ES, IcedRegister.SS, IcedRegister.DS];

    IcedRegister RandomOverride()
    {
        var segments = _bitness == 64 ? Segments : Segments32;
        return Rng.Next(12) == 0 ? segments[Rng.Next(segments.Length)] : IcedRegister.None;
    }

    enum ArgKind : byte { Register, Memory, Immediate }

    readonly record struct Arg(ArgKind Kind, IcedRegister Register, MemoryOperand Memory, long Immediate)
    {
        public static Arg Reg(IcedRegister r) => new(ArgKind.Register, r, default, 0);
        public static Arg Mem(MemoryOperand m) => new(ArgKind.Memory, IcedRegister.None, m, 0);
        public static Arg Imm(long i) => new(ArgKind.Immediate, IcedRegister.None, default, i);
    }

    /// <summary>The Iced codes of the given mnemonics that exist in the family's code (64- or 32-bit), in legacy or VEX encoding (not
    /// Knights Corner's), with only GPR, memory and immediate operands (MOV to segment or control registers is
    /// not user-level), and without the undocumented aliases (SAL /6, TEST F6/F7 /1), which a processor need
    /// not implement, nor those a decoder option enables (CMPXCHG's 486 A-step opcode 0F A6 in 32-bit code).</summary>
    public IEnumerable<Code> CodesOf(params Mnemonic[] mnemonics) =>
        Enum.GetValues<Code>().Where(code =>
        {
            if (!mnemonics.Contains(code.Mnemonic()) || !Exists(code))
                return false;
            var op = code.ToOpCode();
            string name = code.ToString();
            return op.IsInstruction && op.DecoderOption == DecoderOptions.None && op.Encoding is EncodingKind.Legacy or EncodingKind.VEX
                   && !code.CpuidFeatures().Contains(CpuidFeature.KNC)
                   && Enumerable.Range(0, op.OpCount).All(i => IsGenerated(op.GetOpKind(i)))
                   && !name.EndsWith("_F6r1", StringComparison.Ordinal) && !name.EndsWith("_F7r1", StringComparison.Ordinal);
        });

    /// <summary>Whether the instruction exists in the family's code (DAA only in 32-bit code, CDQE only in 64-bit code).</summary>
    public bool Exists(Code code) => _bitness == 64 ? code.ToOpCode().Mode64 : code.ToOpCode().Mode32;

    static bool IsGenerated(OpCodeOperandKind kind) => kind is OpCodeOperandKind.mem or OpCodeOperandKind.mem_offs
        or >= OpCodeOperandKind.r8_or_mem and <= OpCodeOperandKind.r64_or_mem and not OpCodeOperandKind.r32_or_mem_mpx
        or OpCodeOperandKind.r8_reg or OpCodeOperandKind.r8_opcode
        or OpCodeOperandKind.r16_reg or OpCodeOperandKind.r16_opcode or OpCodeOperandKind.r16_rm
        or OpCodeOperandKind.r32_reg or OpCodeOperandKind.r32_opcode or OpCodeOperandKind.r32_rm or OpCodeOperandKind.r32_vvvv
        or OpCodeOperandKind.r64_reg or OpCodeOperandKind.r64_opcode or OpCodeOperandKind.r64_rm or OpCodeOperandKind.r64_vvvv
        or OpCodeOperandKind.al or OpCodeOperandKind.cl or OpCodeOperandKind.ax or OpCodeOperandKind.dx or OpCodeOperandKind.eax or OpCodeOperandKind.rax
        or OpCodeOperandKind.imm8 or OpCodeOperandKind.imm8_const_1 or OpCodeOperandKind.imm8sex16 or OpCodeOperandKind.imm8sex32
        or OpCodeOperandKind.imm8sex64 or OpCodeOperandKind.imm16 or OpCodeOperandKind.imm32 or OpCodeOperandKind.imm32sex64 or OpCodeOperandKind.imm64;

    Variant Build(Code code, FormOptions o)
    {
        for (int attempt = 0; attempt < MaxBuildAttempts; attempt++)
            if (TryBuild(code, o) is { } v)
                return v;
        throw new InvalidOperationException($"could not build an encodable {code} in {MaxBuildAttempts} attempts");
    }

    Variant? TryBuild(Code code, FormOptions o)
    {
        var op = code.ToOpCode();
        var args = new Arg[op.OpCount];
        int memoryOperand = -1;
        bool moffs = false;
        int width = op.OpCount > 0 ? KindBits(op.GetOpKind(0)) : 64;
        for (int i = 0; i < args.Length; i++)
        {
            var kind = op.GetOpKind(i);
            switch (kind)
            {
                case OpCodeOperandKind.r8_or_mem or OpCodeOperandKind.r16_or_mem or OpCodeOperandKind.r32_or_mem or OpCodeOperandKind.r64_or_mem:
                    if (Rng.NextDouble() < o.MemoryShare)
                        memoryOperand = i;
                    else
                        args[i] = Arg.Reg(RandomGpr(KindBits(kind)));
                    break;
                case OpCodeOperandKind.mem:
                    memoryOperand = i;
                    break;
                case OpCodeOperandKind.mem_offs:
                    memoryOperand = i;
                    moffs = true;
                    break;
                case OpCodeOperandKind.r8_reg or OpCodeOperandKind.r8_opcode
                    or OpCodeOperandKind.r16_reg or OpCodeOperandKind.r16_opcode or OpCodeOperandKind.r16_rm
                    or OpCodeOperandKind.r32_reg or OpCodeOperandKind.r32_opcode or OpCodeOperandKind.r32_rm or OpCodeOperandKind.r32_vvvv
                    or OpCodeOperandKind.r64_reg or OpCodeOperandKind.r64_opcode or OpCodeOperandKind.r64_rm or OpCodeOperandKind.r64_vvvv:
                    args[i] = Arg.Reg(RandomGpr(KindBits(kind)));
                    break;
                case OpCodeOperandKind.al: args[i] = Arg.Reg(IcedRegister.AL); break;
                case OpCodeOperandKind.cl: args[i] = Arg.Reg(IcedRegister.CL); break;
                case OpCodeOperandKind.ax: args[i] = Arg.Reg(IcedRegister.AX); break;
                case OpCodeOperandKind.dx: args[i] = Arg.Reg(IcedRegister.DX); break;
                case OpCodeOperandKind.eax: args[i] = Arg.Reg(IcedRegister.EAX); break;
                case OpCodeOperandKind.rax: args[i] = Arg.Reg(IcedRegister.RAX); break;
                case OpCodeOperandKind.imm8: args[i] = Arg.Imm((long)(o.Immediate8?.Invoke(Rng, width) ?? Value(8))); break;
                case OpCodeOperandKind.imm8_const_1: args[i] = Arg.Imm(1); break;
                case OpCodeOperandKind.imm8sex16 or OpCodeOperandKind.imm8sex32 or OpCodeOperandKind.imm8sex64:
                    args[i] = Arg.Imm((sbyte)Value(8));
                    break;
                case OpCodeOperandKind.imm16: args[i] = Arg.Imm((short)Value(16)); break;
                case OpCodeOperandKind.imm32 or OpCodeOperandKind.imm32sex64: args[i] = Arg.Imm((int)Value(32)); break;
                case OpCodeOperandKind.imm64: args[i] = Arg.Imm((long)Value(64)); break;
                default:
                    throw new NotSupportedException($"{code}: operand kind {kind} is not generated");
            }
        }

        var v = new Variant();
        bool locked = false;
        if (memoryOperand >= 0)
        {
            // A first build with a placeholder address tells the operand size and every register the
            // instruction uses, explicitly or implicitly; address registers must be none of those, so that
            // no input adjustment can move the address.
            args[memoryOperand] = Arg.Mem(new MemoryOperand(IcedRegister.None, IcedRegister.None, 1, 0x1000, 8));
            var provisional = Create(code, args);
            int size = provisional.MemorySize.GetSize();
            var avoid = new HashSet<int> { (int)Gpr.Rsp };
            foreach (var used in _info.GetInfo(provisional).GetUsedRegisters())
                if (used.Register.IsGPR())
                    avoid.Add(DiffCase.Locate(used.Register).Gpr);
            locked = memoryOperand == 0 && Rng.NextDouble() < o.LockShare;
            if (o.AddressOnly)
                args[memoryOperand] = Arg.Mem(RandomAddress());
            else
            {
                v.Target = PickTarget(size, o, locked || o.ImplicitLock);
                v.ScratchSegment = Addresses16 && Rng.Next(5) == 0;
                args[memoryOperand] = Arg.Mem(moffs ? Moffs(v) : v.ScratchSegment ? Address16Of(v.Target, avoid, v.Pins) : AddressOf(v.Target, avoid, v.Pins));
                v.HasMemory = true;
                v.MemoryOperand = memoryOperand;
                v.MemorySize = size;
            }
        }
        var instruction = Create(code, args);
        instruction.HasLockPrefix = locked;
        if (!TryEncode(instruction, v))
            return null;
        v.Form = code + (v.HasMemory ? v.ScratchSegment ? " mem a16" : " mem" : "") + (locked ? " lock" : "");
        AddUsedRegisters(v, v.Pins.Select(p => p.Gpr).ToHashSet());
        return v;
    }

    bool TryEncode(Instruction instruction, Variant v)
    {
        _buffer.Clear();
        ulong slot = _host.SlotAddress(_bitness);
        if (!_encoder.TryEncode(instruction, slot, out _, out _))
            return false; // e.g. AH with a register that needs REX: pick again
        v.Code = _buffer.Take();
        var decoder = Decoder.Create(_bitness, new ByteArrayCodeReader(v.Code));
        decoder.IP = slot;
        decoder.Decode(out v.Instruction);
        // XCHG EAX,EAX encodes as 90, which is NOP: not the form under test.
        return v.Instruction.Code == instruction.Code;
    }

    /// <summary>The registers the instruction reads get edge values; pinned address registers keep theirs.</summary>
    void AddUsedRegisters(Variant v, HashSet<int> pinned)
    {
        foreach (var used in _info.GetInfo(v.Instruction).GetUsedRegisters())
        {
            var r = used.Register;
            if (!r.IsGPR() || used.Access is OpAccess.Write or OpAccess.CondWrite)
                continue;
            int g = DiffCase.Locate(r).Gpr;
            if (g != (int)Gpr.Rsp && !pinned.Contains(g) && !v.Inputs.Contains(r))
                v.Inputs.Add(r);
        }
    }

    static int KindBits(OpCodeOperandKind kind) => kind switch
    {
        OpCodeOperandKind.r8_or_mem or OpCodeOperandKind.r8_reg or OpCodeOperandKind.r8_opcode or OpCodeOperandKind.al or OpCodeOperandKind.cl => 8,
        OpCodeOperandKind.r16_or_mem or OpCodeOperandKind.r16_reg or OpCodeOperandKind.r16_opcode or OpCodeOperandKind.r16_rm
            or OpCodeOperandKind.ax or OpCodeOperandKind.dx => 16,
        OpCodeOperandKind.r32_or_mem or OpCodeOperandKind.r32_reg or OpCodeOperandKind.r32_opcode or OpCodeOperandKind.r32_rm
            or OpCodeOperandKind.r32_vvvv or OpCodeOperandKind.eax => 32,
        _ => 64,
    };

    static readonly IcedRegister[] Gpr8 =
    [
        IcedRegister.AL, IcedRegister.CL, IcedRegister.DL, IcedRegister.BL, IcedRegister.AH, IcedRegister.CH, IcedRegister.DH, IcedRegister.BH,
        IcedRegister.BPL, IcedRegister.SIL, IcedRegister.DIL, IcedRegister.R8L, IcedRegister.R9L, IcedRegister.R10L, IcedRegister.R11L,
        IcedRegister.R12L, IcedRegister.R13L, IcedRegister.R14L, IcedRegister.R15L,
    ];

    /// <summary>Any GPR of the width but the stack pointer (the host keeps its own RSP); for bytes, AH-BH and
    /// the REX-only SIL, DIL, BPL, R8L-R15L alike (the encoder refuses the combinations that cannot exist).
    /// 32-bit code has the first eight GPRs and no REX.</summary>
    public IcedRegister RandomGpr(int bits) =>
        bits == 8 ? Gpr8[Rng.Next(GprCount == 16 ? Gpr8.Length : 8)] : GprOfWidth(AnyButRsp(), bits);

    public static IcedRegister GprOfWidth(int gpr, int bits) => bits switch
    {
        8 => gpr < 4 ? IcedRegister.AL + gpr : IcedRegister.SPL + (gpr - 4), // Iced lists AH-BH between BL and SPL
        16 => IcedRegister.AX + gpr,
        32 => IcedRegister.EAX + gpr,
        _ => IcedRegister.RAX + gpr,
    };

    /// <summary>An address near the scratch's middle (so some accesses straddle its page boundary), kept
    /// naturally aligned when the access locks the bus: a split lock may raise #AC or stall the whole host.</summary>
    ulong PickTarget(int size, FormOptions o, bool locked)
    {
        ulong target = ScratchMiddle + (ulong)(long)Rng.Next(-256, 256);
        ulong align = (ulong)Math.Max(o.Alignment, locked ? Math.Min(size, 16) : 1);
        return target & ~(align - 1);
    }

    /// <summary>
    /// A memory operand that addresses <paramref name="target"/>, in one of the shapes the ModRM/SIB bytes allow:
    /// RIP-relative (64-bit code), absolute, [base], [base+disp8/32], [base+index*scale+disp], [index*scale+disp32],
    /// with the code's address size or, in 64-bit code, a 32-bit one (then the registers' upper halves hold garbage
    /// that must be ignored), sometimes with a null segment override. The address registers are pinned to the
    /// values that make it come out right.
    /// </summary>
    MemoryOperand AddressOf(ulong target, HashSet<int> avoid, List<(int Gpr, ulong Value)> pins)
    {
        var segment = RandomOverride();
        int shape = Rng.Next(100);
        if (shape < 8 && _bitness == 64)
            return new MemoryOperand(IcedRegister.RIP, IcedRegister.None, 1, (long)target, 8, false, segment);
        if (shape < 14)
            return new MemoryOperand(IcedRegister.None, IcedRegister.None, 1, (long)target, _bitness == 32 || Rng.Next(2) == 0 ? 4 : 8, false, segment);
        bool narrow = _bitness == 64 && shape >= 80;
        bool hasBase = shape >= 20;
        bool hasIndex = !hasBase || Rng.Next(100) < 40;
        int scale = 1 << Rng.Next(4);
        long indexValue = hasIndex ? Rng.Next(-64, 65) : 0;
        long displacement = !hasBase
            ? (long)target - indexValue * scale
            : Rng.Next(4) switch { 0 => 0, 1 => (sbyte)Rng.Next(256), 2 => Rng.Next(-0x10000, 0x10000), _ => (int)U64() };
        var free = Enumerable.Range(0, GprCount).Where(g => !avoid.Contains(g)).ToList();
        int baseGpr = -1, indexGpr = -1;
        if (hasBase)
        {
            baseGpr = free[Rng.Next(free.Count)];
            free.Remove(baseGpr);
        }
        if (hasIndex)
            indexGpr = free[Rng.Next(free.Count)];
        ulong Pin(ulong low) => narrow ? (U64() & 0xFFFF_FFFF_0000_0000) | (uint)low : low & GprMask;
        if (hasBase)
            pins.Add((baseGpr, Pin(target - (ulong)displacement - (ulong)(indexValue * scale))));
        if (hasIndex)
            pins.Add((indexGpr, Pin((ulong)indexValue)));
        int bits = narrow ? 32 : _bitness;
        int displSize = displacement == 0 && hasBase ? 0 : displacement == (sbyte)displacement && hasBase ? 1 : bits / 8;
        return new MemoryOperand(hasBase ? GprOfWidth(baseGpr, bits) : IcedRegister.None, hasIndex ? GprOfWidth(indexGpr, bits) : IcedRegister.None,
            scale, displacement, displSize, false, segment);
    }

    /// <summary>The base and index pairs of 16-bit ModRM addressing (SDM Vol. 2, Table 2-1): [BX+SI], [BX+DI],
    /// [BP+SI], [BP+DI], [SI], [DI], [BP], [BX], and a disp16 alone.</summary>
    static readonly (IcedRegister Base, IcedRegister Index)[] Address16Registers =
    [
        (IcedRegister.BX, IcedRegister.SI), (IcedRegister.BX, IcedRegister.DI), (IcedRegister.BP, IcedRegister.SI), (IcedRegister.BP, IcedRegister.DI),
        (IcedRegister.SI, IcedRegister.None), (IcedRegister.DI, IcedRegister.None), (IcedRegister.BP, IcedRegister.None), (IcedRegister.BX, IcedRegister.None),
        (IcedRegister.None, IcedRegister.None),
    ];

    /// <summary>
    /// A 16-bit address (0x67 prefix in 32-bit code) of <paramref name="target"/> in the host's scratch segment:
    /// the sum of base, index and displacement wraps at 64 KiB (the registers take any 16-bit values, so it often
    /// does), and the registers' upper halves hold garbage that must be ignored. [BP...] forms use SS, which is
    /// the scratch segment too.
    /// </summary>
    MemoryOperand Address16Of(ulong target, HashSet<int> avoid, List<(int Gpr, ulong Value)> pins)
    {
        ulong offset = target - _host.ScratchSegmentBase;
        var usable = Address16Registers.Where(p => !Uses(avoid, p.Base) && !Uses(avoid, p.Index)).ToArray();
        var (b, x) = usable[Rng.Next(usable.Length)];
        long displacement = Displacement16(b, x);
        ulong indexValue = x == IcedRegister.None ? 0 : (ulong)Rng.Next(0x10000);
        if (x != IcedRegister.None)
            pins.Add((DiffCase.Locate(x).Gpr, (U64() & 0xFFFF_0000) | indexValue));
        if (b != IcedRegister.None)
            pins.Add((DiffCase.Locate(b).Gpr, (U64() & 0xFFFF_0000) | ((offset - (ulong)displacement - indexValue) & 0xFFFF)));
        else
            displacement = (long)offset;
        return new MemoryOperand(b, x, 1, displacement, b == IcedRegister.None ? 2 : Displacement16Size(b, x, displacement), false, RandomOverride());

        static bool Uses(HashSet<int> avoid, IcedRegister r) => r != IcedRegister.None && avoid.Contains(DiffCase.Locate(r).Gpr);
    }

    /// <summary>A displacement for a 16-bit address: none, disp8 or disp16 (a disp16 alone when there is no register).</summary>
    long Displacement16(IcedRegister b, IcedRegister x) =>
        b == IcedRegister.None && x == IcedRegister.None ? Rng.Next(0x10000) : Rng.Next(3) switch { 0 => 0, 1 => (sbyte)Rng.Next(256), _ => Rng.Next(0x10000) };

    /// <summary>[BP] alone has no encoding without a displacement (that ModRM means disp16 alone): it takes a disp8 of 0.</summary>
    static int Displacement16Size(IcedRegister b, IcedRegister x, long displacement) =>
        displacement == 0 && !(b == IcedRegister.BP && x == IcedRegister.None) ? 0 : displacement == (sbyte)displacement ? 1 : 2;

    /// <summary>The moffs of MOV AL/AX/EAX/RAX to or from memory: an absolute address of the code's size, or a
    /// 16-bit offset into the scratch segment.</summary>
    MemoryOperand Moffs(Variant v) => v.ScratchSegment
        ? new MemoryOperand(IcedRegister.None, IcedRegister.None, 1, (long)(v.Target - _host.ScratchSegmentBase), 2)
        : new MemoryOperand(IcedRegister.None, IcedRegister.None, 1, (long)v.Target, _bitness / 8);

    /// <summary>For LEA: any shape with any registers (their random values are the inputs); nothing is accessed.
    /// 32-bit code has no RIP-relative addresses but 16-bit ones, whose result is the 16-bit sum.</summary>
    MemoryOperand RandomAddress()
    {
        int shape = Rng.Next(10);
        long displacement = Rng.Next(3) switch { 0 => 0, 1 => (sbyte)Rng.Next(256), _ => (int)U64() };
        if (shape == 0 && _bitness == 64)
            return new MemoryOperand(IcedRegister.RIP, IcedRegister.None, 1, (long)(_host.SlotAddress(64) + (ulong)displacement), 8, false, IcedRegister.None);
        if (shape is 0 or 2 && _bitness == 32)
        {
            var (b, x) = Address16Registers[Rng.Next(Address16Registers.Length)];
            long d = Displacement16(b, x);
            return new MemoryOperand(b, x, 1, d, b == IcedRegister.None && x == IcedRegister.None ? 2 : Displacement16Size(b, x, d), false, IcedRegister.None);
        }
        int bits = shape >= 7 ? 32 : _bitness;
        var baseRegister = shape == 1 ? IcedRegister.None : GprOfWidth(AnyButRsp(), bits);
        var index = shape <= 1 || Rng.Next(2) == 0 ? IcedRegister.None : GprOfWidth(AnyButRsp(), bits);
        if (baseRegister == IcedRegister.None && index == IcedRegister.None)
            index = GprOfWidth(AnyButRsp(), bits);
        int displSize = displacement == 0 && baseRegister != IcedRegister.None ? 0
            : displacement == (sbyte)displacement && baseRegister != IcedRegister.None ? 1 : bits / 8;
        return new MemoryOperand(baseRegister, index, 1 << Rng.Next(4), displacement, displSize, false, IcedRegister.None);
    }

    int AnyButRsp()
    {
        int g;
        do
            g = Rng.Next(GprCount);
        while (g == (int)Gpr.Rsp);
        return g;
    }

    static Instruction Create(Code code, Arg[] a)
    {
        static int I32(Arg x) => (int)x.Immediate;
        return a.Length switch
        {
            0 => Iced.Intel.Instruction.Create(code),
            1 => a[0].Kind switch
            {
                ArgKind.Register => Iced.Intel.Instruction.Create(code, a[0].Register),
                ArgKind.Memory => Iced.Intel.Instruction.Create(code, a[0].Memory),
                _ => Iced.Intel.Instruction.Create(code, I32(a[0])), // AAM, AAD
            },
            2 => (a[0].Kind, a[1].Kind) switch
            {
                (ArgKind.Register, ArgKind.Register) => Iced.Intel.Instruction.Create(code, a[0].Register, a[1].Register),
                (ArgKind.Register, ArgKind.Memory) => Iced.Intel.Instruction.Create(code, a[0].Register, a[1].Memory),
                (ArgKind.Memory, ArgKind.Register) => Iced.Intel.Instruction.Create(code, a[0].Memory, a[1].Register),
                (ArgKind.Register, ArgKind.Immediate) => Iced.Intel.Instruction.Create(code, a[0].Register, a[1].Immediate),
                (ArgKind.Memory, ArgKind.Immediate) => Iced.Intel.Instruction.Create(code, a[0].Memory, I32(a[1])),
                _ => throw new NotSupportedException($"{code}: operands {a[0].Kind}, {a[1].Kind}"),
            },
            3 => (a[0].Kind, a[1].Kind, a[2].Kind) switch
            {
                (ArgKind.Register, ArgKind.Register, ArgKind.Register) => Iced.Intel.Instruction.Create(code, a[0].Register, a[1].Register, a[2].Register),
                (ArgKind.Register, ArgKind.Register, ArgKind.Memory) => Iced.Intel.Instruction.Create(code, a[0].Register, a[1].Register, a[2].Memory),
                (ArgKind.Register, ArgKind.Memory, ArgKind.Register) => Iced.Intel.Instruction.Create(code, a[0].Register, a[1].Memory, a[2].Register),
                (ArgKind.Memory, ArgKind.Register, ArgKind.Register) => Iced.Intel.Instruction.Create(code, a[0].Memory, a[1].Register, a[2].Register),
                (ArgKind.Register, ArgKind.Register, ArgKind.Immediate) => Iced.Intel.Instruction.Create(code, a[0].Register, a[1].Register, I32(a[2])),
                (ArgKind.Register, ArgKind.Memory, ArgKind.Immediate) => Iced.Intel.Instruction.Create(code, a[0].Register, a[1].Memory, I32(a[2])),
                (ArgKind.Memory, ArgKind.Register, ArgKind.Immediate) => Iced.Intel.Instruction.Create(code, a[0].Memory, a[1].Register, I32(a[2])),
                _ => throw new NotSupportedException($"{code}: operands {a[0].Kind}, {a[1].Kind}, {a[2].Kind}"),
            },
            _ => throw new NotSupportedException($"{code}: {a.Length} operands"),
        };
    }
}
