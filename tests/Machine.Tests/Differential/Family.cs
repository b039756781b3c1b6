using StringBuilder = System.Text.StringBuilder;
using Iced.Intel;
using Xunit.Abstractions;
using IcedRegister = Iced.Intel.Register;

namespace Repl.Machine.Tests.Differential;

/// <summary>
/// One instruction family's differential run: generates instructions and inputs (deterministically, from a
/// seed derived from the family's name), runs each case on the host and on the emulator, compares, tallies
/// per form, and at <see cref="Finish"/> prints the counts and fails with the first mismatches in detail.
/// </summary>
sealed partial class Family
{
    /// <summary>Mismatches reported in full: enough to show the picture in one run, spread over several forms.</summary>
    const int MaxReports = 20, MaxReportsPerForm = 3;
    const int MaxBuildAttempts = 64;
    const string EmulatorProblem = "emulator: ";

    readonly string _name;
    readonly int _bitness;
    readonly ITestOutputHelper _output;
    readonly DifferentialTotals _totals;
    readonly HostCpu _host;
    readonly EmulatedCpu _emulator;
    readonly CodeBuffer _buffer = new();
    readonly Encoder _encoder;
    readonly DiffCase _case = new();
    readonly Dictionary<string, FormTally> _tallies = [];
    readonly List<FormTally> _forms = [];
    readonly List<string> _reports = [];
    readonly List<string> _skipped = [];
    readonly ulong[] _hostGpr = new ulong[16], _emulatedGpr = new ulong[16];
    byte[] _hostWindow = [], _emulatedWindow = [];
    long _cases, _mismatches, _filtered;

    public Random Rng { get; }
    public CpuVendor Vendor => _host.Vendor;
    /// <summary>The code the instructions run in: 64-bit, or 32-bit (compatibility mode natively, protected mode in the emulator).</summary>
    public int Bitness => _bitness;
    /// <summary>The GPRs that exist in that code: 16 of 64 bits, or 8 of 32.</summary>
    int GprCount => _bitness == 64 ? 16 : 8;
    ulong GprMask => DiffCase.Mask(_bitness);
    /// <summary>The middle of the scratch buffer, on a page boundary, around which memory operands lie.</summary>
    public ulong ScratchMiddle => _host.ScratchAddress + HostCpu.ScratchSize / 2;
    /// <summary>The base of the host's scratch segment (32-bit code with 16-bit addresses): offset 0x8000 is <see cref="ScratchMiddle"/>.</summary>
    public ulong ScratchSegmentBase => _host.ScratchSegmentBase;

    /// <summary>32-bit code here can use 16-bit addresses (0x67), which need the host's scratch segment.</summary>
    public bool Addresses16 { get; }

    sealed class FormTally(string form)
    {
        public readonly string Form = form;
        public long Cases, Mismatches;
        public int Reported;
        public string? FirstProblem;
    }

    Family(string name, int bitness, ITestOutputHelper output, DifferentialTotals totals, HostCpu host)
    {
        _name = name;
        _bitness = bitness;
        _output = output;
        _totals = totals;
        _host = host;
        _emulator = new EmulatedCpu(host.Vendor, host.SlotAddress(bitness), bitness);
        _encoder = Encoder.Create(bitness, _buffer);
        Rng = new Random(StableSeed(name));
        string? whyNot = null;
        Addresses16 = bitness == 32 && host.HasScratchSegment(out whyNot);
        if (bitness == 32 && !Addresses16)
            Skip("16-bit addresses", whyNot!);
    }

    /// <summary>Starts a family in 64- or 32-bit code (the name says which when it is 32), or returns null (having
    /// said why) where the host cannot run native code for it.</summary>
    public static Family? Start(string name, int bitness, ITestOutputHelper output, DifferentialTotals totals, string? missingFeature = null)
    {
        if (bitness != 64)
            name += $" in {bitness}-bit code";
        var host = HostCpu.Get(out string? whyNot);
        whyNot ??= missingFeature is null ? null : $"the host processor lacks {missingFeature}";
        if (host is null || whyNot is not null)
        {
            Say(output, $"[differential] {name}: SKIPPED, {whyNot}");
            totals.Skipped();
            return null;
        }
        return new Family(name, bitness, output, totals, host);
    }

    /// <summary>FNV-1a of the name: string.GetHashCode is randomised per process, and runs must repeat.</summary>
    static int StableSeed(string name)
    {
        uint h = 2166136261;
        foreach (char ch in name)
            h = (h ^ ch) * 16777619;
        return (int)h;
    }

