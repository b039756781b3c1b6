using System.Buffers.Binary;

namespace Repl.Machine.Tests.Boot;

/// <summary>
/// Malformed images (truncated, bit-flipped, with header fields overwritten by extreme values, or random) given to
/// the ELF and multiboot loaders must be refused with a one-line <see cref="LoaderException"/>, never another
/// exception. Deterministic: a fixed seed; FUZZ_CASES and FUZZ_SEED scale it up locally.
/// </summary>
public class LoaderFuzzTests
{
    const int DefaultCases = 5_000;

    static int Cases => int.TryParse(Environment.GetEnvironmentVariable("FUZZ_CASES"), out int n) ? n : DefaultCases;
    static int Seed => int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SEED"), out int s) ? s : 5;

    const ulong At = 0x10_0000;

    static readonly byte[][] Seeds =
    [
        TestImages.Elf(true, At, [new(At, At, [0xF4, 0x90, 0x90], 0x20), new(At + 0x1000, At + 0x1000, [1, 2, 3, 4], 4)],
            [new("entry", At, 3, ElfSymbolType.Function), new("data", At + 0x1000, 4, ElfSymbolType.Object)]),
        TestImages.Elf(false, At, [new(At, 0xC010_0000, [0xF4], 0x100)], [new("start", 0xC010_0000, 1, ElfSymbolType.Function)]),
        TestImages.Kludge([0xF4, 0x90, 0x90, 0x90], bss: 0x100),
        MultibootElf(true),
        MultibootElf(false),
    ];

    /// <summary>An ELF kernel whose first segment begins with a multiboot header without the address fields.</summary>
    static byte[] MultibootElf(bool is64) =>
        TestImages.Elf(is64, At + TestImages.HeaderSize,
            [new(At, At, [.. TestImages.Header(0x2), 0xF4], 0x40)], [new("_start", At + TestImages.HeaderSize, 1, ElfSymbolType.Function)]);

    static readonly ulong[] Extreme = [0, 1, 0xFFFF_FFFF, 0x8000_0000, 0x7FFF_FFFF, ulong.MaxValue, 0x8000_0000_0000_0000, 0xFFFF, 0x1000, 0x40, 0x38];

    /// <summary>Case <paramref name="i"/>'s own seed, the same in every process (unlike HashCode.Combine).</summary>
    internal static int CaseSeed(int seed, int i) => unchecked(seed * 1_000_003 + i * 7919);

    [Fact]
    public void Malformed_images_are_refused_with_a_loader_exception()
    {
        int cases = Cases, seed = Seed;
        var failures = new List<string>();
        int loaded = 0, refused = 0;
        for (int i = 0; i < cases && failures.Count < 10; i++)
        {
            var rng = new Random(CaseSeed(seed, i));
            byte[] image = Mutate(rng, Seeds[rng.Next(Seeds.Length)]);
            bool multiboot = rng.Next(2) == 0;
            var m = new Machine(new MachineOptions { RamSize = 4UL << 20 });
            try
            {
                if (multiboot)
                    Multiboot.Load(m, image, "kernel");
                else
                    Loader.LoadElf(m, image);
                loaded++;
            }
            catch (LoaderException e)
            {
                refused++;
                if (e.Message.Contains('\n'))
                    failures.Add($"case {i}: a message of more than one line: {e.Message}");
            }
            catch (Exception e)
            {
                failures.Add($"case {i} ({(multiboot ? "multiboot" : "elf")}, seed {seed}): {e}\n  image: {Convert.ToHexString(image)}");
            }
        }
        Console.WriteLine($"LoaderFuzzTests: tried {cases} malformed images (seed {seed}): {loaded} loaded, {refused} refused");
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    static byte[] Mutate(Random rng, byte[] original)
    {
        var b = (byte[])original.Clone();
        int rounds = rng.Next(1, 4);
        for (int r = 0; r < rounds; r++)
        {
            switch (rng.Next(5))
            {
                case 0: // truncate
                    b = b[..rng.Next(b.Length + 1)];
                    break;
                case 1: // flip bits
                    for (int k = rng.Next(1, 8); k > 0 && b.Length > 0; k--)
                        b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
                    break;
                case 2: // an extreme value in a header field (the headers are in the first 0x100 bytes)
                {
                    int width = rng.Next(2) == 0 ? 4 : 8;
                    int limit = Math.Min(b.Length, 0x100) - width;
                    if (limit <= 0)
                        break;
                    int offset = rng.Next(limit) & ~1;
                    ulong value = Extreme[rng.Next(Extreme.Length)];
                    if (width == 4)
                        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(offset), (uint)value);
                    else
                        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(offset), value);
                    break;
                }
                case 3: // an extreme value anywhere (section headers and symbols live at the end)
                {
                    if (b.Length < 8)
                        break;
                    int offset = rng.Next(b.Length - 7);
                    BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(offset), Extreme[rng.Next(Extreme.Length)]);
                    break;
                }
                default: // random bytes
                    if (rng.Next(8) == 0)
                    {
                        b = new byte[rng.Next(256)];
                        rng.NextBytes(b);
                    }
                    else if (b.Length > 0)
                        b[rng.Next(b.Length)] = (byte)rng.Next(256);
                    break;
            }
        }
        return b;
    }
}
