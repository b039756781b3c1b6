namespace Repl.GdbStub.Tests;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

public class MemoryPacketTests
{
    static string Monitor(InMemoryStub stub, string command) =>
        System.Text.Encoding.UTF8.GetString(Convert.FromHexString(stub.Request("qRcmd," + Protocol.Hex(command))));

    [Fact]
    public void m_reads_guest_memory_as_hex()
    {
        using var stub = new InMemoryStub();

        Assert.Equal("909048ffc0ebfe", stub.Request($"m{InMemoryStub.Code:x},7"));
    }

    [Fact]
    public void A_software_breakpoint_is_invisible_to_m_and_leaves_memory_as_it_was()
    {
        using var stub = new InMemoryStub();

        Assert.Equal("OK", stub.Request($"Z0,{InMemoryStub.Code:x},1"));

        Assert.Equal("909048ffc0ebfe", stub.Request($"m{InMemoryStub.Code:x},7"));
        var bytes = new byte[1];
        stub.Machine.ReadPhysical(InMemoryStub.Code, bytes);
        Assert.Equal(0x90, bytes[0]);
    }

    [Fact]
    public void M_writes_hex_bytes_into_guest_memory()
    {
        using var stub = new InMemoryStub();

        Assert.Equal("OK", stub.Request("M2000,3:a1b2c3"));

        Assert.Equal("a1b2c3", stub.Request("m2000,3"));
    }

    [Fact]
    public void X_writes_binary_data_with_its_escapes_undone()
    {
        using var stub = new InMemoryStub();
        byte[] data = [(byte)'#', (byte)'}', 0x00, (byte)'*'];
        byte[] packet = [.. "X3000,4:"u8, .. Protocol.EscapeBinary(data)];

        Assert.Equal("OK", stub.Request(System.Text.Encoding.Latin1.GetString(packet)));

        Assert.Equal(Protocol.Hex(data), stub.Request("m3000,4"));
    }

    [Fact]
    public void A_zero_length_X_probes_support_and_succeeds()
    {
        using var stub = new InMemoryStub();

        Assert.Equal("OK", stub.Request("X3000,0:"));
    }

    [Fact]
    public void Memory_is_read_through_the_current_page_tables()
    {
        // Not identity-mapped: the 1 GiB pages of CreateLongMode cover 512 GiB; beyond is unmapped.
        using var stub = new InMemoryStub();

        Assert.Equal("E0e", stub.Request("m10000000000,8"));
        Assert.Equal("E0e", stub.Request("M10000000000,1:00"));
    }

    [Fact]
    public void A_read_running_into_an_unmapped_page_returns_the_mapped_part()
    {
        // The last 1 GiB page of the identity map (linear 511 GiB) onto physical 0, so that its last bytes are RAM (1 GiB of
        // it, lazily backed) and the linear page after it is unmapped: only the mapping stops the read.
        var m = Machine.CreateLongMode(new MachineOptions { RamSize = 1UL << 30 });
        m.Bus.Write(m.Bus.Ram.Size - PhysicalMemory.PageSize + 511 * 8, 8, 0UL | 1 | 2 | (1 << 7));
        using var stub = new InMemoryStub(m);
        ulong lastMapped = (512UL << 30) - 2;

        Assert.Equal(4, stub.Request($"m{lastMapped:x},8").Length);
    }

    [Fact]
    public void Monitor_phys_makes_addresses_physical_and_virt_makes_them_linear_again()
    {
        var m = Machine.CreateLongMode();
        // Map linear 0x40000000 (the second 1 GiB page) onto physical 0: the PDPT is in the last page of RAM.
        ulong pdpt = m.Bus.Ram.Size - PhysicalMemory.PageSize;
        m.Bus.Write(pdpt + 8, 8, 0UL | 1 | 2 | (1 << 7));
        m.WritePhysical(0x5000, [0xAB]);
        using var stub = new InMemoryStub(m);

        Assert.Equal("ab", stub.Request("m40005000,1"));
        Assert.Contains("physical", Monitor(stub, "phys"));
        // Physical 0x40005000 lies beyond RAM, where nothing answers: an error, as QEMU's stub gives, not the bus's ones.
        Assert.Equal("E0e", stub.Request("m40005000,1"));
        Assert.Equal("ab", stub.Request("m5000,1"));
        Monitor(stub, "virt");
        Assert.Equal("ab", stub.Request("m40005000,1"));
    }

    [Fact]
    public void Monitor_cr3_reads_through_other_page_tables_than_the_current_ones()
    {
        var m = Machine.CreateLongMode();
        ulong kernelCr3 = m.State.Cr3;
        // The current CR3 points at an empty PML4, as under KPTI the user tables lack the kernel's half.
        m.WritePhysical(0x7000, [0x5A]);
        m.State.Cr3 = 0x20000;
        using var stub = new InMemoryStub(m);

        Assert.Equal("E0e", stub.Request("m7000,1"));
        Assert.Contains($"CR3=0x{kernelCr3:x}", Monitor(stub, $"cr3 {kernelCr3:x}"));
        Assert.Equal("5a", stub.Request("m7000,1"));
    }
}
