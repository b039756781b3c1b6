namespace Repl.Machine;

/// <summary>
/// QEMU's isa-debug-exit device: a write of v to any of its ports ends the machine with exit status
/// (v &lt;&lt; 1) | 1, the status QEMU's process exits with, so that a test kernel can report success or failure
/// without a shutdown path. Reads answer 0, as QEMU's do.
/// </summary>
public sealed class DebugExit(Cpu cpu) : IPortDevice
{
    /// <summary>The port QEMU's tests conventionally use (<c>-device isa-debug-exit,iobase=0xf4,iosize=0x04</c>).</summary>
    public const ushort DefaultPort = 0xF4;
    public const int DefaultPortCount = 4;

    public uint In(ushort port, int size) => 0;

    public void Out(ushort port, int size, uint value) =>
        cpu.StopAfterInstruction(new StopReason(StopKind.DebugExit, 0, ExitStatus: (int)((value << 1) | 1)));
}
