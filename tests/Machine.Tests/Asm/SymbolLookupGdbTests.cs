using System.Globalization;
using System.Text;
using Repl.Machine.Asm;
using Repl.Machine.Kernel;
using Repl.Qemu;

namespace Repl.Machine.Tests.Asm;

/// <summary>
/// gdb is the oracle for naming an address: its `info symbol` on the entry kernel's ELF, against our lookup on the
/// symbols we read from the same file, at every symbol's address and its neighbours, at every section's edges, and
/// at addresses no section holds (a user stack, the higher half, the top of the address space).
/// </summary>
public class SymbolLookupGdbTests
{
    [GdbFact]
    public void Every_address_is_named_as_gdbs_info_symbol_names_it_in_the_entry_kernel()
    {
        byte[] elf = EntryKernel.Elf();
        var image = new ElfImage(elf);
        var lookup = SymbolLookup.From(image.Symbols);
        var addresses = new SortedSet<ulong> { 0, 0x7fff_0000_1000, 0x7fff_ffff_eff8, 0xffff_ffff_8010_3100, 0xffff_ffff_ffff_fff0 };
        foreach (var symbol in image.Symbols.Where(s => !s.Absolute))
            addresses.UnionWith([symbol.Address - 1, symbol.Address, symbol.Address + 1, symbol.Address + symbol.Size]);
        foreach (var section in image.Sections.Where(s => s.Address != 0))
            addresses.UnionWith([section.Address - 1, section.Address, section.Address + section.Size - 1, section.Address + section.Size]);

        string directory = Directory.CreateTempSubdirectory("repl-symbols-").FullName;
        try
        {
            string file = Path.Combine(directory, "entry.elf"), script = Path.Combine(directory, "commands.gdb");
            File.WriteAllBytes(file, elf);
            File.WriteAllLines(script, addresses.Select(a => $"info symbol 0x{a:x}"));
            var (stdout, stderr, status) = QemuImage.Execute("gdb", ["-batch", "-nx", "-x", script, file], TimeSpan.FromSeconds(120));
            Assert.True(status == 0, Encoding.UTF8.GetString(stderr));
            string[] answers = Encoding.UTF8.GetString(stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(addresses.Count, answers.Length);

            var differences = addresses.Zip(answers)
                .Select(pair => (Address: pair.First, Gdb: GdbName(pair.Second), Ours: lookup.Find(pair.First)?.ToString()))
                .Where(x => x.Gdb != x.Ours)
                .Select(x => $"0x{x.Address:x}: gdb {x.Gdb ?? "none"}, ours {x.Ours ?? "none"}")
                .ToList();
            Assert.True(differences.Count == 0, $"{differences.Count} of {addresses.Count} differ:\n{string.Join('\n', differences.Take(20))}");
            // The comparison covers both answers: names and the addresses no symbol names.
            Assert.Contains(answers, a => a.StartsWith("No symbol matches", StringComparison.Ordinal));
            Assert.Contains(answers, a => a.Contains(" + ", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>"entry_SYSCALL_64 + 50 in section .entry.text" as our "entry_SYSCALL_64+50"; null for "No symbol matches".</summary>
    static string? GdbName(string answer)
    {
        if (answer.StartsWith("No symbol matches", StringComparison.Ordinal))
            return null;
        string name = answer[..answer.IndexOf(" in section ", StringComparison.Ordinal)];
        int plus = name.IndexOf(" + ", StringComparison.Ordinal);
        return plus < 0 ? name : $"{name[..plus]}+{ulong.Parse(name[(plus + 3)..], CultureInfo.InvariantCulture)}";
    }
}
