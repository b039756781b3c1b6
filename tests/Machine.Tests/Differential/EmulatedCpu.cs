namespace Repl.Machine.Tests.Differential;

/// <summary>
/// The emulator side: a machine of the host's vendor in 64-bit mode, or for 32-bit code in 32-bit protected
/// mode with flat segments, with the instruction under test at the same address as the host's slot (so
/// RIP-relative operands mean the same thing) followed by HLT, and the host's scratch addresses backed by its
/// RAM (linear = physical: under the identity map in 64-bit mode, with paging off in 32-bit mode).
/// </summary>
sealed class EmulatedCpu(CpuVendor vendor, ulong codeAddress, int bitness)
{
    const byte Hlt = 0xF4;

    /// <summary>Where RSP points; no instruction under test uses the stack, so it must come back unchanged.</summary>
    public const ulong StackPointer = 0x7F_F000;

    /// <summary>Enough for the longest REP string case even if each iteration counts as one instruction.</summary>
    const ulong Budget = 100_000;

    readonly Machine _machine = bitness == 64
        ? Machine.CreateLongMode(new MachineOptions { Vendor = vendor })
        : Machine.CreateProtectedMode(new MachineOptions { Vendor = vendor });
    int _codeLength = -1;
    byte[] _loaded = [];

    static readonly SegmentRegister[] DataSegments = [SegmentRegister.Ds, SegmentRegister.Es, SegmentRegister.Ss];

    public Machine Machine => _machine;

    public void Load(byte[] code)
    {
        if (code.AsSpan().SequenceEqual(_loaded))
            return;
        var bytes = new byte[code.Length + 1];
        code.CopyTo(bytes, 0);
        bytes[^1] = Hlt;
        _machine.WritePhysical(codeAddress, bytes);
        _loaded = code;
        _codeLength = code.Length;
    }

    public void WriteMemory(ulong address, ReadOnlySpan<byte> bytes) => _machine.WritePhysical(address, bytes);

    public void ReadMemory(ulong address, Span<byte> bytes) => _machine.ReadPhysical(address, bytes);

    /// <summary>Runs the loaded instruction (to the HLT after it). Returns null when it completed, otherwise
    /// what happened instead (a fault such as #UD for an unimplemented instruction, or an exception that
    /// escaped the machine, which is a bug in itself). In 32-bit code DS, ES and SS get <paramref name="dataSegmentBase"/>
    /// as their base, as the host's segments for 16-bit addresses have.</summary>
    public string? Run(ReadOnlySpan<ulong> gprIn, ulong flagsIn, Span<ulong> gprOut, out ulong flagsOut, ulong dataSegmentBase = 0)
    {
        ref CpuState s = ref _machine.State;
        if (bitness != 64)
            foreach (var sr in DataSegments)
                s.Segments[(int)sr].Base = dataSegmentBase;
        for (int i = 0; i < 16; i++)
            s.Gpr[i] = gprIn[i];
        s.Gpr[(int)Gpr.Rsp] = StackPointer;
        s.Rflags = flagsIn;
        s.Rip = codeAddress;
        _machine.Cpu.UnimplementedExecuted.Clear();
        string? failure;
        try
        {
            var stop = _machine.Run(Budget);
            ulong expected = codeAddress + (ulong)_codeLength + 1;
            failure = stop.Kind == StopKind.Halted && stop.Rip == expected ? null : Describe(stop);
        }
        catch (Exception e)
        {
            failure = $"{e.GetType().Name} escaped the machine: {e.Message}";
        }
        for (int i = 0; i < 16; i++)
            gprOut[i] = s.Gpr[i];
        flagsOut = s.Rflags;
        return failure;
    }

    /// <summary>Says what happened without addresses, so that the same problem reads the same in every case.</summary>
    string Describe(StopReason stop)
    {
        if (_machine.Cpu.UnimplementedExecuted.Count > 0)
            return $"#UD, unimplemented: {string.Join(", ", _machine.Cpu.UnimplementedExecuted.Keys)}";
        if (stop.Kind == StopKind.Fault && stop.Vector is { } vector)
            return $"{VectorNames.Mnemonic(vector)}{(stop.ErrorCode is { } e ? $"(0x{e:x})" : "")}";
        return stop.Kind == StopKind.Halted
            ? $"stopped {(long)(stop.Rip - codeAddress) - _codeLength - 1:+#;-#} bytes away from after the instruction"
            : stop.Kind.ToString();
    }
}
