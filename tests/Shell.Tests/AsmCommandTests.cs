using System.Diagnostics;
using Repl.Machine;

namespace Repl.Shell.Tests;

/// <summary>End to end: the built <c>repl asm</c> run as a process, on sources in a temporary directory.</summary>
public sealed class AsmCommandTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("repl-asm-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    string Source(string name, string text)
    {
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    (string Stdout, string Stderr, int Status) Repl(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "repl.dll"));
        foreach (var a in args)
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (stdout.Result, stderr, process.ExitCode);
    }

    [Fact]
    public void A_source_that_cannot_be_read_gives_one_line_and_exit_code_2()
    {
        var (stdout, stderr, status) = Repl("asm", "missing.S");

        Assert.Equal("", stdout);
        Assert.StartsWith("repl: cannot read missing.S: ", stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.Equal(2, status);
    }

    [Theory]
    [InlineData("repl: --out needs a file name, not an empty string (try 'repl image --help')\n", "image", "--out", "")]
    [InlineData("repl: --image needs a file name, not an empty string (try 'repl boot --help')\n", "boot", "--image", "")]
    [InlineData("repl: --image needs a file name, not an empty string (try 'repl gdb --help')\n", "gdb", "--image", "")]
    [InlineData("repl: --image needs a file name, not an empty string (try 'repl --help')\n", "--image", "")]
    [InlineData("repl: FILE.S needs a file name, not an empty string (try 'repl asm --help')\n", "asm", "")]
    [InlineData("repl: --output needs a file name, not an empty string (try 'repl asm --help')\n", "asm", "x.S", "-o", "")]
    public void An_empty_file_name_is_a_usage_error_with_exit_code_2(string message, params string[] args)
    {
        var (stdout, stderr, status) = Repl(args);

        Assert.Equal("", stdout);
        Assert.Equal(message, stderr);
        Assert.Equal(2, status);
    }

    [Theory]
    [InlineData("--origin", "0x10z", "repl: --origin 0x10z: give an address in hex (0x100000) or decimal (try 'repl asm --help')\n")]
    [InlineData("--origin", "-1", "repl: --origin -1: give an address in hex (0x100000) or decimal (try 'repl asm --help')\n")]
    [InlineData("--defsym", "DEBUG", "repl: --defsym DEBUG: write NAME=VALUE, the value in hex (0x10) or decimal (try 'repl asm --help')\n")]
    [InlineData("--defsym", "=1", "repl: --defsym =1: write NAME=VALUE, the value in hex (0x10) or decimal (try 'repl asm --help')\n")]
    public void A_malformed_option_value_is_a_usage_error_with_exit_code_2(string option, string value, string message)
    {
        string source = Source("ok.S", "nop\n");

        var (_, stderr, status) = Repl("asm", source, option, value);

        Assert.Equal(message, stderr);
        Assert.Equal(2, status);
        Assert.False(File.Exists(Path.Combine(dir, "ok.elf")));
    }

    [Fact]
    public void A_missing_source_argument_is_a_usage_error_with_exit_code_2()
    {
        var (_, stderr, status) = Repl("asm");

        Assert.Equal("repl: Required argument 'FILE.S' missing for command: 'asm'. (try 'repl asm --help')\n", stderr);
        Assert.Equal(2, status);
    }

    [Fact]
    public void Help_documents_the_exit_codes_and_gives_an_example()
    {
        var (stdout, _, status) = Repl("asm", "--help");

        Assert.Equal(0, status);
        Assert.Contains("Exit status: 0 when assembled, 1 when the source has errors, 2 when the file cannot be read", stdout);
        Assert.Contains("Example: repl asm boot.S -o kernel.elf --origin 0x100000 --defsym DEBUG=1", stdout);
    }

    // From here on the assembler itself runs.

    const string BootSource = """
        	.globl _start
        _start:
        	mov $1, %eax
        	hlt
        	.data
        value:	.long 5
        	.bss
        buffer:	.skip 16

        """;

    [Fact]
    public void Assembling_writes_an_elf_next_to_the_source_and_says_what_it_wrote()
    {
        Source("boot.S", BootSource);

        var (stdout, stderr, status) = Repl("asm", "boot.S");

        Assert.Equal("", stderr);
        Assert.Equal(0, status);
        Assert.Equal("wrote boot.elf: 10 bytes of code/data in 3 sections, 3 symbols\n", stdout);
        var elf = new ElfImage(File.ReadAllBytes(Path.Combine(dir, "boot.elf")));
        Assert.Equal(0x10_0000UL, elf.Entry);
        Assert.Contains(new ElfSymbol("value", 0x10_0006, 0, ElfSymbolType.NoType, Section: (0x10_0006, 0x10_000a)), elf.Symbols);
    }

    [Fact]
    public void Output_and_origin_choose_the_file_and_the_load_address()
    {
        Source("boot.S", BootSource);

        var (stdout, _, status) = Repl("asm", "boot.S", "-o", "kernel.elf", "--origin", "0x200000");

        Assert.Equal(0, status);
        Assert.StartsWith("wrote kernel.elf: ", stdout);
        var elf = new ElfImage(File.ReadAllBytes(Path.Combine(dir, "kernel.elf")));
        Assert.Equal(0x20_0000UL, elf.Entry);
        Assert.Equal([0x20_0000UL, 0x20_0006UL, 0x20_000AUL], elf.Segments.Select(s => s.PhysicalAddress));
        Assert.False(File.Exists(Path.Combine(dir, "boot.elf")));
    }

    [Fact]
    public void Defsym_defines_absolute_symbols_and_binary_writes_the_flat_image()
    {
        Source("values.S", ".quad BASE, DOWN\n");

        var (stdout, stderr, status) = Repl("asm", "values.S", "--binary", "--defsym", "BASE=0x1234", "--defsym", "DOWN=-2");

        Assert.Equal("", stderr);
        Assert.Equal(0, status);
        Assert.StartsWith("wrote values.bin: 16 bytes", stdout);
        Assert.Equal([0x34, 0x12, 0, 0, 0, 0, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], File.ReadAllBytes(Path.Combine(dir, "values.bin")));
    }

    [Fact]
    public void Include_directories_are_searched_after_the_including_files_own()
    {
        Directory.CreateDirectory(Path.Combine(dir, "inc"));
        File.WriteAllText(Path.Combine(dir, "inc", "value.inc"), ".long 0x11223344\n");
        Source("main.S", ".include \"value.inc\"\n");

        var (_, missing, failed) = Repl("asm", "main.S", "--binary");
        var (stdout, stderr, status) = Repl("asm", "main.S", "--binary", "-I", "inc");

        Assert.Equal(1, failed);
        Assert.Contains("can't open value.inc for reading", missing);
        Assert.Equal("", stderr);
        Assert.Equal(0, status);
        Assert.StartsWith("wrote main.bin: 4 bytes", stdout);
        Assert.Equal([0x44, 0x33, 0x22, 0x11], File.ReadAllBytes(Path.Combine(dir, "main.bin")));
    }

    [Fact]
    public void Every_error_is_printed_gnu_style_with_the_line_and_a_caret_and_the_exit_status_is_1()
    {
        Source("bad.S", "\tnop\n\tmovq %rax\n\tnop\n\tfoo %eax\n");

        var (stdout, stderr, status) = Repl("asm", "bad.S");

        Assert.Equal("", stdout);
        Assert.Equal(1, status);
        var lines = stderr.Split('\n');
        Assert.StartsWith("bad.S:2:", lines[0]);
        Assert.Contains(": error: ", lines[0]);
        Assert.Equal("  \tmovq %rax", lines[1]);
        Assert.EndsWith("^", lines[2]);
        Assert.Contains(lines, l => l.StartsWith("bad.S:4:") && l.Contains(": error: "));
        Assert.False(File.Exists(Path.Combine(dir, "bad.elf")));
    }

    const string Kernel = """
        # Multiboot with the address fields, so that an ELF64 file loads like a flat image
        	.code32
        	.globl _start
        header:	.long 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
        	.long header, header, end, end, _start
        _start:	mov $0x3f8, %dx
        	mov $'h', %al
        	out %al, %dx
        	mov $'i', %al
        	out %al, %dx
        	mov $3, %al
        	out %al, $0xf4	# isa-debug-exit
        	cli
        	hlt
        end:

        """;

    [Fact]
    public void A_multiboot_kernel_assembled_by_repl_asm_boots_with_repl_boot()
    {
        Source("kernel.S", Kernel);

        Assert.Equal(0, Repl("asm", "kernel.S").Status);
        var (stdout, stderr, status) = Repl("boot", "--image", "kernel.elf");

        Assert.Equal("", stderr);
        Assert.Equal("hi", stdout);
        Assert.Equal((3 << 1) | 1, status);
    }

    [GdbFact]
    public async Task Gdb_attached_to_repl_gdb_stops_on_a_source_line_of_the_kernel_and_stepi_shows_the_next()
    {
        Source("kernel.S", Kernel);
        Assert.Equal(0, Repl("asm", "kernel.S").Status);

        var (text, _) = await GdbAgainstReplGdb(["--image", "kernel.elf"], ["kernel.elf"], ["break kernel.S:7", "continue", "stepi"]);

        Assert.Contains("Breakpoint 1 at 0x100024: file kernel.S, line 7.", text);
        Assert.Contains("Breakpoint 1, _start () at kernel.S:7\n7\t\tmov $'h', %al\n", text);
        Assert.Contains("\n8\t\tout %al, %dx\n", text);
    }

    [GdbFact]
    public async Task Monitor_runs_shell_commands_on_the_machine_repl_gdb_serves()
    {
        var (text, _) = await GdbAgainstReplGdb([], [], ["stepi", "monitor regs gp", "monitor info breakpoints", "monitor frobnicate"]);

        Assert.Matches(@"rip\s+0x[0-9a-f]+", text);
        Assert.Contains("No breakpoints", text);
        Assert.Contains("frobnicate", text);
    }

    [GdbFact]
    public async Task Repl_gdb_keeps_the_entry_kernel_files_for_gdb_while_it_serves_and_removes_them_when_it_ends()
    {
        // kill and a closed terminal (Ctrl+C, which a shell may have the server ignore, is typed in TerminalSessionTests).
        foreach (string signal in new[] { "TERM", "HUP" })
        {
            var (text, status) = await GdbAgainstReplGdb([], [], ["list entry_SYSCALL_64,+0"], signal);

            Assert.Matches(@"\d+\t\tswapgs", text); // gdb read the source from the directory repl wrote
            Assert.Equal(0, status);
            Assert.Empty(Directory.GetDirectories(Temporary, "repl-gdb-*"));
        }
    }

    /// <summary>The temporary directory of the repl gdb processes the tests start, inside this test's own.</summary>
    string Temporary => Directory.CreateDirectory(Path.Combine(dir, "tmp")).FullName;

    /// <summary>Starts "repl gdb ARGS" on a free port, runs gdb -batch with the commands against it, and returns gdb's output
    /// and the server's exit status once <paramref name="signal"/> (kill -s's name) has ended it.</summary>
    async Task<(string Gdb, int Status)> GdbAgainstReplGdb(string[] replArgs, string[] gdbArgs, string[] commands, string signal = "TERM")
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
        start.Environment["TMPDIR"] = Temporary;
        foreach (var a in (string[])[Path.Combine(AppContext.BaseDirectory, "repl.dll"), "gdb", .. replArgs, "--listen", "127.0.0.1:0"])
            start.ArgumentList.Add(a);
        using var server = Process.Start(start)!;
        try
        {
            // "repl: IMAGE loaded, stopped at 0x...; listening on 127.0.0.1:PORT; connect with: ..."
            string announced = server.StandardError.ReadLine() ?? "";
            string endPoint = announced.Split("listening on ")[1].Split(';')[0];
            var client = new ProcessStartInfo("gdb") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
            // gdb waits 2 s for a reply by default; a loaded host can take longer to send the entry kernel through vFile.
            foreach (var a in (string[])["-batch", "-nx", .. gdbArgs, "-ex", "set remotetimeout 30", "-ex", $"target remote {endPoint}",
                                         .. commands.SelectMany(c => new[] { "-ex", c })])
                client.ArgumentList.Add(a);
            using var gdb = Process.Start(client)!;
            var output = gdb.StandardOutput.ReadToEndAsync();
            var errors = gdb.StandardError.ReadToEndAsync();
            await gdb.WaitForExitAsync();
            using (var kill = Process.Start("kill", ["-s", signal, server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                await kill.WaitForExitAsync();
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await server.WaitForExitAsync(patience.Token);
            return (await output + await errors, server.ExitCode);
        }
        finally
        {
            if (!server.HasExited)
                server.Kill();
        }
    }
}

/// <summary>A fact that is skipped, with the reason printed, when gdb is not installed.</summary>
public sealed class GdbFactAttribute : FactAttribute
{
    public GdbFactAttribute()
    {
        if (!(Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Any(d => File.Exists(Path.Combine(d, "gdb"))))
            Skip = "gdb not installed (.ci/run installs it)";
    }
}
