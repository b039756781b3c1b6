using System.Buffers.Binary;
using Repl.Machine.Asm;
using Repl.Shell.Debugging;

namespace Repl.Shell.Commands;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>
/// bt: the chain of code that led to RIP, only as far as the machine's state proves it. A call leaves a return address
/// on the stack; SYSCALL leaves the interrupted RIP in RCX and pushes nothing; an interrupt or exception pushes the
/// interrupted RIP, CS, RFLAGS, RSP and SS (SDM Vol. 3, 6.14.2), which entry code then keeps in its pt_regs frame.
/// So bt takes each frame from what the hardware or the code left, checks that it can be what it claims (a return
/// address is canonical, mapped, and has a CALL ending just before it), and says where the chain ends and why,
/// rather than print words of the stack that merely look like addresses.
/// </summary>
static class Backtrace
{
    const int MaxFrames = 32;

    /// <summary>How the processor reaches an entry point: an instruction (SYSCALL, SYSENTER) or an IDT gate's vector.</summary>
    readonly record struct Entry(string Instruction, Vector? Gate);

    /// <summary>The lengths of a CALL in 64-bit code, the commonest first: E8 with a 32-bit displacement (5), and FF /2
    /// with or without REX, SIB and displacement (2 to 7, LongestCall the longest: REX, FF, ModRM, SIB, disp32).</summary>
    static readonly int[] CallLengths = [5, 2, 3, 4, 6, LongestCall];

    const int LongestCall = 7;

    public static void Show(Debugger d, string args, TextWriter o)
    {
        ref CpuState s = ref d.Machine.State;
        var entries = EntryPoints(d);
        int n = 0;
        o.WriteLine($"#{n++}  {d.Program.Describe(s.Rip)}");
        string end = FirstFrame(d, entries, ref n, o) ?? FramePointerChain(d, entries, ref n, o);
        o.WriteLine($"(the chain ends: {end})");
    }

    /// <summary>What the live registers say of frame #0's caller: an entry's interrupted context, or the return address
    /// at RSP on a function's first instruction. Returns why the chain ends there, or null to go on with RBP's chain.</summary>
    static string? FirstFrame(Debugger d, Dictionary<ulong, Entry> entries, ref int n, TextWriter o)
    {
        ref CpuState s = ref d.Machine.State;
        ulong rsp = s.Gpr[(int)Gpr.Rsp];
        if (entries.TryGetValue(s.Rip, out var entry))
            return HardwareFrame(d, entry, rsp, ref n, o);
        if (d.Symbols.Find(s.Rip) is { } symbol && entries.ContainsKey(symbol.SymbolAddress))
            return PtRegsFrame(d, rsp, ref n, o);
        if (d.Symbols.Find(s.Rip) is not { Offset: 0 })
            return null;
        // A function's first instruction: its frame is not built yet, and the return address is what RSP points at.
        Span<byte> word = stackalloc byte[8];
        if (d.Machine.ReadVirtual(rsp, word) < 8)
            return $"rsp 0x{rsp:x} cannot be read, so no return address";
        ulong returnAddress = BinaryPrimitives.ReadUInt64LittleEndian(word);
        if (NotReturnAddress(d, returnAddress) is { } why)
            return $"the word at rsp 0x{rsp:x}, 0x{returnAddress:x}, {why}";
        o.WriteLine($"#{n++}  {d.Program.Describe(returnAddress)}  (return address at rsp 0x{rsp:x})");
        return CallerInEntry(d, entries, returnAddress, rsp + 8, ref n, o);
    }

    /// <summary>Walks RBP's chain (the saved RBP at [RBP], the return address above it), checking every link.</summary>
    static string FramePointerChain(Debugger d, Dictionary<ulong, Entry> entries, ref int n, TextWriter o)
    {
        ulong frame = d.Machine.State.Gpr[(int)Gpr.Rbp];
        Span<byte> pair = stackalloc byte[16];
        while (n <= MaxFrames)
        {
            if (frame == 0)
                return "the frame pointer is 0, the outermost frame's mark";
            if (d.Machine.ReadVirtual(frame, pair) < pair.Length)
                return $"the frame-pointer chain reaches 0x{frame:x}, which cannot be read (code without frame pointers leaves RBP to other uses)";
            ulong next = BinaryPrimitives.ReadUInt64LittleEndian(pair), returnAddress = BinaryPrimitives.ReadUInt64LittleEndian(pair[8..]);
            if (NotReturnAddress(d, returnAddress) is { } why)
                return $"the word above RBP's frame at 0x{frame:x}, 0x{returnAddress:x}, {why} (code without frame pointers leaves RBP to other uses)";
            o.WriteLine($"#{n++}  {d.Program.Describe(returnAddress)}  (frame at 0x{frame:x})");
            if (CallerInEntry(d, entries, returnAddress, frame + 16, ref n, o) is { } entered)
                return entered;
            // Frames live higher on the stack as the chain goes back: anything else is not a frame chain.
            if (next != 0 && next <= frame)
                return $"the saved RBP 0x{next:x} at 0x{frame:x} does not lie above its frame";
            frame = next;
        }
        return $"only the first {MaxFrames} frames are shown";
    }

