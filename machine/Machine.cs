namespace Repl.Machine;

public sealed record MachineOptions
{
    public const ulong DefaultRamSize = 256UL << 20;

    public ulong RamSize { get; init; } = DefaultRamSize;
    public CpuVendor Vendor { get; init; } = CpuVendor.Intel;
}

/// <summary>
/// The emulated PC: one processor on a physical bus with RAM and devices. This is the public face that the
/// shell, the GDB stub and scripts drive: registers by enum or name, memory, step and run with stop reasons.
/// </summary>
public sealed class Machine
{
    public Bus Bus { get; }
    public Cpu Cpu { get; }

    /// <summary>The serial port at COM1 (0x3F8); its <see cref="Uart16550.Transmitted"/> event carries the guest's output.</summary>
    public Uart16550 Com1 { get; }

    /// <summary>The processor's local APIC (xAPIC registers at IA32_APIC_BASE, by default 0xFEE00000).</summary>
    public LocalApic Apic { get; }

    public Machine(MachineOptions? options = null)
    {
        options ??= new MachineOptions();
        Bus = new Bus(options.RamSize);
        Cpu = new Cpu(Bus, options.Vendor);
        Com1 = new Uart16550(Uart16550.Com1);
        Com1.Transmitted += b => Cpu.Sink?.Serial(Uart16550.Com1, b);
        Bus.MapPorts(Uart16550.Com1, Uart16550.PortCount, Com1);
        Bus.MapPorts(DebugExit.DefaultPort, DebugExit.DefaultPortCount, new DebugExit(Cpu));
        Apic = new LocalApic(Cpu);
        Cpu.Apic = Apic;
        Cpu.TimeSource = Apic;
        Cpu.InterruptAcknowledged = Apic.Acknowledge;
    }

    public ref CpuState State => ref Cpu.State;

    /// <summary>Exception and interrupt deliveries, system calls, SWAPGS, CR and MSR writes, mode changes and serial
    /// output, as they happen; free while nobody subscribes.</summary>
    public MachineEvents Events => Cpu.Events;

    /// <summary>Host-side watchpoints for debuggers, invisible to the guest: a run stops after an instruction that
    /// accessed watched memory (see <see cref="Repl.Machine.Watchpoints"/>).</summary>
    public Watchpoints Watchpoints => Cpu.Watchpoints;

    public ulong ReadRegister(Register r) => Cpu.State.Read(r);

    public void WriteRegister(Register r, ulong value)
    {
        Cpu.State.Write(r, value);
        if (r == Register.Cr8)
            Apic.UpdateOffer(); // CR8 is the APIC's TPR: a new priority may let a requested interrupt through
    }

    public ulong ReadRegister(string name) =>
        RegisterNames.TryParse(name, out var r) ? ReadRegister(r) : throw UnknownRegister(name);

    public void WriteRegister(string name, ulong value)
    {
        if (!RegisterNames.TryParse(name, out var r))
            throw UnknownRegister(name);
        WriteRegister(r, value);
    }

    /// <summary>Reads an MSR as a debugger does, without the guest's privilege check.</summary>
    public ulong ReadMsr(Msr msr) => Cpu.ReadMsr(OnThisProfile(msr));

    /// <summary>Writes an MSR as a debugger does: the value goes in without the checks a guest WRMSR meets.</summary>
    public void WriteMsr(Msr msr, ulong value) => Cpu.WriteMsr(OnThisProfile(msr), value);

    public ulong ReadMsr(string name) => ReadMsr(ParseMsr(name));

    public void WriteMsr(string name, ulong value) => WriteMsr(ParseMsr(name), value);

    /// <summary>The MSRs of this machine's vendor profile, in index order.</summary>
    public IEnumerable<MsrInfo> ListMsrs() => ModelSpecificRegisters.For(Cpu.Vendor);

    Msr ParseMsr(string name) =>
        ModelSpecificRegisters.TryParse(name, out var msr) && ModelSpecificRegisters.Exists(msr, Cpu.Vendor)
            ? msr
            : throw new ArgumentException($"no MSR named '{name}' on the {Cpu.Vendor} profile (try lstar, kernel_gs_base, IA32_EFER, 0xc0000082...)", nameof(name));

