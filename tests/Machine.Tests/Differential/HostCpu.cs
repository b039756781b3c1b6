using System.Runtime.InteropServices;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using IcedRegister = Iced.Intel.Register;

namespace Repl.Machine.Tests.Differential;

/// <summary>
/// Runs one instruction on the host processor, in 64-bit code or in 32-bit code (compatibility mode). A region
/// is mapped read-write-execute at a fixed low address (so that the same addresses exist in the emulator's RAM,
/// and all of it lies below 4 GiB where 32-bit code reaches it): the trampolines, the block they load registers
/// from and store them to, a scratch buffer for memory operands and strings, and the stack of the 32-bit code.
/// <code>
///   Base + 0x0000  64-bit trampoline; the instruction under test sits in its slot, padded with NOPs
///   Base + 0x0400  the 64-bit halves of the 32-bit trampoline: the way in (saves, far jump) and the way back
///   Base + 0x0800  the 32-bit code of the 32-bit trampoline, with its own slot
///   Base + 0x1000  register block: 16 GPRs in, RFLAGS in, 16 GPRs out, RFLAGS out, saved RSP, DS, ES,
///                  the data selector for the case, the two far pointers
///   Base + 0x2000  scratch, <see cref="ScratchSize"/> bytes (its middle is on a page boundary)
///   Base + 0x6000  stack of the 32-bit code (64 KiB: a signal arriving there is delivered on it, xsave area and all)
/// </code>
/// The trampolines keep their own stack pointer (the instruction under test never names RSP), so the value
/// "loaded" into RSP is ignored and the one stored back is meaningless.
/// </summary>
sealed unsafe partial class HostCpu
{
    public const int SlotSize = 32;
    public const ulong ScratchOffset = 0x2000;
    public const int ScratchSize = 0x4000;
    const ulong CompatEntryOffset = 0x400, Code32Offset = 0x800, BlockOffset = 0x1000;
    const ulong StackOffset = ScratchOffset + ScratchSize, StackSize = 0x10000;
    const ulong RegionSize = StackOffset + StackSize;

    // Block layout, in bytes from the block's start.
    const int InGpr = 0, InFlags = 16 * 8, OutGpr = InFlags + 8, OutFlags = OutGpr + 16 * 8, SavedRsp = OutFlags + 8;
    const int SavedDs = SavedRsp + 8, SavedEs = SavedDs + 2, DataSelector = SavedEs + 2, FlatSelector = DataSelector + 2;
    const int FarTo32 = FlatSelector + 6, FarTo64 = FarTo32 + 8; // m16:32 far pointers: offset, then selector

    // Linux x86-64's user segments in the GDT (arch/x86/include/asm/segment.h): __USER32_CS, __USER_DS, __USER_CS.
    const ushort User32Cs = 0x23, UserDs = 0x2B, UserCs = 0x33;

    /// <summary>The base of the LDT data segment that 32-bit code can load into DS, ES and SS, so that the 64 KiB
    /// reached by 16-bit addresses is centred on the scratch's middle (Linux maps nothing below mmap_min_addr,
    /// which is usually 64 KiB: a flat segment would leave 16-bit addressing nothing to address).</summary>
    public ulong ScratchSegmentBase => Base + ScratchOffset + ScratchSize / 2 - 0x8000;

    /// <summary>Low addresses to try, all inside the emulator's default 256 MiB of RAM and below its page tables.</summary>
    static readonly ulong[] Candidates = [0x0800_0000, 0x0900_0000, 0x0A00_0000, 0x0B00_0000, 0x0C00_0000, 0x0D00_0000, 0x0E00_0000];

    static readonly Lock Gate = new();
    static readonly Lazy<(HostCpu? Cpu, string? Why)> Shared = new(Create);

    public ulong Base { get; }
    readonly ulong _slot64, _slot32;
    public ulong ScratchAddress => Base + ScratchOffset;
    public CpuVendor Vendor { get; }
    public string VendorString { get; }

    readonly byte* _region;
    readonly ulong* _block;
    readonly delegate* unmanaged<void> _entry64, _entry32;
    bool? _scratchSegment;
    string? _whyNoScratchSegment;

