using System.Numerics;
using Iced.Intel;
using IcedRegister = Iced.Intel.Register;

namespace Repl.Machine;

/// <summary>A straight-line run of decoded instructions that lies within one page. It ends at a control transfer
/// or at an instruction that changes how code decodes. An instruction that straddles into the next page makes a
/// block of its own, which also records the physical page its tail came from: a block is reused only while the
/// following linear page still maps there, so a changed mapping (a CR3 switch) cannot run stale bytes.</summary>
sealed class Block(ulong physical, int bitness, Decoded[] ops, ulong tailPage)
{
    public readonly ulong Physical = physical;
    public readonly int Bitness = bitness;
    public readonly ulong IpMask = Cpu.CodeIpMask(bitness);
    public readonly Decoded[] Ops = ops;
    /// <summary>Physical address of the page holding the straddling instruction's tail, or <see cref="NoTail"/>.</summary>
    public readonly ulong TailPage = tailPage;

    public const ulong NoTail = ulong.MaxValue;
}

public sealed unsafe partial class Cpu
{
    /// <summary>Instructions per block at most; also the bound on how late a stop request is honoured.</summary>
    public const int MaxBlockLength = 64;

    /// <summary>The longest instruction the architecture allows.</summary>
    const int MaxInstructionLength = 15;

    const int BlockTableBits = 14;
    readonly Block?[] _blockTable = new Block?[1 << BlockTableBits];
    readonly Dictionary<ulong, List<Block>> _blocksByPage = [];
    readonly Decoded[] _scratch = new Decoded[MaxBlockLength];
    readonly byte[] _fetchBuffer = new byte[PhysicalMemory.PageSize + MaxInstructionLength];

    static int BlockSlot(ulong physical) => (int)((physical ^ (physical >> BlockTableBits)) & ((1 << BlockTableBits) - 1));

    /// <summary>The block at RIP, fetched through paging (a fetch from a page that forbids it raises #PF).</summary>
    Block FetchBlock()
    {
        int bitness = State.CodeBitness;
        ulong linear = FetchAddress(State.Rip, bitness);
        ulong physical = Translate(linear, Access.Execute, FetchPrivilege);
        Block? block = _blockTable[BlockSlot(physical)];
        if (block is not null && block.Physical == physical && block.Bitness == bitness
            && (block.TailPage == Block.NoTail || block.TailPage == TranslateTail(linear, bitness)))
            return block;
        block = DecodeBlock(linear, physical, bitness);
        _blockTable[BlockSlot(physical)] = block;
        return block;
    }

    /// <summary>Where the instruction at <paramref name="rip"/> is fetched from, as a linear address: CS base and
    /// limit apply outside 64-bit mode; in 64-bit mode RIP must be canonical, else the fetch raises #GP(0) (how an
    /// AMD SYSRET to a non-canonical RCX faults, at CPL 3).</summary>
    ulong FetchAddress(ulong rip, int bitness)
    {
        if (bitness == 64)
            return IsCanonical(rip) ? rip : throw new CpuFault(Vector.GP, 0);
        SegmentCache cs = State.Cs;
        if (rip > cs.Limit)
            throw new CpuFault(Vector.GP, 0);
        return (cs.Base + rip) & 0xFFFF_FFFF;
    }

    /// <summary>The physical page of the linear page after the one holding <paramref name="linear"/>, fetched
    /// through paging: an instruction that needs bytes from there faults on that page's address.</summary>
    ulong TranslateTail(ulong linear, int bitness)
    {
        ulong next = ((linear | (PhysicalMemory.PageSize - 1)) + 1) & (bitness == 64 ? ulong.MaxValue : 0xFFFF_FFFF);
        return Translate(next, Access.Execute, FetchPrivilege);
    }