    static void Say(ITestOutputHelper output, string line)
    {
        output.WriteLine(line);
        Console.WriteLine(line);
    }

    // ---- Random inputs -------------------------------------------------------------------------------

    public ulong U64() => (ulong)Rng.NextInt64() ^ ((ulong)Rng.Next() << 63);

    /// <summary>A value of <paramref name="bits"/> bits, biased to the boundaries where flag logic goes wrong.</summary>
    public ulong Edge(int bits)
    {
        ulong mask = DiffCase.Mask(bits), sign = 1UL << (bits - 1);
        return Rng.Next(16) switch
        {
            0 => 0,
            1 => 1,
            2 => 2,
            3 => sign - 1,
            4 => sign,
            5 => mask,
            6 => sign + 1,
            7 => sign - 2,
            8 => mask - 1,
            9 => 1UL << Rng.Next(bits),
            10 => mask ^ (1UL << Rng.Next(bits)),
            11 => (ulong)Rng.Next(bits + 2),
            12 => (0x5555_5555_5555_5555UL << Rng.Next(2)) & mask,
            _ => U64() & mask,
        };
    }

    /// <summary>A value that is an edge value half of the time and otherwise uniformly random.</summary>
    public ulong Value(int bits) => Rng.Next(2) == 0 ? Edge(bits) : U64() & DiffCase.Mask(bits);

    /// <summary>Shift and rotate counts: 0, 1, the width and its neighbours, the masking boundaries, up to 255.</summary>
    public static ulong ShiftCount(Random rng, int bits) => rng.Next(14) switch
    {
        0 => 0,
        1 => 1,
        2 => 2,
        3 => (ulong)bits - 1,
        4 => (ulong)bits,
        5 => (ulong)bits + 1,
        6 => 31,
        7 => 32,
        8 => 33,
        9 => 63,
        10 => 64,
        11 => (ulong)rng.Next(64, 256),
        12 => 255,
        _ => (ulong)rng.Next(bits + 1),
    };

    ulong RandomFlags() => (Rng.Next(2) == 0 ? Flag.DF : 0)
        | (Rng.Next(2) == 0 ? Flag.CF : 0) | (Rng.Next(2) == 0 ? Flag.PF : 0) | (Rng.Next(2) == 0 ? Flag.AF : 0)
        | (Rng.Next(2) == 0 ? Flag.ZF : 0) | (Rng.Next(2) == 0 ? Flag.SF : 0) | (Rng.Next(2) == 0 ? Flag.OF : 0);

    // ---- Running forms ---------------------------------------------------------------------------------

    /// <summary>A built instruction and what its inputs need: the registers worth edge values, the pinned address registers.</summary>
    sealed class Variant
    {
        public Instruction Instruction;
        public byte[] Code = [];
        public string Form = "";
        public readonly List<IcedRegister> Inputs = [];
        public readonly List<(int Gpr, ulong Value)> Pins = [];
        public bool HasMemory;
        public int MemoryOperand = -1;
        public ulong Target;
        public int MemorySize;
        /// <summary>The memory operand has a 16-bit address, through the host's scratch segment.</summary>
        public bool ScratchSegment;
    }

    /// <summary>
    /// Runs every code in <paramref name="codes"/>: <paramref name="variants"/> random instructions (registers,
    /// memory forms, immediates) each with <paramref name="inputs"/> random inputs. <paramref name="prepare"/>
    /// adjusts a case's inputs and marks what is undefined; it returns false to drop an input that would fault
    /// on the host (such inputs belong to unit tests).
    /// </summary>
    public void Forms(IEnumerable<Code> codes, int variants, int inputs, FormOptions? options = null, Func<DiffCase, bool>? prepare = null)
    {
        options ??= FormOptions.Default;
        foreach (var code in codes)
            for (int v = 0; v < variants; v++)
                RunInputs(Build(code, options), inputs, options, prepare);
    }

    /// <summary>Runs an instruction built by the caller (one without an explicit memory operand to place:
    /// strings, implicit-operand instructions); <paramref name="prepare"/> sets up any memory it touches.</summary>
    public void Custom(Instruction instruction, string form, int inputs, FormOptions? options = null, Func<DiffCase, bool>? prepare = null)
    {
        options ??= FormOptions.Default;
        var v = new Variant();
        if (!TryEncode(instruction, v))
            throw new InvalidOperationException($"cannot encode {instruction}");
        v.Form = form;
        AddUsedRegisters(v, []);
        RunInputs(v, inputs, options, prepare);
    }

