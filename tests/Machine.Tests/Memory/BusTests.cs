namespace Repl.Machine.Tests.Memory;

public class BusTests
{
    [Fact]
    public void A_4_GiB_guest_that_touches_10_MiB_costs_the_host_about_10_MiB()
    {
        var chunk = new byte[1 << 20];
        // Allocations of this thread only: other tests run in parallel.
        long before = GC.GetAllocatedBytesForCurrentThread();
        var bus = new Bus(4UL << 30);
        for (ulong mib = 0; mib < 10; mib++)
            bus.Write(mib * (400UL << 20), chunk); // spread over the whole 4 GiB
        long cost = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(10 * 256, bus.Ram.BackedPages);
        Assert.InRange<long>(cost, 10L << 20, 11L << 20);
    }

    [Fact]
    public void Untouched_RAM_reads_zero_and_holes_read_all_ones_and_ignore_writes()
    {
        var bus = new Bus(1 << 20);
        Assert.Equal(0UL, bus.Read(0x1000, 8));
        Assert.Equal(0L, bus.Ram.BackedPages);
        bus.Write(0x20_0000, 4, 0x1234);
        Assert.Equal(0xFFFF_FFFFUL, bus.Read(0x20_0000, 4));
        Assert.Equal(0xFFFF_FFFF_0000_0000UL, bus.Read(0xF_FFFC, 8));
    }

    [Fact]
    public void A_device_claims_its_range_over_RAM_and_its_ports()
    {
        var bus = new Bus(1 << 20);
        var device = new RecordingDevice();
        bus.MapMmio(0x8000, 0x1000, device);
        bus.MapPorts(0x3F8, 8, device);
        bus.Write(0x8010, 4, 0xCAFE);
        Assert.Equal((0x10UL, 4, 0xCAFEUL), device.LastWrite);
        Assert.Equal(0x10UL + 4, bus.Read(0x8010, 4));
        bus.Out(0x3F9, 1, 0x41);
        Assert.Equal(((ushort)0x3F9, 0x41u), device.LastOut);
        Assert.Equal(0xFFu, bus.In(0x60, 1));
        Assert.Equal(0xFFFFu, bus.In(0x60, 2));
    }

    sealed class RecordingDevice : IMmioDevice, IPortDevice
    {
        public (ulong, int, ulong) LastWrite;
        public (ushort, uint) LastOut;
        public ulong Read(ulong offset, int size) => offset + (ulong)size;
        public void Write(ulong offset, int size, ulong value) => LastWrite = (offset, size, value);
        public uint In(ushort port, int size) => 0;
        public void Out(ushort port, int size, uint value) => LastOut = (port, value);
    }
}
