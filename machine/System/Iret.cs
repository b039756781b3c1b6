using Iced.Intel;

namespace Repl.Machine;

/// <summary>
/// IRET, IRETD and IRETQ in protected mode and IA-32e mode (SDM Vol. 2, IRET/IRETD/IRETQ; Vol. 3, 6.14.3): return to
/// the same or an outer privilege level, to 64-bit or compatibility mode, with the null-SS rules of 64-bit mode and
/// the nulling of data segments the new CPL may not use. IRET also ends NMI blocking (Vol. 3, 6.7.1). Returns to
/// virtual-8086 mode and task returns (NT set, outside IA-32e mode) are not modelled.
/// </summary>
public sealed unsafe partial class Cpu
{
    static delegate*<Cpu, ref Decoded, void> SelectIret(in Instruction i) => i.Mnemonic switch
    {
        Mnemonic.Iret or Mnemonic.Iretd or Mnemonic.Iretq => &Iret,
        _ => null,
    };

    /// <summary>Reads slot <paramref name="k"/> of the IRET frame, counting up from the stack pointer.</summary>
    ulong ReadFrameSlot(ulong sp, int k, int size)
    {
        ulong mask = SizeMask(StackAddressSize);
        return ReadMemory(SegmentRegister.Ss, (sp + (ulong)(k * size)) & mask, size);
    }

    static void Iret(Cpu c, ref Decoded d)
    {
        int size = d.Instruction.Code switch { Code.Iretq => 8, Code.Iretd => 4, _ => 2 };
        ulong flags = c.State.Rflags;
        // In IA-32e mode NT set is #GP(0); outside it, NT asks for a task return, which is not modelled.
        if ((flags & (ulong)RflagsBit.NT) != 0)
            throw new CpuFault(Vector.GP, 0);
        bool from64 = c.State.Is64BitMode;
        ulong sp = c.State.Gpr[(int)Gpr.Rsp] & SizeMask(c.StackAddressSize);
        ulong tempRip = c.ReadFrameSlot(sp, 0, size);
        var tempCs = (ushort)c.ReadFrameSlot(sp, 1, size);
        ulong tempFlags = c.ReadFrameSlot(sp, 2, size);

        int cpl = c.State.Cpl, rpl = tempCs & 3;
        var cs = c.ReturnCodeSegment(tempCs, out ulong csAddress, out bool to64);

        // 64-bit mode pops SS:RSP always; elsewhere only a return to an outer privilege level does.
        bool loadsStack = from64 || rpl > cpl;
        SegmentCache ss = default;
        ulong tempRsp = 0;
        ulong ssAddress = 0;
        if (loadsStack)
        {
            tempRsp = c.ReadFrameSlot(sp, 3, size);
            ss = c.ReturnStackSegment((ushort)c.ReadFrameSlot(sp, 4, size), rpl, to64, out ssAddress);
        }
        c.CheckFarTarget(cs, to64, tempRip);

        c.SetAccessed(ref cs, csAddress);
        if (loadsStack && ssAddress != 0)
            c.SetAccessed(ref ss, ssAddress);

        var from = c.ContextIfListened(c.State.Rip);
        // Nothing below can fault. RFLAGS follows the old CPL's privileges.
        ulong loadable = (ulong)(RflagsBit.Arithmetic | RflagsBit.TF | RflagsBit.DF | RflagsBit.NT);
        if (size >= 4)
            loadable |= (ulong)(RflagsBit.RF | RflagsBit.AC | RflagsBit.ID);
        if (cpl <= c.Iopl)
            loadable |= (ulong)RflagsBit.IF;
        if (cpl == 0)
            loadable |= (ulong)RflagsBit.IOPL | (size >= 4 ? (ulong)(RflagsBit.VIF | RflagsBit.VIP) : 0);
        c.State.Rflags = (flags & ~loadable) | (tempFlags & loadable);

        c.State.Segments[(int)SegmentRegister.Cs] = cs;
        if (loadsStack)
        {
            c.State.Segments[(int)SegmentRegister.Ss] = ss;
            // A return to a 16-bit stack segment (B = 0, outside 64-bit code) loads SP alone: bits 31:16 (and up)
            // keep what the stack pointer held at the IRET, the kernel's stack — the leak that Linux's ESPFIX hides
            // (Intel's own account in the espfix64 commit; QEMU's helper_ret_protected does the same).
            c.WriteGpr((int)Gpr.Rsp, !to64 && !ss.DefaultBig ? 2 : size, tempRsp);
        }
        else
            c.SetStackPointer(sp + (ulong)(3 * size));
        if (rpl > cpl)
            c.NullSegmentsBelow(rpl);
        c.NextRip = tempRip & (to64 ? ulong.MaxValue : 0xFFFF_FFFF);
        c.State.NmiBlocked = false;
        c.EndBlock = true;
        c.Sink?.Transferred(TransferKind.Iret, from);
    }

