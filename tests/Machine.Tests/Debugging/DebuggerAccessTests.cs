namespace Repl.Machine.Tests.Debugging;

/// <summary>
/// The one rule for a debugger's reads and writes (Machine.ReadVirtual and friends): bytes from the start of the range
/// up to the first that does not translate, that no RAM or device backs, or that lies past the top of the address
/// space. The processor would read ones there, or wrap; a debugger must not show memory that is not there.
/// </summary>
public class DebuggerAccessTests
{
    const ulong Ram = 16 << 20;

    static Machine LongMode() => Machine.CreateLongMode(new MachineOptions { RamSize = Ram });

    [Fact]
    public void A_physical_read_stops_where_RAM_ends_though_the_processor_would_read_ones_there()
    {
        var m = LongMode();
        var bytes = new byte[16];

        Assert.Equal(8, m.ReadPhysicalBacked(Ram - 8, bytes));
        Assert.Equal(0, m.ReadPhysicalBacked(0xffff_ffff_ffff_fff8, bytes));
        Assert.Equal(0, m.WritePhysicalBacked(Ram, bytes));
        m.ReadPhysical(Ram, bytes);
        Assert.All(bytes, b => Assert.Equal(0xff, b)); // what the guest sees: the bus's open value
    }

    [Fact]
    public void A_linear_read_that_maps_to_no_RAM_stops_there()
    {
        var m = LongMode(); // the low 512 GiB identity-mapped, far more than the RAM
        var bytes = new byte[16];

        Assert.Equal(8, m.ReadVirtual(Ram - 8, bytes));
        Assert.Equal("0x1000000 maps to physical 0x1000000, where no RAM or device is", m.WhyUnreadable(Ram));
        Assert.Equal("0xdead000000000000 is not canonical", m.WhyUnreadable(0xdead_0000_0000_0000));
        Assert.Equal("the page tables do not map 0xffffffff80000000", m.WhyUnreadable(0xffff_ffff_8000_0000));
    }

    [Fact]
    public void With_paging_off_an_address_beyond_RAM_reads_nothing_rather_than_ones()
    {
        var m = Machine.CreateProtectedMode(new MachineOptions { RamSize = Ram });
        var bytes = new byte[8];

        Assert.Equal(0, m.ReadVirtual(0xdead_0000_0000_0000, bytes));
        Assert.Equal(8, m.ReadVirtual(0x1000, bytes));
        Assert.Equal("paging is off and no RAM or device is at 0xdead000000000000", m.WhyUnreadable(0xdead_0000_0000_0000));
    }

    [Fact]
    public void A_read_does_not_wrap_past_the_top_of_the_address_space_to_address_0()
    {
        var m = LongMode();
        TopPage.Map(m);
        var bytes = new byte[64];

        Assert.Equal(16, m.ReadVirtual(0xffff_ffff_ffff_fff0, bytes));
        Assert.Equal(16, m.WriteVirtual(0xffff_ffff_ffff_fff0, bytes));
    }
}
