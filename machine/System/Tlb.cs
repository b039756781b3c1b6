using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Repl.Machine;

/// <summary>One cached translation of a 4 KiB linear page (a 2 MiB or 1 GiB page is cached 4 KiB at a time).</summary>
struct TlbEntry
{
    /// <summary>Linear address bits 56:12.</summary>
    public ulong PageNumber;
    /// <summary>The address space the entry belongs to (see <see cref="Tlb"/>); 0 never matches.</summary>
    public ulong Context;
    /// <summary>Physical address of the 4 KiB frame.</summary>
    public ulong Frame;
    /// <summary>Which (privilege, access) pairs the entry allows without a walk: <see cref="Tlb.AllowBit"/>.</summary>
    public ushort Allow;
    /// <summary>log2 of the size of the page the translation came from: 12, 21 or 30 (INVLPG drops the whole page).</summary>
    public byte PageShift;
}

/// <summary>
/// The translation lookaside buffer (SDM Vol. 3, 4.10): a direct-mapped array of translations tagged with an
/// address-space context. Each PCID owns a context number; flushing a PCID's non-global entries just gives it
/// a fresh number, so a CR3 write costs the same whatever the TLB holds, and two CR3 roots with their own PCIDs
/// (KPTI) keep their entries side by side: the slot is picked from the page number mixed with the PCID. Global
/// entries carry the shared global context, which only a global flush renews.
/// </summary>
sealed class Tlb
{
    const int Bits = 10;
    const int Mask = (1 << Bits) - 1;
    public const int PcidCount = 4096;

    readonly TlbEntry[] _entries = new TlbEntry[1 << Bits];
    readonly ulong[] _pcidContext = new ulong[PcidCount];
    ulong _nextContext;
    ulong _globalContext;
    ulong _currentContext;
    int _currentSalt;
    int _currentPcid;
    /// <summary>Set once a global or large-page entry is cached: INVLPG must then look beyond one slot.</summary>
    bool _hasWideEntries;

    public Tlb()
    {
        Array.Fill(_pcidContext, 1UL);
        _globalContext = 2;
        _nextContext = 2;
        SwitchPcid(0);
    }

    /// <summary>Every (privilege, access) pair: what an identity entry allows while paging is off.</summary>
    public const ushort AllowAll = (1 << 9) - 1;

    /// <summary>The allow bit for an access of <paramref name="kind"/> by <paramref name="privilege"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort AllowBit(Cpu.Access kind, Privilege privilege) => (ushort)(1 << ((int)privilege * 3 + (int)kind));

