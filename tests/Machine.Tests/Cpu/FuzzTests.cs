using System.Text;
using Decoder = Iced.Intel.Decoder;
using Encoder = Iced.Intel.Encoder;
using IcedRegister = Iced.Intel.Register;
using Iced.Intel;

namespace Repl.Machine.Tests.Cpu;

/// <summary>
/// No guest input may crash the host: random programs (random bytes, bytes biased to prefixes and escape bytes,
/// and sequences of valid instructions re-encoded with Iced) run on 64-bit and 32-bit machines in random but valid
/// system states must never end a run with <see cref="StopKind.InternalError"/> nor let a .NET exception escape,
/// and the machine must stay usable. Deterministic: a fixed seed, one derived seed per case. FUZZ_CASES and
/// FUZZ_SEED scale the search up locally.
/// </summary>
public class FuzzTests
{
    const int DefaultCases = 20_000;
    const int DefaultSeed = 20261121;

    static int Cases => int.TryParse(Environment.GetEnvironmentVariable("FUZZ_CASES"), out int n) ? n : DefaultCases;
    static int Seed => int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SEED"), out int s) ? s : DefaultSeed;

    static readonly byte[] Common =
    [
        0x0F, 0x0F, 0x0F, 0x66, 0x67, 0xF2, 0xF3, 0xF0, 0x48, 0x4C, 0x41, 0x40, 0xC4, 0xC5, 0x62, 0x8F,
        0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x01, 0x00, 0x38, 0x3A, 0xC7, 0xFF, 0x8E, 0x8C, 0xCF, 0xCA,
        0xCB, 0xEA, 0x9A, 0xFA, 0xFB, 0xF4, 0xCD, 0xCC, 0x0B, 0x05, 0x07, 0x34, 0x35, 0xAE, 0xC0, 0x22,
        0x20, 0x23, 0x21, 0x30, 0x32, 0x33, 0xA2, 0x17, 0x1F, 0x9C, 0x9D, 0xA4, 0xA5, 0xAA, 0xAB, 0x6C,
        0x6E, 0xE4, 0xE6, 0xEC, 0xEE, 0x8D, 0x89, 0x8B, 0xE8, 0xE9, 0xEB, 0x70, 0xC2, 0xC3, 0x60, 0x61,
        0x62, 0x63, 0xD4, 0xD5, 0x27, 0x2F, 0x37, 0x3F, 0xC8, 0xC9, 0x10, 0x11, 0x12, 0x28, 0x29, 0x58,
        0x59, 0x5A, 0x5C, 0x5E, 0x6F, 0x7F, 0xD0, 0xE0, 0xF8, 0xFE, 0x54, 0x57, 0xB0, 0xB1, 0xBA, 0xBC,
        0xF6, 0xF7, 0x84, 0x85, 0xD9, 0xDB, 0xDD, 0xDF, 0x9B, 0x0D, 0xA3, 0xAB, 0xB3, 0xBB, 0xC1, 0x31,
    ];

    // ModRM and SIB bytes that point at registers, at RIP-relative or absolute memory, at [reg]: the interesting few.
    static readonly byte[] ModRm = [0x00, 0x04, 0x05, 0x08, 0x0C, 0x18, 0x24, 0x40, 0x44, 0x80, 0x84, 0xC0, 0xC8, 0xD0, 0xD8, 0xE0, 0xF8, 0xFF];

    /// <summary>Case <paramref name="i"/>'s own seed, the same in every process (unlike HashCode.Combine).</summary>
    internal static int CaseSeed(int seed, int i) => unchecked(seed * 1_000_003 + i * 7919);

