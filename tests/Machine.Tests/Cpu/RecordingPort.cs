namespace Repl.Machine.Tests.Cpu;

/// <summary>A port device that records what the guest does with it and answers reads from a counter.</summary>
sealed class RecordingPort : IPortDevice
{
    public List<(ushort Port, int Size, uint Value)> Outs { get; } = [];
    public List<(ushort Port, int Size)> Ins { get; } = [];
    /// <summary>The value the next read returns (truncated to its size); each read adds 0x01010101.</summary>
    public uint Next { get; set; } = 0x04030201;

    public uint In(ushort port, int size)
    {
        Ins.Add((port, size));
        uint value = (uint)(Next & ((1UL << (size * 8)) - 1));
        Next += 0x01010101;
        return value;
    }

    public void Out(ushort port, int size, uint value) => Outs.Add((port, size, value));
}