    /// <summary>Decodes from <paramref name="physical"/> up to the end of its page. An instruction that runs past
    /// the page ends the block before it; when it is the block's first, its tail is fetched from the next linear
    /// page (which may fault) and it forms a block alone.</summary>
    Block DecodeBlock(ulong linear, ulong physical, int bitness)
    {
        int inPage = (int)(((physical | (PhysicalMemory.PageSize - 1)) + 1) - physical);
        Bus.Read(physical, _fetchBuffer.AsSpan(0, inPage));
        var decoder = Decoder.Create(bitness, new ByteArrayCodeReader(_fetchBuffer, 0, inPage));
        ulong rip = State.Rip;
        decoder.IP = rip;
        ulong tailPage = Block.NoTail;
        int count = 0;
        int offset = 0;
        while (count < MaxBlockLength && offset < inPage)
        {
            decoder.Decode(out Instruction instruction);
            if (decoder.LastError == DecoderError.NoMoreBytes)
            {
                if (count > 0)
                    break;
                tailPage = TranslateTail(linear, bitness);
                Bus.Read(tailPage, _fetchBuffer.AsSpan(inPage, MaxInstructionLength));
                decoder = Decoder.Create(bitness, new ByteArrayCodeReader(_fetchBuffer, 0, inPage + MaxInstructionLength));
                decoder.IP = rip;
                decoder.Decode(out instruction);
            }
            ref Decoded d = ref _scratch[count++];
            Prepare(ref d, instruction, _fetchBuffer.AsSpan(offset, instruction.Length), bitness);
            offset += instruction.Length;
            if (tailPage != Block.NoTail || EndsBlock(instruction))
                break;
        }
        var block = new Block(physical, bitness, _scratch.AsSpan(0, count).ToArray(), tailPage);
        RegisterCodePage(physical, block);
        if (tailPage != Block.NoTail)
            RegisterCodePage(tailPage, block);
        return block;
    }

    /// <summary>Remembers that <paramref name="block"/> was decoded from the page holding <paramref name="physical"/>,
    /// so a write there drops it.</summary>
    void RegisterCodePage(ulong physical, Block block)
    {
        ulong page = physical >> PhysicalMemory.PageShift;
        if (!_blocksByPage.TryGetValue(page, out var list))
            _blocksByPage[page] = list = [];
        list.Add(block);
        Bus.MarkCodePage(page);
    }

    static bool EndsBlock(in Instruction instruction) =>
        instruction.IsInvalid || instruction.FlowControl != FlowControl.Next || Handlers.ChangesCodeDecoding(instruction);

    /// <summary>Forgets every block decoded from a page the guest has just written.</summary>
    void InvalidateCodePage(ulong page)
    {
        if (_blocksByPage.Remove(page, out var blocks))
            foreach (var block in blocks)
            {
                int slot = BlockSlot(block.Physical);
                if (_blockTable[slot] == block)
                    _blockTable[slot] = null;
            }
        Bus.ClearCodePage(page);
        EndBlock = true;
    }

    /// <summary>Forgets all decoded code (for a reset or a restore of memory from outside the guest).</summary>
    public void FlushDecodedCode()
    {
        foreach (ulong page in _blocksByPage.Keys)
            Bus.ClearCodePage(page);
        _blocksByPage.Clear();
        Array.Clear(_blockTable);
    }