    Msr OnThisProfile(Msr msr) => ModelSpecificRegisters.Exists(msr, Cpu.Vendor)
        ? msr
        : throw new ArgumentException($"the {Cpu.Vendor} profile has no MSR {msr} (0x{(uint)msr:x})", nameof(msr));

    static ArgumentException UnknownRegister(string name) =>
        new($"no register named '{name}' (try rax, rip, rflags, cr3, fs_base...)", nameof(name));

    public void ReadPhysical(ulong address, Span<byte> destination) => Bus.Read(address, destination);

    // A debugger's reads and writes (the shell's x, Mem and info views, disassembly, the GDB stub) follow one rule, here:
    // they reach bytes from the start of the range up to the first that does not translate, that no RAM or device
    // backs, or that lies past the top of the address space. The processor sees ones where nothing backs an address and
    // wraps at 2^64, but a debugger showing 0xff.. there would show memory that is not there; so these calls return how
    // many bytes they reached, and the callers name the first one they could not.

    /// <summary>Why a debugger access stopped at linear <paramref name="linear"/> (through the current CR3, or
    /// <paramref name="cr3"/>), in words for a one-line error: the rule above, explained.</summary>
    public string WhyUnreadable(ulong linear, ulong? cr3 = null) =>
        !Cpu.TryTranslate(linear, cr3 ?? Cpu.State.Cr3, out ulong physical)
            ? Cpu.State.IsCanonical(linear) ? $"the page tables do not map 0x{linear:x}" : $"0x{linear:x} is not canonical"
        : (Cpu.State.Cr0 & CpuState.Cr0PG) == 0 ? $"paging is off and no RAM or device is at 0x{linear:x}"
        : $"0x{linear:x} maps to physical 0x{physical:x}, where no RAM or device is";

    /// <summary>Reads physical memory as a debugger does (see the rule above); returns how many bytes were read.</summary>
    public int ReadPhysicalBacked(ulong address, Span<byte> destination)
    {
        int count = BackedLength(address, destination.Length);
        Bus.Read(address, destination[..count]);
        return count;
    }

    /// <summary>Writes physical memory as a debugger does (see the rule above); returns how many bytes were written.</summary>
    public int WritePhysicalBacked(ulong address, ReadOnlySpan<byte> source)
    {
        int count = BackedLength(address, source.Length);
        Bus.Write(address, source[..count]);
        return count;
    }

    /// <summary>How many of the <paramref name="length"/> bytes from physical <paramref name="address"/> RAM or a device
    /// backs, in a row, without wrapping past the top of the address space.</summary>
    int BackedLength(ulong address, int length)
    {
        int count = 0;
        while (count < length && address + (ulong)count >= address && Bus.IsBacked(address + (ulong)count))
            count++;
        return count;
    }

    public void WritePhysical(ulong address, ReadOnlySpan<byte> source) => Bus.Write(address, source);

    /// <summary>
    /// The physical address a linear address maps to through the current CR3, as a debugger asks: no access
    /// rights apply and nothing changes (no accessed or dirty flags, no TLB fill). With paging off it is the identity.
    /// </summary>
    public bool TryTranslate(ulong linear, out ulong physical) => Cpu.TryTranslate(linear, Cpu.State.Cr3, out physical);

    /// <summary><see cref="TryTranslate(ulong, out ulong)"/> through another address space's root: with KPTI, the
    /// kernel's tables can be read while the machine is stopped on the user CR3.</summary>
    public bool TryTranslate(ulong linear, ulong cr3, out ulong physical) => Cpu.TryTranslate(linear, cr3, out physical);

    /// <summary>Reads linear memory through paging (the current CR3, or <paramref name="cr3"/>) as a debugger does (see the
    /// rule above). Returns how many bytes were read.</summary>
    public int ReadVirtual(ulong linear, Span<byte> destination, ulong? cr3 = null)
    {
        int done = 0;
        foreach (var (physical, count) in PhysicalPieces(linear, destination.Length, cr3 ?? Cpu.State.Cr3))
        {
            int read = ReadPhysicalBacked(physical, destination.Slice(done, count));
            done += read;
            if (read < count)
                break;
        }
        return done;
    }

