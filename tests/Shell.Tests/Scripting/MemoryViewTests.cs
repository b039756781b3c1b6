using Repl.Shell.Scripting;

namespace Repl.Shell.Tests.Scripting;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>Mem and Mem.Phys follow the machine's one rule for a debugger's reach, as x does: what no RAM or device
/// backs, what does not translate and what lies past the top of the address space is refused, never read as ones or
/// wrapped to address 0.</summary>
public class MemoryViewTests
{
    [Fact]
    public void Physical_memory_that_nothing_backs_is_refused_rather_than_read_as_ones()
    {
        var mem = new MemoryView(Machine.CreateProtectedMode());

        var e = Assert.Throws<InvalidOperationException>(() => mem.Phys.U64[0xffff_ffff_ffff_fff8]);
        Assert.Equal("physical address 0xfffffffffffffff8 cannot be reached (after 0 of 8 bytes from 0xfffffffffffffff8): no RAM or device at physical 0xfffffffffffffff8", e.Message);
        mem.Phys.U64[0x1000] = 0x1122;
        Assert.Equal(0x1122UL, mem.Phys.U64[0x1000]);
    }

    [Fact]
    public void With_paging_off_an_address_beyond_RAM_is_refused()
    {
        var mem = new MemoryView(Machine.CreateProtectedMode());

        var e = Assert.Throws<InvalidOperationException>(() => mem.U64[0xdead_0000_0000_0000]);
        Assert.EndsWith("paging is off and no RAM or device is at 0xdead000000000000", e.Message);
    }

    [Fact]
    public void A_read_across_the_top_of_the_address_space_stops_there_instead_of_wrapping_to_0()
    {
        var machine = Machine.CreateLongMode();
        Repl.Machine.Tests.Debugging.TopPage.Map(machine);
        var mem = new MemoryView(machine);

        Assert.Equal(16, mem.Read(0xffff_ffff_ffff_fff0, 16).Length);
        var e = Assert.Throws<InvalidOperationException>(() => mem.Read(0xffff_ffff_ffff_fff0, 64));
        Assert.Equal("linear address 0x0 cannot be reached (after 16 of 64 bytes from 0xfffffffffffffff0): the range runs past the top of the address space", e.Message);
    }
}