    /// <summary>
    /// Checks the code segment that IRET or a far RET returns to (SDM Vol. 2, RET, "Protected mode far return"): not
    /// null (#GP(0)); code with RPL &gt;= CPL, DPL = RPL if non-conforming, DPL &lt;= RPL if conforming (#GP(selector));
    /// present (#NP(selector)); in IA-32e mode not both L and D (#GP(selector)). Its DPL is set to the RPL, the new CPL.
    /// </summary>
    SegmentCache ReturnCodeSegment(ushort selector, out ulong address, out bool to64)
    {
        if (IsNullSelector(selector))
            throw new CpuFault(Vector.GP, 0);
        int rpl = selector & 3;
        uint error = SelectorErrorCode(selector, 0);
        var cs = FromDescriptor(selector, ReadDescriptor(selector, 0, out address));
        bool conforming = (cs.Attributes & AttrConforming) != 0;
        if (!cs.IsCode || rpl < State.Cpl || (conforming ? cs.Dpl > rpl : cs.Dpl != rpl))
            throw new CpuFault(Vector.GP, error);
        if (!cs.Present)
            throw new CpuFault(Vector.NP, error);
        to64 = (State.Efer & CpuState.EferLMA) != 0 && cs.Long;
        if (to64 && cs.DefaultBig)
            throw new CpuFault(Vector.GP, error);
        // CPL is CS.DPL here, so a conforming segment returned to carries the RPL, the new CPL, as its DPL.
        cs.Attributes = (ushort)((cs.Attributes & ~(3 << 5)) | (rpl << 5));
        return cs;
    }

    /// <summary>A far transfer's target must be canonical in 64-bit code and within the CS limit otherwise: #GP(0).</summary>
    void CheckFarTarget(in SegmentCache cs, bool to64, ulong target)
    {
        if (to64 ? !IsCanonical(target) : (target & 0xFFFF_FFFF) > cs.Limit)
            throw new CpuFault(Vector.GP, 0);
    }

    /// <summary>
    /// Checks the SS that IRET (or a far RET to an outer level) returns to (SDM Vol. 2, IRET, "RETURN-TO-OUTER-
    /// PRIVILEGE-LEVEL"): a null SS only for 64-bit code at CPL &lt; 3, else #GP(0); otherwise a writable data
    /// segment with RPL = DPL = the new CPL (#GP(selector)), present (#SS(selector)).
    /// </summary>
    SegmentCache ReturnStackSegment(ushort selector, int newCpl, bool to64, out ulong address)
    {
        address = 0;
        if (IsNullSelector(selector))
        {
            if (!to64 || newCpl == 3)
                throw new CpuFault(Vector.GP, 0);
            return NullStackSegment(selector);
        }
        uint error = SelectorErrorCode(selector, 0);
        var ss = FromDescriptor(selector, ReadDescriptor(selector, 0, out address));
        if ((selector & 3) != newCpl || !IsWritableData(ss) || ss.Dpl != newCpl)
            throw new CpuFault(Vector.GP, error);
        if (!ss.Present)
            throw new CpuFault(Vector.SS, error);
        return ss;
    }

    /// <summary>On a return to an outer privilege level, DS, ES, FS and GS holding data or non-conforming code more
    /// privileged than the new CPL are loaded with a null selector, so the outer level cannot use them.</summary>
    void NullSegmentsBelow(int newCpl)
    {
        foreach (var r in (ReadOnlySpan<SegmentRegister>)[SegmentRegister.Es, SegmentRegister.Ds, SegmentRegister.Fs, SegmentRegister.Gs])
        {
            ref SegmentCache s = ref State.Segments[(int)r];
            if (IsDataOrNonConformingCode(s) && s.Dpl < newCpl)
            {
                s.Selector = 0;
                s.Attributes = 0;
            }
        }
    }
}