    static int Salt(int pcid) => (int)((uint)pcid * 0x9E37_79B9u >> (32 - Bits));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLookup(ulong linear, ushort allowBit, out ulong physical)
    {
        ulong pageNumber = linear >> PhysicalMemory.PageShift;
        // The index is masked to the array's length, so the bounds check can go.
        ref TlbEntry e = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_entries), (int)(pageNumber ^ (ulong)_currentSalt) & Mask);
        if (e.PageNumber == pageNumber && (e.Context == _currentContext || e.Context == _globalContext) && (e.Allow & allowBit) != 0)
        {
            physical = e.Frame | (linear & (PhysicalMemory.PageSize - 1));
            return true;
        }
        physical = 0;
        return false;
    }

    public void Insert(ulong linear, ulong frame, ushort allow, int pageShift, bool global)
    {
        ulong pageNumber = linear >> PhysicalMemory.PageShift;
        _entries[(int)(pageNumber ^ (ulong)_currentSalt) & Mask] = new TlbEntry
        {
            PageNumber = pageNumber,
            Context = global ? _globalContext : _currentContext,
            Frame = frame,
            Allow = allow,
            PageShift = (byte)pageShift,
        };
        _hasWideEntries |= global || pageShift != PhysicalMemory.PageShift;
    }

    /// <summary>Makes <paramref name="pcid"/> the current PCID (CR3 load).</summary>
    public void SwitchPcid(int pcid)
    {
        _currentPcid = pcid;
        _currentContext = _pcidContext[pcid];
        _currentSalt = Salt(pcid);
    }

    /// <summary>Drops every non-global entry of <paramref name="pcid"/>.</summary>
    public void FlushPcid(int pcid)
    {
        _pcidContext[pcid] = ++_nextContext;
        if (pcid == _currentPcid)
            _currentContext = _pcidContext[pcid];
    }

    /// <summary>Drops every entry, global ones included, of every PCID.</summary>
    public void FlushAll()
    {
        Array.Clear(_entries);
        _hasWideEntries = false;
    }

    /// <summary>Drops every non-global entry of every PCID.</summary>
    public void FlushAllNonGlobal()
    {
        foreach (ref TlbEntry e in _entries.AsSpan())
            if (e.Context != _globalContext)
                e = default;
    }

    /// <summary>
    /// Drops the entries for the page holding <paramref name="linear"/> that belong to <paramref name="pcid"/>,
    /// and the global ones too when <paramref name="includeGlobal"/>; when the page is larger than 4 KiB, every
    /// 4 KiB piece of it goes (SDM Vol. 3, 4.10.4.1).
    /// </summary>
    public void InvalidatePage(ulong linear, int pcid, bool includeGlobal)
    {
        ulong context = _pcidContext[pcid];
        ulong pageNumber = linear >> PhysicalMemory.PageShift;
        ref TlbEntry slot = ref _entries[(int)(pageNumber ^ (ulong)Salt(pcid)) & Mask];
        if (slot.PageNumber == pageNumber && Matches(slot, context, includeGlobal))
            slot = default;
        if (!_hasWideEntries)
            return;
        foreach (ref TlbEntry e in _entries.AsSpan())
            if (((e.PageNumber << PhysicalMemory.PageShift) ^ linear) >> e.PageShift == 0 && Matches(e, context, includeGlobal))
                e = default;
    }

    bool Matches(in TlbEntry e, ulong context, bool includeGlobal) =>
        e.Context == context || (includeGlobal && e.Context == _globalContext);

    /// <summary>
    /// The entries a lookup could still hit, for debuggers: global ones, and those whose context is still their
    /// PCID's (a flushed PCID's old entries are dead). The PCID is recovered from the slot, which the PCID's salt
    /// chose.
    /// </summary>
    public List<CachedTranslation> Entries()
    {
        var live = new List<CachedTranslation>();
        for (int slot = 0; slot < _entries.Length; slot++)
        {
            TlbEntry e = _entries[slot];
            if (e.Context == 0)
                continue;
            int? pcid = null;
            if (e.Context != _globalContext)
            {
                int salt = (slot ^ (int)e.PageNumber) & Mask;
                pcid = Enumerable.Range(0, PcidCount).Cast<int?>().FirstOrDefault(p => Salt(p!.Value) == salt && _pcidContext[p.Value] == e.Context);
                if (pcid is null)
                    continue;
            }
            live.Add(new CachedTranslation(e.PageNumber << PhysicalMemory.PageShift, e.Frame, 1UL << e.PageShift, pcid,
                                           Rights(e.Allow, Privilege.User), Rights(e.Allow, Privilege.Supervisor)));
        }
        return live;
    }

    /// <summary>"rwx" with '-' for each access the entry does not allow at that privilege without a walk.</summary>
    static string Rights(ushort allow, Privilege privilege) => string.Concat(
        (allow & AllowBit(Cpu.Access.Read, privilege)) != 0 ? "r" : "-",
        (allow & AllowBit(Cpu.Access.Write, privilege)) != 0 ? "w" : "-",
        (allow & AllowBit(Cpu.Access.Execute, privilege)) != 0 ? "x" : "-");
}

/// <summary>
/// A translation the TLB holds: the 4 KiB linear page, its frame, the size of the page it came from, the PCID it
/// belongs to (null for a global entry), and the accesses it allows without a page walk for user and supervisor
/// ("rwx"; a write through a page not yet marked dirty still walks, so it shows as '-').
/// </summary>
public readonly record struct CachedTranslation(ulong Linear, ulong Physical, ulong PageSize, int? Pcid, string User, string Supervisor);

/// <summary>
/// Who makes a linear-address access, as paging's protection checks see it (SDM Vol. 3, 4.6): a user-mode access
/// (CPL 3, explicit); a supervisor-mode access under SMAP (implicit, or explicit with RFLAGS.AC = 0); an explicit
/// supervisor-mode access with RFLAGS.AC = 1, which SMAP lets through.
/// </summary>
public enum Privilege : byte
{
    User = 0,
    Supervisor = 1,
    SupervisorAc = 2,
}