    /// <summary>When a caller is entry code, the context it interrupted is in its pt_regs frame: shows it and ends the
    /// chain. Null when the caller is ordinary code.</summary>
    static string? CallerInEntry(Debugger d, Dictionary<ulong, Entry> entries, ulong caller, ulong callerRsp, ref int n, TextWriter o)
    {
        return d.Symbols.Find(caller) is { } symbol && entries.ContainsKey(symbol.SymbolAddress) ? PtRegsFrame(d, callerRsp, ref n, o) : null;
    }

    /// <summary>Frame #0 is an entry's first instruction: only the processor has acted, and how it entered says where the
    /// interrupted RIP is.</summary>
    static string HardwareFrame(Debugger d, Entry entry, ulong rsp, ref int n, TextWriter o)
    {
        if (entry.Gate is not { } vector)
        {
            if (entry.Instruction == "SYSENTER")
                return "SYSENTER saves no return address (user code agrees on one with the kernel, as Linux's vDSO does)";
            ulong rcx = d.Machine.State.Gpr[(int)Gpr.Rcx];
            o.WriteLine($"#{n++}  {d.Program.Describe(rcx)}  (user mode: {entry.Instruction} saved the return RIP in RCX and pushed nothing)");
            return $"{entry.Instruction} came from user mode";
        }
        // An IDT gate: the CPU pushed SS, RSP, RFLAGS, CS, RIP and, for some exceptions, an error code below them.
        ulong at = rsp + (VectorNames.HasErrorCode(vector) ? 8UL : 0);
        Span<byte> frame = stackalloc byte[16];
        if (d.Machine.ReadVirtual(at, frame) < frame.Length)
            return $"the {VectorNames.Mnemonic(vector)} frame at 0x{at:x} cannot be read";
        return Interrupted(d, BinaryPrimitives.ReadUInt64LittleEndian(frame), BinaryPrimitives.ReadUInt64LittleEndian(frame[8..]),
                           $"the frame the CPU pushed for vector {(int)vector} ({VectorNames.Mnemonic(vector)}) at 0x{at:x}", ref n, o);
    }

    /// <summary>Entry code past its first instruction: the interrupted context is in the pt_regs frame it built.</summary>
    static string PtRegsFrame(Debugger d, ulong rsp, ref int n, TextWriter o)
    {
        if (SystemViews.InnermostFrame(d, rsp) is not { } at)
            return $"entry code without a pt_regs frame above rsp 0x{rsp:x} yet (until it pushes one, the interrupted RIP is in RCX after SYSCALL, or in the CPU's frame)";
        Span<byte> frame = stackalloc byte[16];
        d.Machine.ReadVirtual(at + (ulong)Array.IndexOf(SystemViews.PtRegs, "rip") * 8, frame);
        return Interrupted(d, BinaryPrimitives.ReadUInt64LittleEndian(frame), BinaryPrimitives.ReadUInt64LittleEndian(frame[8..]),
                           $"the pt_regs frame at 0x{at:x}", ref n, o);
    }

    static string Interrupted(Debugger d, ulong rip, ulong cs, string where, ref int n, TextWriter o)
    {
        bool user = (cs & 3) != 0;
        o.WriteLine($"#{n++}  {d.Program.Describe(rip)}  ({(user ? "user mode" : "kernel mode")}, cs 0x{cs:x}: from {where})");
        return user ? "the entry came from user mode"
            : "the entry interrupted kernel code; what called it is not recorded (no frame pointers in entry code)";
    }

    /// <summary>Why <paramref name="address"/> cannot be a return address, or null when it can: a return address is
    /// canonical, readable, and right after a CALL.</summary>
    static string? NotReturnAddress(Debugger d, ulong address)
    {
        if (!d.Machine.State.IsCanonical(address))
            return "is not canonical";
        var before = new byte[LongestCall];
        if (address < LongestCall || d.Machine.ReadVirtual(address - LongestCall, before) < LongestCall)
            return "is not mapped code";
        foreach (int length in CallLengths)
        {
            var decoded = Disassembler.Disassemble(before.AsSpan(LongestCall - length), address - (ulong)length, d.Machine.State.CodeBitness, count: 1);
            if (decoded.Count == 1 && decoded[0].Kind == DisassemblyKind.Instruction && decoded[0].Bytes.Length == length
                && decoded[0].Instruction.FlowControl is Iced.Intel.FlowControl.Call or Iced.Intel.FlowControl.IndirectCall)
                return null;
        }
        return "does not follow a CALL instruction";
    }

    /// <summary>Where the processor enters the kernel, by address: SYSCALL's LSTAR (and CSTAR), SYSENTER's EIP MSR, and
    /// the present IDT gates by vector number.</summary>
    static Dictionary<ulong, Entry> EntryPoints(Debugger d)
    {
        var m = d.Machine;
        var entries = new Dictionary<ulong, Entry>();
        foreach (var (msr, instruction) in new[] { (Msr.Lstar, "SYSCALL"), (Msr.Cstar, "compat SYSCALL"), (Msr.SysenterEip, "SYSENTER") })
            if (m.ReadMsr(msr) is var target and not 0)
                entries.TryAdd(target, new Entry(instruction, null));
        var idtr = m.State.Idtr;
        bool longMode = (m.State.Efer & CpuState.EferLMA) != 0;
        var table = new byte[idtr.Limit + 1];
        int read = m.ReadVirtual(idtr.Base, table);
        foreach (var (vector, offset, _) in SystemViews.PresentGates(table[..read], longMode))
            entries.TryAdd(offset, new Entry("", (Vector)vector));
        return entries;
    }
}