    HostCpu(byte* region, CpuVendor vendor, string vendorString)
    {
        _region = region;
        Base = (ulong)region;
        _block = (ulong*)(region + BlockOffset);
        _entry64 = (delegate* unmanaged<void>)region;
        _entry32 = (delegate* unmanaged<void>)(region + CompatEntryOffset);
        Vendor = vendor;
        VendorString = vendorString;
        _slot64 = WriteTrampoline();
        _slot32 = WriteCompatTrampoline();
    }

    /// <summary>Where the instruction under test sits in the trampoline for code of <paramref name="bitness"/> (64 or 32).</summary>
    public ulong SlotAddress(int bitness) => bitness switch
    {
        64 => _slot64,
        32 => _slot32,
        _ => throw new ArgumentOutOfRangeException(nameof(bitness), bitness, "64- or 32-bit code"),
    };

    /// <summary>The host processor, or null with the reason it cannot run the differential tests (not x86-64,
    /// not Linux, or a vendor the emulator has no profile for).</summary>
    public static HostCpu? Get(out string? whyNot)
    {
        var (cpu, why) = Shared.Value;
        whyNot = why;
        return cpu;
    }

    public Span<byte> Scratch => new(_region + ScratchOffset, ScratchSize);

    /// <summary>
    /// Runs <paramref name="code"/> once, as 64- or 32-bit code, with the given GPRs and RFLAGS (only the status
    /// flags and DF are taken; user mode cannot change the rest anyway), returning the GPRs and RFLAGS after it.
    /// 32-bit code has eight GPRs of 32 bits: it takes the low halves of the first eight and gives back zero in
    /// the rest. With <paramref name="scratchSegment"/> (32-bit code only) DS, ES and SS hold the segment based at
    /// <see cref="ScratchSegmentBase"/> while the instruction runs; otherwise they are flat. The scratch buffer is
    /// the caller's to fill before and read after; one test class at a time uses it.
    /// </summary>
    public void Run(int bitness, ReadOnlySpan<byte> code, ReadOnlySpan<ulong> gprIn, ulong flagsIn, Span<ulong> gprOut, out ulong flagsOut,
        bool scratchSegment = false)
    {
        if (scratchSegment && (bitness != 32 || !HasScratchSegment(out _)))
            throw new InvalidOperationException($"no scratch segment for {bitness}-bit code");
        lock (Gate)
        {
            Load(code, SlotAddress(bitness));
            for (int i = 0; i < 16; i++)
            {
                _block[InGpr / 8 + i] = gprIn[i];
                _block[OutGpr / 8 + i] = 0;
            }
            // IF stays set and bit 1 is always one; TF and AC stay clear (a trap or an alignment check would
            // kill the test process).
            _block[InFlags / 8] = (flagsIn & (Flag.Status | Flag.DF)) | 0x202;
            *(ushort*)((byte*)_block + DataSelector) = scratchSegment ? ScratchSegmentSelector : UserDs;
            if (bitness == 64)
                _entry64();
            else
                _entry32();
            for (int i = 0; i < 16; i++)
                gprOut[i] = _block[OutGpr / 8 + i];
            flagsOut = _block[OutFlags / 8];
        }
    }

    /// <summary>Whether 32-bit code can use the scratch segment: it is an LDT entry, which modify_ldt(2) makes
    /// unless the kernel was built without it (CONFIG_MODIFY_LDT_SYSCALL).</summary>
    public bool HasScratchSegment(out string? whyNot)
    {
        lock (Gate)
        {
            _scratchSegment ??= WriteScratchSegment(out _whyNoScratchSegment);
            whyNot = _whyNoScratchSegment;
            return _scratchSegment.Value;
        }
    }

    // LDT entry 0 with TI = 1 and RPL = 3.
    const ushort ScratchSegmentSelector = (0 << 3) | 4 | 3;
    const long SysModifyLdt = 154;

    /// <summary>A writable 32-bit data segment (as struct user_desc describes it) of 4 GiB (0xFFFFF pages).</summary>
    bool WriteScratchSegment(out string? whyNot)
    {
        const uint Seg32Bit = 1 << 0, LimitInPages = 1 << 4, Useable = 1 << 6;
        uint* desc = stackalloc uint[4];
        desc[0] = 0; // entry_number
        desc[1] = checked((uint)ScratchSegmentBase);
        desc[2] = 0xF_FFFF;
        desc[3] = Seg32Bit | LimitInPages | Useable; // contents 0 (data, expand-up), writable, present
        long result = Syscall(SysModifyLdt, 0x11, desc, 16); // func 0x11: write an entry, new mode
        whyNot = result == 0 ? null : $"modify_ldt failed (errno {Marshal.GetLastPInvokeError()}), so 32-bit code has no segment for 16-bit addresses";
        return result == 0;
    }

