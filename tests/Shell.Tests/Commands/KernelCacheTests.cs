using Repl.Shell.Debugging;

namespace Repl.Shell.Tests.Commands;

/// <summary>The entry kernel kept between starts: a start that boots the cached ELF shows what a start that assembles
/// shows, and a cache that is damaged or cannot be written changes nothing the user sees.</summary>
public sealed class KernelCacheTests : IDisposable
{
    readonly string _directory = Path.Combine(Path.GetTempPath(), "repl-kcache-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }

    Debugger Start(string? directory, Dictionary<string, long>? defines = null) =>
        Debugger.Create(new DebuggerOptions { KernelCacheDirectory = directory, Defines = defines ?? [] });

    static string Run(Debugger debugger, string commandLine)
    {
        var output = new StringWriter();
        debugger.Execute(commandLine, output);
        return output.ToString();
    }

    /// <summary>What a user sees of the program: the prompt, symbols, lines, sources, disassembly with line headings,
    /// and a breakpoint by file:line run to.</summary>
    static string Seen(Debugger debugger)
    {
        var entry = debugger.Program.Addresses["entry_SYSCALL_64"];
        int line = debugger.Symbols.LineAt(entry)!.Value.Line;
        var seen = new StringWriter();
        seen.WriteLine(debugger.Prompt);
        seen.WriteLine(string.Join(",", debugger.Program.Addresses.OrderBy(a => a.Key, StringComparer.Ordinal)));
        foreach (string command in new[] { "list entry_SYSCALL_64", "info symbol entry_SYSCALL_64+3",
                                           "disas _start 40", "disas entry_SYSCALL_64 40", $"break entry_64.S:{line}", "continue", "list" })
            seen.WriteLine($"{command}\n{Run(debugger, command)}");
        return seen.ToString();
    }

    [Fact]
    public void A_start_from_the_cache_shows_what_a_start_that_assembles_shows()
    {
        string miss = Seen(Start(_directory));
        Assert.Single(Directory.GetFiles(_directory, "*.elf"));

        string hit = Seen(Start(_directory));

        Assert.Equal(miss, hit);
        Assert.Contains("entry_SYSCALL_64:", hit);
        Assert.Matches(@"entry_64\.S:\d+", hit);
        Assert.Equal(Seen(Start(null)), hit);
    }

    [Fact]
    public void The_program_read_from_the_elf_is_the_one_the_assembly_gives()
    {
        // What the shell showed before the cache: symbols and lines straight from the assembler's result.
        var result = Repl.Machine.Kernel.EntryKernel.Assemble();
        var assembled = LoadedProgram.FromAssembly("the entry kernel", result, new Dictionary<string, string[]>());
        var booted = Start(_directory).Program;

        Assert.Equal(assembled.Addresses.OrderBy(a => a.Key, StringComparer.Ordinal), booted.Addresses.OrderBy(a => a.Key, StringComparer.Ordinal));
        Assert.Equal(assembled.Lines.OrderBy(l => l.Address).ThenBy(l => l.Line), booted.Lines.OrderBy(l => l.Address).ThenBy(l => l.Line));
        // Every byte of the sections and either side, and every symbol's value (the absolute ones' too, which are not places).
        var addresses = result.Sections.SelectMany(s => Enumerable.Range(-1, checked((int)s.Size) + 2).Select(i => s.Address + (ulong)i))
                              .Concat(result.Symbols.Select(s => s.Value));
        foreach (ulong address in addresses)
        {
            Assert.Equal(assembled.Lookup.Find(address), booted.Lookup.Find(address));
            Assert.Equal(assembled.Lookup.LineAt(address), booted.Lookup.LineAt(address));
        }
    }

    [Fact]
    public void A_start_boots_the_cached_file_rather_than_assembling()
    {
        // The illumos kernel's image put where the Linux one's belongs: a start that reads the cache boots it.
        string illumos = Path.Combine(_directory, "illumos");
        var expected = Start(illumos, new() { ["ILLUMOS"] = 1 }).Program.Addresses;
        Start(_directory);
        File.Copy(Directory.GetFiles(illumos, "*.elf").Single(), Directory.GetFiles(_directory, "*.elf").Single(), overwrite: true);

        var booted = Start(_directory).Program.Addresses;

        Assert.Equal(expected.OrderBy(a => a.Key, StringComparer.Ordinal), booted.OrderBy(a => a.Key, StringComparer.Ordinal));
        Assert.NotEqual(Start(null).Program.Addresses.OrderBy(a => a.Key, StringComparer.Ordinal), booted.OrderBy(a => a.Key, StringComparer.Ordinal));
    }

    [Fact]
    public void Other_switches_are_kept_apart()
    {
        Start(_directory);
        Start(_directory, new() { ["KPTI"] = 0 });

        Assert.Equal(2, Directory.GetFiles(_directory, "*.elf").Length);
    }

    [Fact]
    public void A_damaged_cache_file_is_assembled_afresh_and_replaced()
    {
        string miss = Seen(Start(_directory));
        string file = Directory.GetFiles(_directory, "*.elf").Single();
        byte[] good = File.ReadAllBytes(file);
        File.WriteAllBytes(file, "not an image"u8.ToArray());

        Assert.Equal(miss, Seen(Start(_directory)));
        Assert.Equal(good, File.ReadAllBytes(file));
    }

    [Fact]
    public void A_cache_that_cannot_be_written_is_passed_over()
    {
        // A file where the directory should be: creating it fails.
        File.WriteAllText(_directory, "");
        try
        {
            Assert.Equal(Seen(Start(null)), Seen(Start(_directory)));
        }
        finally
        {
            File.Delete(_directory);
        }
    }

    /// <summary>Fills the cache with <paramref name="count"/> other kernels, the first used most recently, all of them
    /// longer ago than <paramref name="before"/> and after it by a minute each.</summary>
    List<string> Others(int count, DateTime before)
    {
        Directory.CreateDirectory(_directory);
        var others = new List<string>();
        for (int i = 0; i < count; i++)
        {
            string path = Path.Combine(_directory, $"other{i}.elf");
            File.WriteAllBytes(path, [(byte)i]);
            File.SetLastWriteTimeUtc(path, before - TimeSpan.FromMinutes(i + 1));
            others.Add(path);
        }
        return others;
    }

    [Fact]
    public void Storing_a_kernel_keeps_the_most_recently_used_and_removes_the_rest()
    {
        var others = Others(KernelCache.Capacity, DateTime.UtcNow);

        Start(_directory);

        Assert.Equal(KernelCache.Capacity, Directory.GetFiles(_directory, "*.elf").Length);
        Assert.False(File.Exists(others[^1]), "the least recently used kernel is still there");
        Assert.All(others[..^1], path => Assert.True(File.Exists(path), $"{path} was removed"));
    }

    [Fact]
    public void A_start_that_boots_a_cached_kernel_counts_as_a_use()
    {
        Start(_directory);
        string booted = Directory.GetFiles(_directory, "*.elf").Single();
        File.SetLastWriteTimeUtc(booted, DateTime.UtcNow - TimeSpan.FromDays(30));
        var others = Others(KernelCache.Capacity - 1, DateTime.UtcNow);
        Start(_directory);

        Start(_directory, new() { ["KPTI"] = 0 });

        Assert.True(File.Exists(booted), "the kernel a start just booted was removed");
        Assert.False(File.Exists(others[^1]), "the least recently used kernel is still there");
        Assert.Equal(KernelCache.Capacity, Directory.GetFiles(_directory, "*.elf").Length);
    }

    [Fact]
    public void A_kernel_removed_while_another_process_reads_it_stays_readable_to_that_process()
    {
        var others = Others(KernelCache.Capacity, DateTime.UtcNow);
        byte[] content = new byte[64 * 1024];
        Random.Shared.NextBytes(content);
        File.WriteAllBytes(others[^1], content);
        File.SetLastWriteTimeUtc(others[^1], DateTime.UtcNow - TimeSpan.FromDays(1));
        // Opened as File.ReadAllBytes opens it, not yet read.
        using var reader = new FileStream(others[^1], FileMode.Open, FileAccess.Read, FileShare.Read);

        Start(_directory);

        var read = new MemoryStream();
        reader.CopyTo(read);
        Assert.Equal(content, read.ToArray());
    }

    [Fact]
    public void A_kernel_being_written_is_left_alone_and_one_abandoned_by_a_killed_process_is_removed()
    {
        Others(KernelCache.Capacity, DateTime.UtcNow);
        string writing = Path.Combine(_directory, "writing.elf.0123.tmp");
        string abandoned = Path.Combine(_directory, "abandoned.elf.4567.tmp");
        File.WriteAllBytes(writing, [1]);
        File.WriteAllBytes(abandoned, [2]);
        File.SetLastWriteTimeUtc(abandoned, DateTime.UtcNow - TimeSpan.FromDays(1));

        Start(_directory);

        Assert.True(File.Exists(writing), "a file still being written was removed");
        Assert.False(File.Exists(abandoned), "an abandoned temporary file is still there");
    }

    [Fact]
    public void Starts_racing_to_read_store_and_prune_never_see_half_a_kernel_and_leave_the_cache_bounded()
    {
        // Threads stand in for repl processes: each read, write and move opens the file anew, as another process would.
        // Each switch set has its own bytes, large enough that a torn read or write would show.
        static byte[] Kernel(int n) => Enumerable.Repeat((byte)n, 256 * 1024).ToArray();
        var torn = new System.Collections.Concurrent.ConcurrentBag<int>();

        Parallel.For(0, 8, worker =>
        {
            for (int round = 0; round < 20; round++)
            {
                int n = (worker * 7 + round) % (KernelCache.Capacity * 2);
                var defines = new Dictionary<string, long> { ["N"] = n };
                if (KernelCache.Read(_directory, defines) is { } read && !read.AsSpan().SequenceEqual(Kernel(n)))
                    torn.Add(n);
                KernelCache.Write(_directory, defines, Kernel(n));
            }
        });

        Assert.Empty(torn);
        Assert.InRange(Directory.GetFiles(_directory, "*.elf").Length, 1, KernelCache.Capacity);
        Assert.Empty(Directory.GetFiles(_directory, "*.tmp"));
    }
}
