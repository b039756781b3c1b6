namespace Repl.Machine.Tests.Debugging;

/// <summary>The top page of the address space mapped onto RAM, for tests of what happens at 2^64 (linked into the shell's
/// tests too).</summary>
public static class TopPage
{
    /// <summary>Maps the top page of the address space (0xfffffffffffff000) onto RAM in a <see cref="Machine.CreateLongMode"/>
    /// machine, with tables in the free RAM below its own, so that only the top of the space can stop a read there.</summary>
    public static void Map(Machine m)
    {
        ulong ram = m.Bus.Ram.Size, pml4 = m.State.Cr3 & ~0xfffUL;
        ulong pdpt = ram - 3 * 4096, pd = ram - 4 * 4096, pt = ram - 5 * 4096;
        const ulong Present = 1, Writable = 2;
        m.Bus.Write(pml4 + 511 * 8, 8, pdpt | Present | Writable);
        m.Bus.Write(pdpt + 511 * 8, 8, pd | Present | Writable);
        m.Bus.Write(pd + 511 * 8, 8, pt | Present | Writable);
        m.Bus.Write(pt + 511 * 8, 8, 0x20_0000 | Present | Writable);
    }
}