    /// <summary>Writes linear memory through paging as a debugger does (read-only pages included, and the rule above);
    /// returns how many bytes were written.</summary>
    public int WriteVirtual(ulong linear, ReadOnlySpan<byte> source, ulong? cr3 = null)
    {
        int done = 0;
        foreach (var (physical, count) in PhysicalPieces(linear, source.Length, cr3 ?? Cpu.State.Cr3))
        {
            int written = WritePhysicalBacked(physical, source.Slice(done, count));
            done += written;
            if (written < count)
                break;
        }
        return done;
    }

    /// <summary>The physical pieces, one per page, of a linear range, up to the first page that does not translate.</summary>
    IEnumerable<(ulong Physical, int Count)> PhysicalPieces(ulong linear, int length, ulong cr3)
    {
        for (int done = 0; done < length;)
        {
            ulong address = linear + (ulong)done;
            if (address < linear || !Cpu.TryTranslate(address, cr3, out ulong physical)) // wrapped past 2^64, or unmapped
                yield break;
            int count = Math.Min(length - done, PhysicalMemory.PageSize - (int)(address & (PhysicalMemory.PageSize - 1)));
            yield return (physical, count);
            done += count;
        }
    }

    public StopReason Run(ulong budget = ulong.MaxValue) => Cpu.Run(budget);

    public StopReason Step(ulong count = 1) => Cpu.Step(count);

    /// <summary>Stops a run in progress on another thread (within one block of instructions).</summary>
    public void RequestStop(StopRequester requester = StopRequester.Local) => Cpu.RequestStop(requester);

    /// <summary>Withdraws <paramref name="requester"/>'s stop request that no run has honoured (see <see cref="Cpu.CancelStopRequest"/>).</summary>
    public void CancelStopRequest(StopRequester requester = StopRequester.Local) => Cpu.CancelStopRequest(requester);

    /// <summary>Signals an NMI, delivered at the next instruction boundary where NMIs are not blocked.</summary>
    public void InjectNmi() => Cpu.InjectNmi();

    /// <summary>The translations the TLB holds now that a lookup could still hit (for debuggers; changes nothing).</summary>
    public IReadOnlyList<CachedTranslation> TlbEntries() => Cpu.Tlb.Entries();

    /// <summary>Requests external interrupt <paramref name="vector"/>, delivered once RFLAGS.IF allows.</summary>
    public void RaiseInterrupt(byte vector) => Cpu.RaiseInterrupt(vector);

    /// <summary>
    /// A machine already in 64-bit mode at CPL 0, as a kernel is after its long-mode switch, with the low
    /// 512 GiB identity-mapped by 1 GiB pages whose tables sit in the last 8 KiB of RAM. The pages are writable
    /// and user-accessible, so code dropped to CPL 3 runs on the same mapping.
    /// </summary>
    public static Machine CreateLongMode(MachineOptions? options = null)
    {
        var m = new Machine(options);
        ulong pml4 = LongModeTables(m.Bus.Ram.Size);
        ulong pdpt = pml4 + PhysicalMemory.PageSize;
        const ulong Present = 1, Writable = 2, User = 4, PageSize1G = 1 << 7;
        m.Bus.Write(pml4, 8, pdpt | Present | Writable | User);
        for (ulong i = 0; i < 512; i++)
            m.Bus.Write(pdpt + i * 8, 8, (i << 30) | Present | Writable | User | PageSize1G);
        m.Cpu.State = CpuState.Flat64(pml4);
        m.Apic.SyncWindow();
        return m;
    }

    /// <summary>Where <see cref="CreateLongMode"/> puts its page tables: the last 8 KiB of RAM. The RAM below them is free,
    /// so a stack that starts here and grows down stays clear of them.</summary>
    public static ulong LongModeTables(ulong ramSize) => ramSize - 2 * PhysicalMemory.PageSize;

    /// <summary>A machine in 32-bit protected mode with flat segments and paging off (the multiboot hand-off).</summary>
    public static Machine CreateProtectedMode(MachineOptions? options = null)
    {
        var m = new Machine(options);
        m.Cpu.State = CpuState.Flat32();
        m.Apic.SyncWindow();
        return m;
    }
}