    /// <summary>Places the instruction in the slot, NOP-padded; rewritten only when it changes, since a write to
    /// code the processor has run costs a pipeline flush.</summary>
    void Load(ReadOnlySpan<byte> code, ulong slotAddress)
    {
        if (code.Length > SlotSize)
            throw new ArgumentException("instruction longer than the slot", nameof(code));
        var slot = new Span<byte>(_region + (slotAddress - Base), SlotSize);
        if (slot.StartsWith(code) && slot[code.Length..].IndexOfAnyExcept((byte)0x90) < 0)
            return;
        slot.Fill(0x90);
        code.CopyTo(slot);
    }

    static (HostCpu?, string?) Create()
    {
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64)
            return (null, $"the host is {RuntimeInformation.ProcessArchitecture}, not x86-64");
        if (!OperatingSystem.IsLinux())
            return (null, "the host is not Linux (the native side maps memory with mmap)");
        string vendorString = HostVendorString();
        CpuVendor vendor = vendorString switch
        {
            "GenuineIntel" => CpuVendor.Intel,
            "AuthenticAMD" or "HygonGenuine" => CpuVendor.Amd, // Hygon's cores are AMD's
            _ => (CpuVendor)(-1),
        };
        if (!Enum.IsDefined(vendor))
            return (null, $"the host's vendor is '{vendorString}', which the emulator has no profile to match");
        foreach (ulong address in Candidates)
        {
            nint p = Mmap((nint)address, (nuint)RegionSize, ProtRead | ProtWrite | ProtExec,
                MapPrivate | MapAnonymous | MapFixedNoReplace, -1, 0);
            if (p == -1)
                continue;
            if ((ulong)p != address)
            {
                // A kernel older than 4.17 treats MAP_FIXED_NOREPLACE as a hint and maps elsewhere.
                _ = Munmap(p, (nuint)RegionSize);
                continue;
            }
            return (new HostCpu((byte*)p, vendor, vendorString), null);
        }
        // On an x86-64 Linux host this is an environment problem (a policy forbidding writable code, say) that
        // must fail the tests rather than quietly skip them.
        throw new InvalidOperationException($"could not map 0x{RegionSize:x} bytes read-write-execute at any of "
            + string.Join(", ", Candidates.Select(a => $"0x{a:x}")) + $" (errno {Marshal.GetLastPInvokeError()})");
    }

    /// <summary>CPUID.80000001H:ECX.LAHF-SAHF[bit 0]: LAHF and SAHF are valid in 64-bit mode.</summary>
    public static bool HasLahfSahf => (System.Runtime.Intrinsics.X86.X86Base.CpuId(unchecked((int)0x8000_0001), 0).Ecx & 1) != 0;

    /// <summary>CPUID.01H:ECX.CMPXCHG16B[bit 13].</summary>
    public static bool HasCmpxchg16b => (System.Runtime.Intrinsics.X86.X86Base.CpuId(1, 0).Ecx & (1 << 13)) != 0;

    static string HostVendorString()
    {
        var (_, ebx, ecx, edx) = System.Runtime.Intrinsics.X86.X86Base.CpuId(0, 0);
        Span<byte> s = stackalloc byte[12];
        BitConverter.TryWriteBytes(s, ebx);
        BitConverter.TryWriteBytes(s[4..], edx);
        BitConverter.TryWriteBytes(s[8..], ecx);
        return System.Text.Encoding.ASCII.GetString(s);
    }

    static readonly IcedRegister[] LoadedGprs =
    [
        IcedRegister.RAX, IcedRegister.RCX, IcedRegister.RDX, IcedRegister.RBX, IcedRegister.RSP, IcedRegister.RBP, IcedRegister.RSI, IcedRegister.RDI,
        IcedRegister.R8, IcedRegister.R9, IcedRegister.R10, IcedRegister.R11, IcedRegister.R12, IcedRegister.R13, IcedRegister.R14, IcedRegister.R15,
    ];

    /// <summary>
    /// Assembles the trampoline at <see cref="Base"/> and returns its slot's address. It is called as a
    /// System V function: it saves the callee-saved registers and RSP, loads RFLAGS and the GPRs from the
    /// block (RIP-relative, so no register is needed to address it), falls into the slot, stores every GPR
    /// and then RFLAGS back, clears DF as the ABI requires, restores and returns.
    /// </summary>
    ulong WriteTrampoline()
    {
        ulong block = Base + BlockOffset;
        MemoryOperand At(int offset) => new(IcedRegister.RIP, (long)(block + (ulong)offset));
        var a = new Assembler(64);
        foreach (var r in new[] { rbx, rbp, r12, r13, r14, r15 })
            a.push(r);
        a.AddInstruction(Instruction.Create(Code.Mov_rm64_r64, At(SavedRsp), IcedRegister.RSP));
        a.AddInstruction(Instruction.Create(Code.Push_rm64, At(InFlags)));
        a.popfq();
        for (int i = 0; i < 16; i++)
            if (LoadedGprs[i] != IcedRegister.RSP)
                a.AddInstruction(Instruction.Create(Code.Mov_r64_rm64, LoadedGprs[i], At(InGpr + i * 8)));
        var slot = a.CreateLabel("slot");
        a.Label(ref slot);
        for (int i = 0; i < SlotSize; i++)
            a.nop();
        for (int i = 0; i < 16; i++)
            if (LoadedGprs[i] != IcedRegister.RSP)
                a.AddInstruction(Instruction.Create(Code.Mov_rm64_r64, At(OutGpr + i * 8), LoadedGprs[i]));
        a.AddInstruction(Instruction.Create(Code.Mov_r64_rm64, IcedRegister.RSP, At(SavedRsp)));
        a.pushfq();
        a.AddInstruction(Instruction.Create(Code.Pop_rm64, At(OutFlags)));
        a.cld();
        foreach (var r in new[] { r15, r14, r13, r12, rbp, rbx })
            a.pop(r);
        a.ret();

        return Place(a, 0, CompatEntryOffset).GetLabelRIP(slot);
    }

    /// <summary>
    /// Assembles the 32-bit trampoline and returns its slot's address. Its entry, at <see cref="CompatEntryOffset"/>,
    /// is 64-bit code called as a System V function: it saves the callee-saved registers, RSP, DS and ES, and
    /// far-jumps through an m16:32 pointer to the 32-bit code with selector __USER32_CS, which switches the
    /// processor to compatibility mode. There ESP is set to the region's own stack (the real RSP is above 4 GiB),
    /// DS, ES and SS are made flat (Linux runs 64-bit code with null DS and ES, which 32-bit code cannot use),
    /// EFLAGS and the eight GPRs but ESP are loaded (absolute addresses: the region is below 4 GiB), then DS, ES
    /// and SS take the case's data selector, and the slot follows. After it the segments are made flat again
    /// (reading the selector through CS, the one segment the instruction cannot have changed), the GPRs and
    /// EFLAGS are stored, and a far jump with __USER_CS returns to 64-bit code, which restores and returns.
    /// </summary>
    ulong WriteCompatTrampoline()
    {
        ulong block = Base + BlockOffset;
        MemoryOperand Rip(int offset) => new(IcedRegister.RIP, (long)(block + (ulong)offset));
        MemoryOperand Abs(int offset, IcedRegister segment = IcedRegister.None) =>
            new(IcedRegister.None, IcedRegister.None, 1, (long)(block + (ulong)offset), 4, false, segment);

        // The 64-bit way in and way back.
        var a = new Assembler(64);
        foreach (var r in new[] { rbx, rbp, r12, r13, r14, r15 })
            a.push(r);
        a.AddInstruction(Instruction.Create(Code.Mov_rm64_r64, Rip(SavedRsp), IcedRegister.RSP));
        a.AddInstruction(Instruction.Create(Code.Mov_rm16_Sreg, Rip(SavedDs), IcedRegister.DS));
        a.AddInstruction(Instruction.Create(Code.Mov_rm16_Sreg, Rip(SavedEs), IcedRegister.ES));
        a.AddInstruction(Instruction.Create(Code.Jmp_m1632, Rip(FarTo32)));
        var back = a.CreateLabel("back");
        a.Label(ref back);
        a.AddInstruction(Instruction.Create(Code.Mov_r64_rm64, IcedRegister.RSP, Rip(SavedRsp)));
        a.AddInstruction(Instruction.Create(Code.Mov_Sreg_rm16, IcedRegister.DS, Rip(SavedDs)));
        a.AddInstruction(Instruction.Create(Code.Mov_Sreg_rm16, IcedRegister.ES, Rip(SavedEs)));
        a.cld();
        foreach (var r in new[] { r15, r14, r13, r12, rbp, rbx })
            a.pop(r);
        a.ret();
        var result64 = Place(a, CompatEntryOffset, Code32Offset);

        // The 32-bit code.
        var c = new Assembler(32);
        c.mov(esp, (uint)(Base + StackOffset + StackSize));
        foreach (var sreg in new[] { IcedRegister.SS, IcedRegister.DS, IcedRegister.ES })
            c.AddInstruction(Instruction.Create(Code.Mov_Sreg_rm16, sreg, Abs(FlatSelector, IcedRegister.CS)));
        c.AddInstruction(Instruction.Create(Code.Push_rm32, Abs(InFlags)));
        c.popfd();
        for (int i = 0; i < 8; i++)
            if (i != (int)Gpr.Rsp)
                c.AddInstruction(Instruction.Create(Code.Mov_r32_rm32, IcedRegister.EAX + i, Abs(InGpr + i * 8)));
        // DS last: the selectors are read through it.
        foreach (var sreg in new[] { IcedRegister.ES, IcedRegister.SS, IcedRegister.DS })
            c.AddInstruction(Instruction.Create(Code.Mov_Sreg_rm16, sreg, Abs(DataSelector)));
        var slot = c.CreateLabel("slot");
        c.Label(ref slot);
        for (int i = 0; i < SlotSize; i++)
            c.nop();
        foreach (var sreg in new[] { IcedRegister.DS, IcedRegister.ES, IcedRegister.SS })
            c.AddInstruction(Instruction.Create(Code.Mov_Sreg_rm16, sreg, Abs(FlatSelector, IcedRegister.CS)));
        for (int i = 0; i < 8; i++)
            if (i != (int)Gpr.Rsp)
                c.AddInstruction(Instruction.Create(Code.Mov_rm32_r32, Abs(OutGpr + i * 8), IcedRegister.EAX + i));
        c.pushfd();
        c.AddInstruction(Instruction.Create(Code.Pop_rm32, Abs(OutFlags)));
        c.AddInstruction(Instruction.Create(Code.Jmp_m1632, Abs(FarTo64)));
        var result32 = Place(c, Code32Offset, BlockOffset);

        byte* b = (byte*)_block;
        *(ushort*)(b + FlatSelector) = UserDs;
        *(uint*)(b + FarTo32) = (uint)(Base + Code32Offset);
        *(ushort*)(b + FarTo32 + 4) = User32Cs;
        *(uint*)(b + FarTo64) = checked((uint)result64.GetLabelRIP(back));
        *(ushort*)(b + FarTo64 + 4) = UserCs;
        return result32.GetLabelRIP(slot);
    }

    /// <summary>Assembles at Base + <paramref name="offset"/> and copies the bytes there, which must end before <paramref name="end"/>.</summary>
    AssemblerResult Place(Assembler a, ulong offset, ulong end)
    {
        var code = new MemoryStream();
        var result = a.Assemble(new StreamCodeWriter(code), Base + offset, BlockEncoderOptions.ReturnNewInstructionOffsets);
        if ((ulong)code.Length > end - offset)
            throw new InvalidOperationException($"trampoline at +0x{offset:x} does not fit before +0x{end:x}");
        code.ToArray().CopyTo(new Span<byte>(_region + offset, (int)code.Length));
        return result;
    }

    const int ProtRead = 1, ProtWrite = 2, ProtExec = 4;
    const int MapPrivate = 0x02, MapAnonymous = 0x20, MapFixedNoReplace = 0x10_0000;

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int Munmap(nint address, nuint length);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long function, void* pointer, long count);
}
