using System.Runtime.InteropServices;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using IcedRegister = Iced.Intel.Register;

namespace Repl.Machine.Tests.Differential;

/// <summary>
/// Runs one instruction on the host processor. A region is mapped read-write-execute at a fixed low address
/// (so that the same addresses exist in the emulator's RAM): a trampoline, the block it loads registers from
/// and stores them to, and a scratch buffer for memory operands and strings.
/// <code>
///   Base + 0x0000  trampoline; the instruction under test sits in its slot, padded with NOPs
///   Base + 0x1000  register block: 16 GPRs in, RFLAGS in, 16 GPRs out, RFLAGS out, saved RSP
///   Base + 0x2000  scratch, <see cref="ScratchSize"/> bytes (its middle is on a page boundary)
/// </code>
/// The trampoline keeps the real RSP (the instruction under test never names RSP), so the value "loaded"
/// into RSP is ignored and the one stored back is meaningless.
/// </summary>
sealed unsafe partial class HostCpu
{
    public const int SlotSize = 32;
    public const ulong ScratchOffset = 0x2000;
    public const int ScratchSize = 0x4000;
    const ulong BlockOffset = 0x1000;
    const ulong RegionSize = ScratchOffset + ScratchSize;

    // Block layout, in bytes from the block's start.
    const int InGpr = 0, InFlags = 16 * 8, OutGpr = InFlags + 8, OutFlags = OutGpr + 16 * 8, SavedRsp = OutFlags + 8;

    /// <summary>Low addresses to try, all inside the emulator's default 256 MiB of RAM and below its page tables.</summary>
    static readonly ulong[] Candidates = [0x0800_0000, 0x0900_0000, 0x0A00_0000, 0x0B00_0000, 0x0C00_0000, 0x0D00_0000, 0x0E00_0000];

    static readonly Lock Gate = new();
    static readonly Lazy<(HostCpu? Cpu, string? Why)> Shared = new(Create);

    public ulong Base { get; }
    public ulong SlotAddress { get; }
    public ulong ScratchAddress => Base + ScratchOffset;
    public CpuVendor Vendor { get; }
    public string VendorString { get; }

    readonly byte* _region;
    readonly ulong* _block;
    readonly delegate* unmanaged<void> _entry;

    HostCpu(byte* region, CpuVendor vendor, string vendorString)
    {
        _region = region;
        Base = (ulong)region;
        _block = (ulong*)(region + BlockOffset);
        _entry = (delegate* unmanaged<void>)region;
        Vendor = vendor;
        VendorString = vendorString;
        SlotAddress = WriteTrampoline();
    }

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
    /// Runs <paramref name="code"/> once with the given GPRs and RFLAGS (only the status flags and DF are taken;
    /// user mode cannot change the rest anyway), returning the GPRs and RFLAGS after it. The scratch buffer is
    /// the caller's to fill before and read after; one test class at a time uses it.
    /// </summary>
    public void Run(ReadOnlySpan<byte> code, ReadOnlySpan<ulong> gprIn, ulong flagsIn, Span<ulong> gprOut, out ulong flagsOut)
    {
        lock (Gate)
        {
            Load(code);
            for (int i = 0; i < 16; i++)
                _block[InGpr / 8 + i] = gprIn[i];
            // IF stays set and bit 1 is always one; TF and AC stay clear (a trap or an alignment check would
            // kill the test process).
            _block[InFlags / 8] = (flagsIn & (Flag.Status | Flag.DF)) | 0x202;
            _entry();
            for (int i = 0; i < 16; i++)
                gprOut[i] = _block[OutGpr / 8 + i];
            flagsOut = _block[OutFlags / 8];
        }
    }

    /// <summary>Places the instruction in the slot, NOP-padded; rewritten only when it changes, since a write to
    /// code the processor has run costs a pipeline flush.</summary>
    void Load(ReadOnlySpan<byte> code)
    {
        if (code.Length > SlotSize)
            throw new ArgumentException("instruction longer than the slot", nameof(code));
        var slot = new Span<byte>(_region + (SlotAddress - Base), SlotSize);
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

        var code = new MemoryStream();
        var result = a.Assemble(new StreamCodeWriter(code), Base, BlockEncoderOptions.ReturnNewInstructionOffsets);
        if (code.Length > (long)BlockOffset)
            throw new InvalidOperationException("trampoline does not fit its page");
        code.ToArray().CopyTo(new Span<byte>(_region, (int)code.Length));
        return result.GetLabelRIP(slot);
    }

    const int ProtRead = 1, ProtWrite = 2, ProtExec = 4;
    const int MapPrivate = 0x02, MapAnonymous = 0x20, MapFixedNoReplace = 0x10_0000;

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int Munmap(nint address, nuint length);
}
