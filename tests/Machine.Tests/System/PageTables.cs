using Iced.Intel;

namespace Repl.Machine.Tests.SystemArchitecture;

/// <summary>Builds paging structures in a test machine's RAM, one table page at a time from a pool: 4- or 5-level
/// IA-32e tables, or (3 levels) PAE tables whose root page starts with the four PDPTEs.</summary>
sealed class PageTables
{
    public const ulong Present = 1, Writable = 2, User = 4, Accessed = 1 << 5, Dirty = 1 << 6, PageSize = 1 << 7,
        Global = 1 << 8, ExecuteDisable = 1UL << 63;
    const ulong AddressMask = 0x000F_FFFF_FFFF_F000;

    /// <summary>Where tables are allocated from: clear of the code, the stack and the test data.</summary>
    public const ulong Pool = 0x80_0000;

    readonly Machine _m;
    readonly int _levels;
    ulong _next;

    public ulong Root { get; }

    public PageTables(Machine m, int levels = 4, ulong pool = Pool)
    {
        _m = m;
        _levels = levels;
        _next = pool;
        Root = Allocate();
    }

    ulong Allocate()
    {
        ulong table = _next;
        _next += 0x1000;
        _m.WritePhysical(table, new byte[0x1000]);
        return table;
    }

    /// <summary>Maps a page of 2^<paramref name="pageShift"/> bytes (12, 21 or 30); intermediate entries are present,
    /// writable and user so that the leaf's flags decide. Returns the physical address of the leaf entry.</summary>
    public ulong Map(ulong linear, ulong physical, ulong flags, int pageShift = 12)
    {
        ulong table = Root;
        for (int level = _levels; ; level--)
        {
            int shift = 12 + 9 * (level - 1);
            ulong entry = table + ((linear >> shift) & 511) * 8;
            if (shift == pageShift)
            {
                Write(entry, physical | flags | (pageShift > 12 ? PageSize : 0));
                return entry;
            }
            ulong value = Read(entry);
            if ((value & Present) == 0)
                // A PAE page-directory-pointer entry (3 levels) has no rights bits: R/W and U/S are reserved there.
                Write(entry, value = Allocate() | Present | (_levels == 3 ? 0 : Writable | User));
            table = value & AddressMask;
        }
    }

    /// <summary>The physical addresses of the entries that translate <paramref name="linear"/>, root level first.</summary>
    public List<ulong> EntriesFor(ulong linear)
    {
        var entries = new List<ulong>();
        ulong table = Root;
        for (int level = _levels; level >= 1; level--)
        {
            ulong entry = table + ((linear >> (12 + 9 * (level - 1))) & 511) * 8;
            entries.Add(entry);
            ulong value = Read(entry);
            if ((value & Present) == 0 || (level <= 3 && (value & PageSize) != 0))
                break;
            table = value & AddressMask;
        }
        return entries;
    }

    public ulong Read(ulong entry) => _m.Bus.Read(entry, 8);

    public void Write(ulong entry, ulong value) => _m.Bus.Write(entry, 8, value);

    /// <summary>
    /// A 64-bit machine running <paramref name="build"/> on these tables: the code pages and the stack page are
    /// identity-mapped (user-accessible when <paramref name="user"/>), nothing else is.
    /// </summary>
    public static (Machine Machine, PageTables Tables) Machine(Action<Assembler> build, int levels = 4, bool user = false)
    {
        var m = Guest.Long(build);
        var t = new PageTables(m, levels);
        ulong flags = Present | Writable | (user ? User : 0);
        for (ulong page = Guest.CodeAddress; page < Guest.CodeAddress + 0x2000; page += 0x1000)
            t.Map(page, page, flags);
        t.Map(Guest.StackTop - 0x1000, Guest.StackTop - 0x1000, flags);
        m.State.Cr3 = t.Root;
        if (levels == 5)
            m.State.Cr4 |= CpuState.Cr4La57;
        return (m, t);
    }
}
