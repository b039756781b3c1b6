using System.Runtime.Versioning;
using System.Text;
using Repl.Machine.Asm;
using Repl.Qemu;
using static Repl.Machine.Tests.Asm.SampleProgram;

namespace Repl.Machine.Tests.Asm;

/// <summary>
/// gdb reads the ELF writer's symbols and DWARF: with the file alone, and no process, it maps addresses to
/// file:line and back, lists the .S source and places breakpoints on source lines.
/// </summary>
public class GdbLineTests
{
    static string Gdb(params string[] commands)
    {
        using var sample = WriteToTemporaryDirectory();
        var (stdout, stderr, status) = QemuImage.Execute("gdb", ["-batch", "-nx", .. commands.SelectMany(c => new[] { "-ex", c }), sample.Elf],
                                                          TimeSpan.FromSeconds(60));
        Assert.Equal(0, status);
        Assert.Equal("", Encoding.UTF8.GetString(stderr));
        return Encoding.UTF8.GetString(stdout);
    }

    [GdbFact]
    public void Info_line_on_an_address_names_the_source_line_and_its_address_range()
    {
        Assert.Equal("Line 5 of \"file.S\" starts at address 0x100005 <_start+5> and ends at 0x100007 <_start+7>.\n",
                     Gdb($"info line *0x{Text + 5:x}"));
    }

    [GdbFact]
    public void An_address_in_a_second_code_section_maps_to_the_included_file()
    {
        Assert.Equal("Line 4 of \"entry.inc\" starts at address 0x100016 <entry_SYSCALL_64+3> and ends at 0x100019.\n",
                     Gdb($"info line *0x{TextExtra + 3:x}"));
    }

    [GdbFact]
    public void List_shows_the_assembly_source_from_the_compilation_directory()
    {
        Assert.Equal("3\t_start:\n4\t\tmov $1, %eax\n5\t\tadd %ebx, %eax\n", Gdb("list file.S:3,5"));
    }

    [GdbFact]
    public void Info_line_on_a_source_line_gives_its_instruction_s_addresses()
    {
        Assert.Equal("Line 4 of \"file.S\" starts at address 0x100000 <_start> and ends at 0x100005 <_start+5>.\n", Gdb("info line file.S:4"));
    }

    [GdbFact]
    public void Breakpoints_on_source_lines_land_on_their_instructions_in_either_file()
    {
        Assert.Equal("Breakpoint 1 at 0x100000: file file.S, line 4.\nBreakpoint 2 at 0x100016: file entry.inc, line 4.\n",
                     Gdb("break file.S:4", "break entry.inc:4"));
    }

    [GdbFact]
    public void Info_symbol_names_the_symbol_offset_and_section_in_code_and_bss()
    {
        Assert.Equal("_start + 5 in section .text\nbuffer + 1 in section .bss\n", Gdb($"info symbol 0x{Text + 5:x}", $"info symbol 0x{Bss + 1:x}"));
    }

    [GdbFact]
    public void The_compile_unit_says_who_produced_it_and_in_what_language()
    {
        string source = Gdb("list file.S:1,1", "info source");

        Assert.Contains("Producer is Repl assembler.", source);
        Assert.Contains("Source language is asm.", source);
    }
}

/// <summary>
/// gdb runs a program of ours as a Linux process (it starts at _start and leaves through exit(2)) and shows
/// the .S line at each stop: where a source-line breakpoint stops, and after each stepi.
/// </summary>
public class GdbSteppingTests
{
    const ulong At = 0x40_0000;

    const string Source = """
        # Runs as a Linux process, so that gdb can step through it
        	.globl _start
        _start:
        	mov $60, %eax
        	mov $7, %edi
        	syscall

        """;

    static AssemblyResult Exit7() => new()
    {
        Diagnostics = [],
        Sections =
        [
            new(".text", At, 12, 1, SectionFlags.Alloc | SectionFlags.Execute, false,
                [0xB8, 0x3C, 0x00, 0x00, 0x00, 0xBF, 0x07, 0x00, 0x00, 0x00, 0x0F, 0x05]), // mov $60, %eax; mov $7, %edi; syscall
        ],
        Symbols = [new("_start", At, 12, AsmSymbolType.Function, AsmSymbolBinding.Global, ".text")],
        Lines = [new(At, "exit.S", 4), new(At + 5, "exit.S", 5), new(At + 10, "exit.S", 6)],
        Files = ["exit.S"],
    };

    [GdbFact(runsLinuxProcess: true), SupportedOSPlatform("linux")]
    public void A_breakpoint_on_a_source_line_stops_there_and_stepi_shows_each_next_line()
    {
        using var written = ElfOnDisk.Write(Exit7(), "exit.elf", ("exit.S", Source));
        File.SetUnixFileMode(written.Elf, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var (stdout, _, status) = QemuImage.Execute("gdb", ["-batch", "-nx", "-ex", "break exit.S:5", "-ex", "run", "-ex", "stepi", "-ex", "continue", written.Elf],
                                                    TimeSpan.FromSeconds(60));

        Assert.Equal(0, status);
        string output = Encoding.UTF8.GetString(stdout);
        Assert.Contains("Breakpoint 1, _start () at exit.S:5\n5\t\tmov $7, %edi\n", output);
        Assert.Contains("\n6\t\tsyscall\n", output);
        Assert.Contains("exited with code 07", output);
    }
}

/// <summary>
/// A fact that is skipped, with the reason printed, when gdb is not installed, or when it would run the program
/// as a process and the host is not Linux.
/// </summary>
public sealed class GdbFactAttribute : FactAttribute
{
    static readonly string? MissingTools = QemuImage.Missing("gdb");

    public GdbFactAttribute(bool runsLinuxProcess = false)
    {
        if (MissingTools is not null)
            Skip = $"{MissingTools} not installed (.ci/run installs gdb)";
        else if (runsLinuxProcess && !OperatingSystem.IsLinux())
            Skip = "the program runs as a Linux process";
    }
}