    /// <summary>Fills <paramref name="d"/> from an Iced decoding: the handler and the pre-digested operands.</summary>
    static void Prepare(ref Decoded d, in Instruction instruction, ReadOnlySpan<byte> bytes, int bitness)
    {
        d = default;
        d.Instruction = instruction;
        d.Length = (byte)instruction.Length;
        var (operandOverride, addressOverride, rexW) = SizePrefixes(bytes, bitness);
        d.AddressSize = (byte)(bitness switch
        {
            64 => addressOverride ? 4 : 8,
            32 => addressOverride ? 2 : 4,
            _ => addressOverride ? 4 : 2,
        });
        d.StackSize = (byte)(bitness switch
        {
            64 => operandOverride && !rexW ? 2 : 8, // REX.W wins over 0x66
            32 => operandOverride ? 2 : 4,
            _ => operandOverride ? 4 : 2,
        });
        if (instruction.ConditionCode != ConditionCode.None)
            d.Condition = (byte)(instruction.ConditionCode - ConditionCode.o);
        d.MemBase = d.MemIndex = Decoded.NoRegister;
        for (int i = 0; i < Math.Min(instruction.OpCount, 3); i++)
        {
            ref Operand op = ref d.Ops[i];
            switch (instruction.GetOpKind(i))
            {
                case OpKind.Register:
                    var reg = instruction.GetOpRegister(i);
                    if (reg.IsGPR())
                    {
                        op.Kind = OperandKind.Gpr;
                        op.Reg = GprNumber(reg);
                    }
                    else
                        op.Kind = OperandKind.Other;
                    op.Size = (byte)reg.GetSize();
                    break;
                case OpKind.Memory:
                    op.Kind = OperandKind.Memory;
                    op.Size = (byte)instruction.MemorySize.GetSize();
                    PrepareMemory(ref d, instruction);
                    break;
                case OpKind.Immediate8 or OpKind.Immediate16 or OpKind.Immediate32 or OpKind.Immediate64
                    or OpKind.Immediate8to16 or OpKind.Immediate8to32 or OpKind.Immediate8to64 or OpKind.Immediate32to64:
                    op.Kind = OperandKind.Immediate;
                    d.Immediate = instruction.GetImmediate(i);
                    break;
                case OpKind.Immediate8_2nd:
                    op.Kind = OperandKind.Immediate;
                    op.Reg = Operand.SecondImmediate;
                    d.Immediate2 = instruction.Immediate8_2nd;
                    break;
                case OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64:
                    op.Kind = OperandKind.Immediate;
                    op.Size = (byte)(instruction.GetOpKind(i) switch { OpKind.NearBranch16 => 2, OpKind.NearBranch32 => 4, _ => 8 });
                    d.Immediate = instruction.NearBranchTarget - instruction.NextIP;
                    break;
                default:
                    op.Kind = OperandKind.Other;
                    break;
            }
        }
        // An immediate takes the size of the operation it feeds (Iced has already sign-extended it).
        for (int i = 1; i < 3; i++)
            if (d.Ops[i].Kind == OperandKind.Immediate && d.Ops[i].Size == 0)
                d.Ops[i].Size = d.Ops[0].Size;
        d.Execute = Handlers.Select(instruction);
    }

    static void PrepareMemory(ref Decoded d, in Instruction instruction)
    {
        d.MemSegment = (SegmentRegister)(instruction.MemorySegment - IcedRegister.ES);
        d.MemScaleShift = (byte)BitOperations.Log2((uint)instruction.MemoryIndexScale);
        var @base = instruction.MemoryBase;
        if (@base is IcedRegister.RIP or IcedRegister.EIP)
        {
            d.MemRipRelative = true;
            d.MemDisplacement = instruction.MemoryDisplacement64 - instruction.NextIP;
        }
        else
        {
            d.MemDisplacement = instruction.MemoryDisplacement64;
            if (@base != IcedRegister.None)
                d.MemBase = GprNumber(@base);
        }
        if (instruction.MemoryIndex != IcedRegister.None && instruction.MemoryIndex.IsGPR())
            d.MemIndex = GprNumber(instruction.MemoryIndex);
    }

    /// <summary>Our register number for an Iced GPR: 0-15, with AH, CH, DH, BH as 16-19.</summary>
    internal static byte GprNumber(IcedRegister reg)
    {
        int n = reg.GetNumber();
        if (reg.GetSize() != 1)
            return (byte)n;
        // Iced numbers the byte registers AL CL DL BL AH CH DH BH SPL BPL SIL DIL R8L..R15L.
        return (byte)(n < 4 ? n : n < 8 ? 16 + n - 4 : n - 4);
    }

    /// <summary>Whether the legacy prefixes include 0x66 (operand size) and 0x67 (address size), and, in 64-bit
    /// mode, whether a REX prefix with W set precedes the opcode (a REX followed by a legacy prefix is ignored).</summary>
    static (bool Operand, bool Address, bool RexW) SizePrefixes(ReadOnlySpan<byte> bytes, int bitness)
    {
        bool operand = false, address = false, rexW = false;
        foreach (byte b in bytes)
        {
            if (bitness == 64 && (b & 0xF0) == 0x40)
            {
                rexW = (b & 8) != 0;
                continue;
            }
            if (b is not (0x66 or 0x67 or 0xF0 or 0xF2 or 0xF3 or 0x2E or 0x36 or 0x3E or 0x26 or 0x64 or 0x65))
                break;
            rexW = false;
            if (b == 0x66)
                operand = true;
            else if (b == 0x67)
                address = true;
        }
        return (operand, address, rexW);
    }
}