    void RunInputs(Variant v, int inputs, FormOptions options, Func<DiffCase, bool>? prepare)
    {
        if (!_tallies.TryGetValue(v.Form, out var tally))
        {
            _tallies[v.Form] = tally = new FormTally(v.Form);
            _forms.Add(tally);
        }
        var c = _case;
        for (int k = 0; k < inputs; k++)
        {
            c.Reset();
            c.Instruction = v.Instruction;
            c.Code = v.Code;
            c.Form = v.Form;
            for (int i = 0; i < 16; i++)
                c.Gpr[i] = i < GprCount ? U64() & GprMask : 0;
            c.Gpr[(int)Gpr.Rsp] = EmulatedCpu.StackPointer;
            c.ScratchSegment = v.ScratchSegment;
            c.Flags = RandomFlags();
            int windowLength = options.WindowHalf * 2;
            if (c.Window.Length != windowLength)
                c.Window = new byte[windowLength];
            c.WindowAddress = ScratchMiddle - (ulong)options.WindowHalf;
            Rng.NextBytes(c.Window);
            foreach (var r in v.Inputs)
                if (Rng.Next(2) == 0)
                    c.WriteRegister(r, Edge(r.GetSize() * 8));
            if (v.HasMemory)
            {
                c.HasMemory = true;
                c.MemoryAddress = v.Target;
                if (v.MemorySize <= 8 && Rng.Next(2) == 0)
                    c.WriteMemory(v.Target, v.MemorySize, Edge(v.MemorySize * 8));
            }
            foreach (var (g, value) in v.Pins)
                c.Gpr[g] = value;
            c.Pins.AddRange(v.Pins);
            if (prepare is not null && !prepare(c))
            {
                _filtered++;
                continue;
            }
            CheckHostSafety(c, v);
            Execute(c, tally);
        }
    }

    /// <summary>Last line of defence before native execution: an access outside the scratch window would kill
    /// the test process rather than fail a test.</summary>
    void CheckHostSafety(DiffCase c, Variant v)
    {
        foreach (var (g, value) in c.Pins)
            if (c.Gpr[g] != value)
                throw new InvalidOperationException($"harness bug: {c.Instruction}: the inputs changed pinned address register {(Gpr)g}");
        if (!v.HasMemory)
            return;
        bool ok = c.Instruction.TryGetVirtualAddress(v.MemoryOperand, 0, out ulong address, (IcedRegister r, int _, int _, out ulong value) =>
        {
            // ES, CS, SS, DS have base 0 in 64-bit mode and are flat in 32-bit code, but for the scratch segment.
            value = r.IsGPR() ? c.ReadRegister(r) : c.ScratchSegment && r != IcedRegister.CS ? _host.ScratchSegmentBase : 0;
            return r.IsGPR() || r is IcedRegister.ES or IcedRegister.CS or IcedRegister.SS or IcedRegister.DS;
        });
        if (!ok || address != v.Target)
            throw new InvalidOperationException($"harness bug: {c.Instruction} does not address 0x{v.Target:x}");
        c.Bytes(address, v.MemorySize); // throws when outside the window
    }

    void Execute(DiffCase c, FormTally tally)
    {
        _cases++;
        tally.Cases++;
        int n = c.Window.Length;
        if (_hostWindow.Length != n)
        {
            _hostWindow = new byte[n];
            _emulatedWindow = new byte[n];
        }
        var scratch = _host.Scratch.Slice((int)(c.WindowAddress - _host.ScratchAddress), n);

        c.Window.CopyTo(scratch);
        _host.Run(_bitness, c.Code, c.Gpr, c.Flags, _hostGpr, out ulong hostFlags, c.ScratchSegment);
        scratch.CopyTo(_hostWindow);

        _emulator.Load(c.Code);
        _emulator.WriteMemory(c.WindowAddress, c.Window);
        string? failure = _emulator.Run(c.Gpr, c.Flags, _emulatedGpr, out ulong emulatedFlags, c.ScratchSegment ? _host.ScratchSegmentBase : 0);
        _emulator.ReadMemory(c.WindowAddress, _emulatedWindow);

        string? problem = Compare(c, failure, hostFlags, emulatedFlags, out int firstMemoryDifference);
        if (problem is null)
            return;
        _mismatches++;
        tally.Mismatches++;
        tally.FirstProblem ??= problem;
        if (_reports.Count < MaxReports && tally.Reported < MaxReportsPerForm)
        {
            tally.Reported++;
            _reports.Add(Report(c, _reports.Count + 1, problem, failure, hostFlags, emulatedFlags, firstMemoryDifference));
        }
    }

