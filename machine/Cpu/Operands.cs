using System.Runtime.CompilerServices;

namespace Repl.Machine;

/// <summary>Operand access for the handlers: registers by width, effective addresses, segmentation, memory.</summary>
public sealed partial class Cpu
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong SizeMask(int size) => size >= 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;

    /// <summary>Reads a GPR at a width of 1, 2, 4 or 8 bytes (register numbers 16-19 are AH, CH, DH, BH).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong ReadGpr(int reg, int size)
    {
        if (reg >= 16)
            return (State.Gpr[reg - 16] >> 8) & 0xFF;
        return State.Gpr[reg] & SizeMask(size);
    }

    /// <summary>Writes a GPR as the instruction set does: a 32-bit write zero-extends into the upper half,
    /// 8- and 16-bit writes leave the other bits as they were.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void WriteGpr(int reg, int size, ulong value)
    {
        if (reg >= 16)
        {
            ref ulong r = ref State.Gpr[reg - 16];
            r = (r & ~0xFF00UL) | ((value & 0xFF) << 8);
            return;
        }
        ref ulong g = ref State.Gpr[reg];
        g = size switch
        {
            8 => value,
            4 => (uint)value,
            2 => (g & ~0xFFFFUL) | (ushort)value,
            _ => (g & ~0xFFUL) | (byte)value,
        };
    }

    /// <summary>The effective address (offset within the segment) of the memory operand, wrapped to the address size.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong EffectiveAddress(ref Decoded d)
    {
        ulong ea = d.MemDisplacement;
        if (d.MemRipRelative)
            ea += NextRip;
        if (d.MemBase != Decoded.NoRegister)
            ea += State.Gpr[d.MemBase];
        if (d.MemIndex != Decoded.NoRegister)
            ea += State.Gpr[d.MemIndex] << d.MemScaleShift;
        return ea & SizeMask(d.AddressSize);
    }

    /// <summary>Reads operand <paramref name="n"/> at its own width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong ReadOperand(ref Decoded d, int n)
    {
        ref Operand op = ref d.Ops[n];
        return op.Kind switch
        {
            OperandKind.Gpr => ReadGpr(op.Reg, op.Size),
            OperandKind.Immediate => (op.Reg == Operand.SecondImmediate ? d.Immediate2 : d.Immediate) & SizeMask(op.Size),
            _ => ReadMemory(d.MemSegment, EffectiveAddress(ref d), op.Size),
        };
    }

    /// <summary>Writes operand <paramref name="n"/> at its own width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void WriteOperand(ref Decoded d, int n, ulong value)
    {
        ref Operand op = ref d.Ops[n];
        if (op.Kind == OperandKind.Gpr)
            WriteGpr(op.Reg, op.Size, value);
        else
            WriteMemory(d.MemSegment, EffectiveAddress(ref d), op.Size, value);
    }

    /// <summary>Reads the destination (operand 0) of a read-modify-write instruction. A memory destination is
    /// checked for writing now, so the instruction faults before it changes anything.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong ReadDestination(ref Decoded d, out ulong linear)
    {
        ref Operand op = ref d.Ops[0];
        if (op.Kind == OperandKind.Gpr)
        {
            linear = 0;
            return ReadGpr(op.Reg, op.Size);
        }
        linear = CheckWritable(ref d, op.Size);
        return ReadTranslated(linear, op.Size, DataPrivilege);
    }

    /// <summary>Completes a read-modify-write begun by <see cref="ReadDestination"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void WriteDestination(ref Decoded d, ulong linear, ulong value)
    {
        ref Operand op = ref d.Ops[0];
        if (op.Kind == OperandKind.Gpr)
            WriteGpr(op.Reg, op.Size, value);
        else
            WriteTranslated(linear, op.Size, value, DataPrivilege);
    }

    public enum Access : byte { Read, Write, Execute }

    /// <summary>
    /// Applies segmentation to an offset (SDM Vol. 3, 3.4 and 5.3): in 64-bit mode only FS and GS add a base
    /// and the address must be canonical; elsewhere the segment must be usable for the access and the whole
    /// access must lie within its limit. A violation is #SS(0) for the stack segment and #GP(0) otherwise.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong Linear(SegmentRegister seg, ulong offset, int size, Access access)
    {
        if ((State.Efer & CpuState.EferLMA) != 0 && State.Segments[(int)SegmentRegister.Cs].Long)
        {
            ulong linear = seg >= SegmentRegister.Fs ? offset + State.Segments[(int)seg].Base : offset;
            if (!IsCanonical(linear) || !IsCanonical(linear + (ulong)size - 1))
                throw new CpuFault(seg == SegmentRegister.Ss ? Vector.SS : Vector.GP, 0);
            return linear;
        }
        return LegacyLinear(seg, offset, size, access);
    }

    ulong LegacyLinear(SegmentRegister seg, ulong offset, int size, Access access)
    {
        ref readonly SegmentCache s = ref State.Segments[(int)seg];
        var fault = seg == SegmentRegister.Ss ? Vector.SS : Vector.GP;
        bool code = (s.Attributes & SegmentCache.AttrCode) != 0;
        bool usable = s.Present && (access switch
        {
            Access.Write => !code && (s.Attributes & SegmentCache.AttrWritable) != 0,
            Access.Read => !code || (s.Attributes & SegmentCache.AttrWritable) != 0, // code must be readable
            _ => true,
        });
        ulong last = offset + (ulong)size - 1;
        bool withinLimit = !code && (s.Attributes & SegmentCache.AttrExpandDown) != 0
            ? offset > s.Limit && last <= (s.DefaultBig ? 0xFFFF_FFFFUL : 0xFFFF)
            : last <= s.Limit;
        if (!usable || !withinLimit)
            throw new CpuFault(fault, 0);
        return (s.Base + offset) & 0xFFFF_FFFF;
    }

    internal bool IsCanonical(ulong linear) => State.IsCanonical(linear);

    internal ulong ReadMemory(SegmentRegister seg, ulong offset, int size) =>
        ReadLinear(Linear(seg, offset, size, Access.Read), size);

    internal void WriteMemory(SegmentRegister seg, ulong offset, int size, ulong value) =>
        WriteLinear(Linear(seg, offset, size, Access.Write), size, value);

    /// <summary>#AC: alignment checking is on at CPL 3 with CR0.AM and RFLAGS.AC both set (SDM Vol. 3, 6.15).</summary>
    void CheckAlignment(ulong linear, int size)
    {
        if ((State.Cr0 & CpuState.Cr0AM) != 0 && State.Cpl == 3 && (State.FlagsStored & (ulong)RflagsBit.AC) != 0
            && (linear & (ulong)(size - 1)) != 0)
            throw new CpuFault(Vector.AC, 0);
    }

    static bool CrossesPage(ulong linear, int size) =>
        (linear & (PhysicalMemory.PageSize - 1)) + (ulong)size > PhysicalMemory.PageSize;

    /// <summary>Reads at a linear address, as an explicit access of the current instruction.</summary>
    internal ulong ReadLinear(ulong linear, int size)
    {
        CheckAlignment(linear, size);
        return ReadTranslated(linear, size, DataPrivilege);
    }

    internal void WriteLinear(ulong linear, int size, ulong value)
    {
        CheckAlignment(linear, size);
        WriteTranslated(linear, size, value, DataPrivilege);
    }

    /// <summary>Reads for an implicit supervisor-mode access (SDM Vol. 3, 4.6): the processor's own reads of the
    /// GDT, LDT, IDT or TSS, which are supervisor accesses whatever the CPL and which SMAP checks whatever RFLAGS.AC.</summary>
    internal ulong ReadImplicitSupervisor(ulong linear, int size) => ReadTranslated(linear, size, Privilege.Supervisor);

    /// <summary>Writes for an implicit supervisor-mode access (see <see cref="ReadImplicitSupervisor"/>).</summary>
    internal void WriteImplicitSupervisor(ulong linear, int size, ulong value) => WriteTranslated(linear, size, value, Privilege.Supervisor);

    /// <summary>Reads through paging; an access straddling two pages translates both before it reads.</summary>
    internal ulong ReadTranslated(ulong linear, int size, Privilege privilege)
    {
        if ((State.Dr[7] & Dr7Enables) != 0)
            DataBreakpointCheck(linear, size, write: false);
        if (Watching)
            return ReadWatched(linear, size, privilege);
        return ReadPaged(linear, size, privilege);
    }

    /// <summary>A read watchpoints look at once it has succeeded, so that one that faults is never reported
    /// (Debugging/Watchpoints.cs). Kept out of line, so that the path without watchpoints stays as small as before.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    ulong ReadWatched(ulong linear, int size, Privilege privilege)
    {
        ulong value = ReadPaged(linear, size, privilege);
        WatchAccess(linear, size, WatchKind.Read);
        return value;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    ulong ReadPaged(ulong linear, int size, Privilege privilege)
    {
        if (!CrossesPage(linear, size))
            return Bus.Read(Translate(linear, Access.Read, privilege), size);
        var (first, second, inFirst) = TranslateAcross(linear, size, Access.Read, privilege);
        ulong value = 0;
        for (int i = size - 1; i >= 0; i--)
            value = (value << 8) | Bus.ReadByte(i < inFirst ? first + (ulong)i : second + (ulong)(i - inFirst));
        return value;
    }

    /// <summary>Writes through paging; both pages of a straddling write are translated (and may fault) before
    /// either is written.</summary>
    internal void WriteTranslated(ulong linear, int size, ulong value, Privilege privilege)
    {
        if ((State.Dr[7] & Dr7Enables) != 0)
            DataBreakpointCheck(linear, size, write: true);
        if (Watching)
            WriteWatched(linear, size, value, privilege);
        else
            WritePaged(linear, size, value, privilege);
    }

    /// <summary>A write watchpoints look at once it has succeeded (see <see cref="ReadWatched"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    void WriteWatched(ulong linear, int size, ulong value, Privilege privilege)
    {
        WritePaged(linear, size, value, privilege);
        WatchAccess(linear, size, WatchKind.Write);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void WritePaged(ulong linear, int size, ulong value, Privilege privilege)
    {
        if (!CrossesPage(linear, size))
        {
            Bus.Write(Translate(linear, Access.Write, privilege), size, value);
            return;
        }
        var (first, second, inFirst) = TranslateAcross(linear, size, Access.Write, privilege);
        for (int i = 0; i < size; i++, value >>= 8)
            Bus.WriteByte(i < inFirst ? first + (ulong)i : second + (ulong)(i - inFirst), (byte)value);
    }

    /// <summary>Translates both pages of an access that straddles a page boundary, the lower first.</summary>
    (ulong First, ulong Second, int InFirst) TranslateAcross(ulong linear, int size, Access kind, Privilege privilege)
    {
        int inFirst = PhysicalMemory.PageSize - (int)(linear & (PhysicalMemory.PageSize - 1));
        ulong first = Translate(linear, kind, privilege);
        ulong second = Translate(linear + (ulong)inFirst, kind, privilege);
        return (first, second, inFirst);
    }

    /// <summary>Checks that a write of <paramref name="size"/> bytes at a linear address would succeed (alignment
    /// and paging), so an instruction can fault before it changes anything else.</summary>
    internal void CheckWritableLinear(ulong linear, int size)
    {
        CheckAlignment(linear, size);
        if (CrossesPage(linear, size))
            TranslateAcross(linear, size, Access.Write, DataPrivilege);
        else
            Translate(linear, Access.Write, DataPrivilege);
    }

    /// <summary>Checks that a write of <paramref name="size"/> bytes at the operand would succeed, so an
    /// instruction can fault before it changes anything else.</summary>
    internal ulong CheckWritable(ref Decoded d, int size)
    {
        ulong linear = Linear(d.MemSegment, EffectiveAddress(ref d), size, Access.Write);
        CheckWritableLinear(linear, size);
        return linear;
    }
}
