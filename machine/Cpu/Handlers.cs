using Iced.Intel;
using IcedRegister = Iced.Intel.Register;

namespace Repl.Machine;

/// <summary>Chooses the handler for a decoded instruction, asking each instruction family in turn.</summary>
static unsafe class Handlers
{
    public static delegate*<Cpu, ref Decoded, void> Select(in Instruction i)
    {
        if (i.IsInvalid)
            return &Cpu.InvalidOpcode;
        delegate*<Cpu, ref Decoded, void> h;
        if ((h = Cpu.SelectFamily(i)) != null)
            return h;
        return &Cpu.Unimplemented;
    }

    /// <summary>Instructions after which the following bytes may decode differently or an event may become
    /// pending, so the block must end there and the next one be looked up afresh.</summary>
    public static bool ChangesCodeDecoding(in Instruction i) => i.Mnemonic switch
    {
        Mnemonic.Mov => i.Op0Kind == OpKind.Register && (i.Op0Register.IsCR() || i.Op0Register == IcedRegister.SS),
        Mnemonic.Pop => i.Op0Kind == OpKind.Register && i.Op0Register == IcedRegister.SS,
        Mnemonic.Lmsw or Mnemonic.Clts or Mnemonic.Wrmsr or Mnemonic.Popf or Mnemonic.Popfd or Mnemonic.Popfq or Mnemonic.Sti or Mnemonic.Hlt
            or Mnemonic.Invlpg or Mnemonic.Invpcid or Mnemonic.Wrfsbase or Mnemonic.Wrgsbase => true,
        _ => false,
    };
}

public sealed unsafe partial class Cpu
{
    /// <summary>The instruction families, each in its own file; the first to claim a mnemonic handles it.</summary>
    internal static delegate*<Cpu, ref Decoded, void> SelectFamily(in Instruction i)
    {
        delegate*<Cpu, ref Decoded, void> h;
        if ((h = SelectDataMovement(i)) != null) return h;
        if ((h = SelectArithmetic(i)) != null) return h;
        if ((h = SelectDecimalArithmetic(i)) != null) return h;
        if ((h = SelectLogic(i)) != null) return h;
        if ((h = SelectBit(i)) != null) return h;
        if ((h = SelectShiftRotate(i)) != null) return h;
        if ((h = SelectControlTransfer(i)) != null) return h;
        if ((h = SelectStack(i)) != null) return h;
        if ((h = SelectMiscellaneous(i)) != null) return h;
        if ((h = SelectString(i)) != null) return h;
        if ((h = SelectMsrs(i)) != null) return h;
        if ((h = SelectFastSystemCalls(i)) != null) return h;
        if ((h = SelectSystemInstructions(i)) != null) return h;
        if ((h = SelectSegmentation(i)) != null) return h;
        if ((h = SelectIret(i)) != null) return h;

        if ((h = SelectControlRegisters(i)) != null) return h;
        if ((h = SelectPaging(i)) != null) return h;
        if ((h = SelectDebug(i)) != null) return h;
        return null;
    }
}