    /// <summary>What differs, briefly ("rcx, flags OF, memory"), or null when the outcomes agree.</summary>
    string? Compare(DiffCase c, string? failure, ulong hostFlags, ulong emulatedFlags, out int firstMemoryDifference)
    {
        firstMemoryDifference = -1;
        if (failure is not null)
            return EmulatorProblem + failure;
        var parts = new List<string>();
        for (int i = 0; i < 16; i++)
        {
            bool differs = i == (int)Gpr.Rsp
                ? _emulatedGpr[i] != EmulatedCpu.StackPointer
                : ((_hostGpr[i] ^ _emulatedGpr[i]) & Compared(c, i)) != 0;
            if (differs)
                parts.Add(GprName(i));
        }
        ulong flagDiff = (hostFlags ^ emulatedFlags) & c.FlagMask;
        if (flagDiff != 0)
            parts.Add("flags " + Flag.Format(flagDiff));
        for (int i = 0; i < _hostWindow.Length; i++)
        {
            ulong address = c.WindowAddress + (ulong)i;
            if (_hostWindow[i] != _emulatedWindow[i] && (address < c.IgnoredAddress || address >= c.IgnoredAddress + (ulong)c.IgnoredLength))
            {
                firstMemoryDifference = i;
                parts.Add($"memory at 0x{address:x}");
                break;
            }
        }
        return parts.Count == 0 ? null : string.Join(", ", parts);
    }

    /// <summary>Says that part of the family does not run here, and why (a feature the host lacks).</summary>
    public void Skip(string what, string why)
    {
        _skipped.Add(what);
        Say(_output, $"[differential] {_name}: {what} SKIPPED, {why}");
    }

    /// <summary>Prints the family's counts and fails, listing the mismatching forms and the first cases in detail.</summary>
    public void Finish()
    {
        long total = _totals.Add(_cases, _mismatches);
        string summary = $"[differential] {_name}: {_cases:N0} cases in {_forms.Count} forms, {_mismatches:N0} mismatches, "
                         + $"{_filtered:N0} inputs filtered (would fault natively); host {_host.VendorString}, emulator vendor {Vendor}; "
                         + $"{total:N0} cases so far in this run"
                         + (_skipped.Count > 0 ? $"; skipped: {string.Join(", ", _skipped)}" : "");
        Say(_output, summary);
        Assert.True(_cases > 0, $"{_name}: no case ran");
        if (_mismatches == 0)
            return;
        var text = new StringBuilder(summary).AppendLine();
        // Forms the emulator rejects outright (typically #UD: not implemented yet) read best as one line per reason.
        var rejected = _forms.Where(t => t.Mismatches == t.Cases && t.FirstProblem!.StartsWith(EmulatorProblem, StringComparison.Ordinal))
            .GroupBy(t => t.FirstProblem!).ToList();
        foreach (var g in rejected)
            text.AppendLine($"{g.Key} in every case of {g.Count()} forms ({g.Sum(t => t.Cases):N0} cases): {string.Join(", ", g.Select(t => t.Form))}");
        var partial = _forms.Where(t => t.Mismatches > 0 && !rejected.Any(g => g.Contains(t))).ToList();
        if (partial.Count > 0)
        {
            text.AppendLine("Forms with mismatches (mismatched/ran, first problem):");
            foreach (var t in partial)
                text.AppendLine($"  {t.Form,-34} {t.Mismatches,6}/{t.Cases,-6} {t.FirstProblem}");
        }
        text.AppendLine($"Forms that matched: {_forms.Count(t => t.Mismatches == 0 && t.Cases > 0)} of {_forms.Count}.");
        text.AppendLine().AppendLine($"First {_reports.Count} mismatches ('*' marks what differs; only architecturally defined results are compared):");
        foreach (var r in _reports)
            text.AppendLine(r);
        Assert.Fail(text.ToString());
    }

    /// <summary>The bits of GPR <paramref name="i"/> compared: those that exist in the code and are defined.</summary>
    ulong Compared(DiffCase c, int i) => i < GprCount ? c.RegisterMask[i] & GprMask : 0;

    string GprName(int i) => i >= GprCount ? $"r{i}" : _bitness == 64 ? ((Gpr)i).ToString().ToLowerInvariant() : "e" + ((Gpr)i).ToString()[1..].ToLowerInvariant();
}

/// <summary>Collects the encoder's output.</summary>
sealed class CodeBuffer : CodeWriter
{
    readonly List<byte> _bytes = [];

    public override void WriteByte(byte value) => _bytes.Add(value);

    public byte[] Take()
    {
        var b = _bytes.ToArray();
        _bytes.Clear();
        return b;
    }

    public void Clear() => _bytes.Clear();
}