    [Fact]
    public void Random_programs_never_crash_the_emulator()
    {
        int cases = Cases, seed = Seed;
        var failures = new List<string>();
        if (int.TryParse(Environment.GetEnvironmentVariable("FUZZ_CASE_SEED"), out int only))
        {
            Assert.Null(RunCase(only, out _));
            return;
        }
        var kinds = new Dictionary<StopKind, int>();
        // FUZZ_LOG names a file where a long local run reports its progress and any case that seems to hang.
        string? log = Environment.GetEnvironmentVariable("FUZZ_LOG");
        int current = 0, watched = -1;
        using var watchdog = log is null ? null : new Timer(_ =>
        {
            int now = Volatile.Read(ref current);
            File.AppendAllText(log, now == watched ? $"case {now} (case seed {CaseSeed(seed, now)}) runs for more than 10 s\n" : $"at case {now}\n");
            watched = now;
        }, null, 10_000, 10_000);
        for (int i = 0; i < cases && failures.Count < 10; i++)
        {
            Volatile.Write(ref current, i);
            int caseSeed = CaseSeed(seed, i);
            string? failure = RunCase(caseSeed, out var kind);
            if (failure is not null)
                failures.Add($"case {i} (seed {seed}, case seed {caseSeed}): {failure}");
            kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
        }
        Console.WriteLine($"FuzzTests: ran {cases} random programs (seed {seed}): "
            + string.Join(", ", kinds.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value}")));
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    /// <summary>Builds and runs one case; returns a description of the failure, or null.</summary>
    internal static string? RunCase(int caseSeed, out StopKind kind)
    {
        var rng = new Random(caseSeed);
        int bitness = rng.Next(3) == 0 ? 32 : 64;
        var vendor = rng.Next(2) == 0 ? CpuVendor.Intel : CpuVendor.Amd;
        byte[] code = Program(rng, bitness);
        kind = StopKind.InstructionBudget;
        Machine m;
        string setup;
        try
        {
            m = bitness == 64
                ? Machine.CreateLongMode(new MachineOptions { Vendor = vendor, RamSize = 16UL << 20 })
                : Machine.CreateProtectedMode(new MachineOptions { Vendor = vendor, RamSize = 16UL << 20 });
            Guest.Load(m, code);
            setup = Setup(m, rng, bitness);
        }
        catch (Exception e)
        {
            return $"setup failed: {e}";
        }

        string Describe(string what) =>
            $"{what}\n  {bitness}-bit {vendor}, {setup}\n  bytes: {Convert.ToHexString(code)}\n{Disassemble(code, bitness)}";

        if (Environment.GetEnvironmentVariable("FUZZ_DESCRIBE") is not null)
            Console.Error.WriteLine(Describe($"case seed {caseSeed}"));
        try
        {
            var stop = m.Run((ulong)rng.Next(1, 64));
            kind = stop.Kind;
            if (stop.Kind == StopKind.InternalError)
                return Describe($"internal error: {stop}");
            CpuState copy = m.State;
            m.State = copy;
            var again = m.Run(16);
            if (again.Kind == StopKind.InternalError)
                return Describe($"internal error on the second run: {again}");
            _ = m.State.ToString();
        }
        catch (Exception e)
        {
            return Describe($"exception escaped Run: {e}");
        }
        return null;
    }

    static byte[] Program(Random rng, int bitness)
    {
        switch (rng.Next(3))
        {
            case 0:
            {
                var b = new byte[rng.Next(1, 24)];
                rng.NextBytes(b);
                return b;
            }
            case 1:
                return Biased(rng, rng.Next(1, 32));
            default:
                return rng.Next(2) == 0 ? Valid(rng, bitness) : FromCodes(rng, bitness);
        }
    }

    static readonly Code[] AllCodes = Enum.GetValues<Code>().Where(c => c != Code.INVALID).ToArray();

    static IcedRegister Pick(Random rng, IcedRegister first, int count) => first + rng.Next(count);

    /// <summary>Instructions built from random Iced <see cref="Code"/> values with random operands (registers of
    /// the operand's kind, [rBX+disp] memory, random immediates), kept when Iced's encoder accepts them.</summary>
    static byte[] FromCodes(Random rng, int bitness)
    {
        var writer = new CodeBytes();
        var encoder = Encoder.Create(bitness, writer);
        ulong ip = Guest.CodeAddress;
        int wanted = rng.Next(1, 6), count = 0;
        for (int tries = 0; count < wanted && tries < 100; tries++)
        {
            var code = AllCodes[rng.Next(AllCodes.Length)];
            var info = code.ToOpCode();
            if (bitness == 64 ? !info.Mode64 : !info.Mode32)
                continue;
            var ins = new Instruction { Code = code };
            bool ok = true;
            for (int i = 0; i < info.OpCount && ok; i++)
                ok = SetOperand(ref ins, i, info.GetOpKind(i).ToString(), rng, bitness);
            if (!ok || !encoder.TryEncode(ins, ip, out uint length, out _))
                continue;
            ip += length;
            count++;
        }
        var bytes = writer.ToArray();
        return bytes.Length == 0 ? [0x90] : bytes;
    }

    static bool SetOperand(ref Instruction ins, int i, string kind, Random rng, int bitness)
    {
        int gprs = bitness == 64 ? 16 : 8;
        bool memory = kind.StartsWith("mem") || (kind.EndsWith("_rm") && rng.Next(2) == 0);
        if (memory)
        {
            ins.SetOpKind(i, OpKind.Memory);
            ins.MemoryBase = bitness == 64 ? IcedRegister.RBX : IcedRegister.EBX;
            ins.MemoryDisplacement64 = (ulong)rng.Next(0x100);
            ins.MemoryDisplSize = 1;
            ins.MemoryIndexScale = 1;
            return true;
        }
        IcedRegister? reg = kind switch
        {
            _ when kind.StartsWith("r8_") => Pick(rng, IcedRegister.AL, bitness == 64 ? 16 : 8),
            _ when kind.StartsWith("r16_") => Pick(rng, IcedRegister.AX, gprs),
            _ when kind.StartsWith("r32_") => Pick(rng, IcedRegister.EAX, gprs),
            _ when kind.StartsWith("r64_") => Pick(rng, IcedRegister.RAX, 16),
            _ when kind.StartsWith("xmm") => Pick(rng, IcedRegister.XMM0, 8),
            _ when kind.StartsWith("ymm") => Pick(rng, IcedRegister.YMM0, 8),
            _ when kind.StartsWith("zmm") => Pick(rng, IcedRegister.ZMM0, 8),
            _ when kind.StartsWith("k_") => Pick(rng, IcedRegister.K0, 8),
            _ when kind.StartsWith("mm_") => Pick(rng, IcedRegister.MM0, 8),
            _ when kind.StartsWith("seg_") => Pick(rng, IcedRegister.ES, 6),
            _ when kind.StartsWith("cr_") => new[] { IcedRegister.CR0, IcedRegister.CR2, IcedRegister.CR3, IcedRegister.CR4, IcedRegister.CR8 }[rng.Next(5)],
            _ when kind.StartsWith("dr_") => Pick(rng, IcedRegister.DR0, 8),
            _ when kind.StartsWith("st") && kind != "sti_opcode" => IcedRegister.ST0,
            "sti_opcode" => Pick(rng, IcedRegister.ST0, 8),
            _ => null,
        };
        if (reg is { } r)
        {
            ins.SetOpKind(i, OpKind.Register);
            ins.SetOpRegister(i, r);
            return true;
        }
        OpKind? imm = kind switch
        {
            "imm8" => OpKind.Immediate8,
            "imm8sex16" => OpKind.Immediate8to16,
            "imm8sex32" => OpKind.Immediate8to32,
            "imm8sex64" => OpKind.Immediate8to64,
            "imm16" => OpKind.Immediate16,
            "imm32" => OpKind.Immediate32,
            "imm32sex64" => OpKind.Immediate32to64,
            "imm64" => OpKind.Immediate64,
            _ => null,
        };
        if (imm is { } k)
        {
            ins.SetOpKind(i, k);
            ulong value = (ulong)rng.NextInt64();
            ins.SetImmediate(i, k switch
            {
                OpKind.Immediate8 => value & 0xFF,
                OpKind.Immediate8to16 or OpKind.Immediate8to32 or OpKind.Immediate8to64 => (ulong)(long)(sbyte)value,
                OpKind.Immediate16 => value & 0xFFFF,
                OpKind.Immediate32 => value & 0xFFFF_FFFF,
                OpKind.Immediate32to64 => (ulong)(long)(int)value,
                _ => value,
            });
            return true;
        }
        return false;
    }

    static byte[] Biased(Random rng, int length)
    {
        var b = new byte[length];
        for (int i = 0; i < length; i++)
            b[i] = rng.Next(4) switch
            {
                0 => Common[rng.Next(Common.Length)],
                1 => ModRm[rng.Next(ModRm.Length)],
                _ => (byte)rng.Next(256),
            };
        return b;
    }

    /// <summary>Valid instructions: decoded from biased bytes, kept when Iced knows them, and re-encoded with its
    /// encoder, some with their memory operand or register changed.</summary>
    static byte[] Valid(Random rng, int bitness)
    {
        var writer = new CodeBytes();
        var encoder = Encoder.Create(bitness, writer);
        ulong ip = Guest.CodeAddress;
        int wanted = rng.Next(1, 8), tries = 0;
        var count = 0;
        while (count < wanted && tries++ < 200)
        {
            var bytes = Biased(rng, 16);
            var decoder = Decoder.Create(bitness, new ByteArrayCodeReader(bytes));
            decoder.IP = ip;
            var ins = decoder.Decode();
            if (ins.IsInvalid)
                continue;
            if (ins.IsIPRelativeMemoryOperand && rng.Next(2) == 0)
                ins.MemoryDisplacement64 = Guest.Data + (ulong)rng.Next(0x1000);
            if (!encoder.TryEncode(ins, ip, out uint length, out _))
                continue;
            ip += length;
            count++;
        }
        var code = writer.ToArray();
        return code.Length == 0 ? [0x90] : code;
    }

    static readonly ulong[] Interesting =
    [
        0, 1, 2, 0xFF, 0x7F, 0x80, 0xFFFF, 0x8000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000,
        ulong.MaxValue, long.MaxValue, unchecked((ulong)long.MinValue), Guest.NonCanonical, Guest.Data, Guest.Data + 0xFF8,
        Guest.CodeAddress, Guest.StackTop, 0xFFFF_8000_0000_0000, 0x0000_7FFF_FFFF_FFF8, 0xFFF, 0x1000, 0xFFFF_FFF0,
        0xC000_0080, 0xC000_0101, 0x174, 0x175, 0x176, 0xC000_0081, 0xC000_0082, 0x1B, 0x10, 0x08, 0x2B, 0x23,
    ];

    static ulong RandomValue(Random rng) => rng.Next(3) switch
    {
        0 => Interesting[rng.Next(Interesting.Length)],
        1 => (ulong)rng.Next(0x1000),
        _ => (ulong)rng.NextInt64() ^ ((ulong)rng.Next() << 33),
    };

    /// <summary>Random but valid processor state. Returns a one-line description of what was chosen.</summary>
    static string Setup(Machine m, Random rng, int bitness)
    {
        var what = new StringBuilder();
        for (int r = 0; r < 16; r++)
            if (r != (int)Gpr.Rsp && rng.Next(4) != 0)
                m.State.Gpr[r] = RandomValue(rng);
        if (rng.Next(8) == 0)
            m.State.Gpr[(int)Gpr.Rsp] = RandomValue(rng);
        if (bitness == 32)
            for (int r = 0; r < 16; r++)
                m.State.Gpr[r] &= 0xFFFF_FFFF;

        // Status flags, DF, TF (rarely), AC, IF and IOPL: bit 1 stays set.
        ulong flags = 0x2 | ((ulong)rng.Next() & (ulong)RflagsBit.Arithmetic);
        if (rng.Next(2) == 0) flags |= 1 << 10; // DF
        if (rng.Next(16) == 0) flags |= 1 << 8; // TF
        if (rng.Next(4) == 0) flags |= 1 << 18; // AC
        if (rng.Next(2) == 0) flags |= 1 << 9; // IF
        flags |= (ulong)rng.Next(4) << 12; // IOPL
        m.State.Rflags = flags;
        what.Append($"rflags 0x{flags:x}");

        int tables = rng.Next(3);
        switch (tables)
        {
            case 0:
                what.Append(", exceptions caught");
                break;
            case 1:
                Guest.DeliverExceptions(m); // no IDT: delivery faults, #DF, triple fault
                m.State.Idtr = new TableRegister { Base = 0, Limit = 0 };
                what.Append(", no IDT");
                break;
            default:
                if (bitness == 64)
                    SystemTables.Install(m);
                else
                    SystemTables.InstallProtected(m);
                what.Append(", minimal IDT");
                break;
        }

        // CR4: a random subset of the bits MOV CR4 allows; a refused value is simply not taken.
        ulong cr4 = m.State.Cr4 | ((ulong)rng.Next() & 0x3F_FFFF & (ulong)rng.Next());
        try
        {
            m.Cpu.WriteCr4(cr4);
        }
        catch (CpuFault)
        {
        }
        what.Append($", cr4 0x{m.State.Cr4:x}");

        // CR0's MP, EM, TS, NE, WP and AM, and the fast-system-call MSRs and EFER's SCE and NXE, some of the time;
        // a value the machine refuses is simply not taken.
        if (rng.Next(2) == 0)
        {
            ulong[] cr0Bits = [1 << 1, 1 << 2, 1 << 3, 1 << 5, 1 << 16, CpuState.Cr0AM];
            ulong cr0 = m.State.Cr0;
            foreach (ulong bit in cr0Bits)
                if (rng.Next(3) == 0)
                    cr0 ^= bit;
            try { m.Cpu.WriteCr0(cr0); } catch (CpuFault) { }
            what.Append($", cr0 0x{m.State.Cr0:x}");
        }
        if (rng.Next(2) == 0)
        {
            Msr[] msrs = [Msr.Star, Msr.Lstar, Msr.Cstar, Msr.SysenterCs, Msr.SysenterEsp, Msr.SysenterEip, Msr.KernelGsBase, Msr.GsBase];
            foreach (var msr in msrs)
                if (rng.Next(2) == 0)
                {
                    ulong value = rng.Next(2) == 0 ? RandomValue(rng) : SystemTables.KernelCs | (ulong)SystemTables.UserCs32 << 48 | (ulong)SystemTables.KernelCs << 32;
                    try { m.WriteMsr(msr, value); } catch (Exception) { }
                }
            try { m.WriteMsr(Msr.Efer, m.State.Efer | (rng.Next(2) == 0 ? CpuState.EferSCE : 0) | (rng.Next(2) == 0 ? CpuState.EferNXE : 0)); }
            catch (Exception) { }
            what.Append(", random MSRs");
        }

        if (rng.Next(3) == 0)
        {
            Guest.RunAtCpl3(m, rng.Next(4));
            what.Append($", CPL 3 with IOPL {(m.State.Rflags >> 12) & 3}");
        }
        if (rng.Next(8) == 0)
        {
            m.WritePhysical(Guest.Data, new byte[] { 0xF4 });
            what.Append(", HLT at Data");
        }
        return what.ToString();
    }

    static string Disassemble(byte[] code, int bitness)
    {
        var decoder = Decoder.Create(bitness, new ByteArrayCodeReader(code));
        decoder.IP = Guest.CodeAddress;
        var formatter = new NasmFormatter();
        var output = new StringOutput();
        var text = new StringBuilder();
        while (decoder.IP < Guest.CodeAddress + (ulong)code.Length)
        {
            ulong ip = decoder.IP;
            var ins = decoder.Decode();
            formatter.Format(ins, output);
            text.Append($"    {ip:x}: {output.ToStringAndReset()}\n");
        }
        return text.ToString();
    }
}

/// <summary>An Iced code writer into a growing buffer.</summary>
sealed class CodeBytes : CodeWriter
{
    readonly List<byte> _bytes = [];
    public override void WriteByte(byte value) => _bytes.Add(value);
    public byte[] ToArray() => [.. _bytes];
}
