using System.Diagnostics;
using Repl.Machine;
using Repl.Machine.Tests.Boot;

namespace Repl.Shell.Tests;

/// <summary>End to end: the built <c>repl boot</c> run as a process, with its stdout, stderr and exit status.</summary>
public class BootCommandTests
{
    // Hand-encoded 32-bit code: write AL to COM1 through DX, leave through isa-debug-exit, halt.
    static byte[] SendToCom1(byte b) => [0x66, 0xBA, 0xF8, 0x03, 0xB0, b, 0xEE]; // mov dx, 0x3f8; mov al, b; out dx, al
    static byte[] DebugExit(byte v) => [0xB0, v, 0xE6, 0xF4]; // mov al, v; out 0xf4, al
    static readonly byte[] CliHlt = [0xFA, 0xF4];
    static readonly byte[] JumpToSelf = [0xEB, 0xFE];

    static string WriteImage(byte[] code, bool multiboot = true)
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("repl-boot-").FullName, "kernel.bin");
        File.WriteAllBytes(path, multiboot ? TestImages.Kludge(code) : code);
        return path;
    }

    static (byte[] Stdout, string Stderr, int Status) Repl(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "repl.dll"));
        foreach (var a in args)
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        copy.Wait();
        return (stdout.ToArray(), stderr, process.ExitCode);
    }

    [Fact]
    public void Stdout_carries_exactly_the_bytes_sent_to_com1_and_the_status_is_the_debug_exit_status()
    {
        byte[] sent = [(byte)'o', 0x00, 0xFF, 0x80, (byte)'\r', (byte)'\n', (byte)'k'];
        string image = WriteImage([.. sent.SelectMany(SendToCom1), .. DebugExit(3), .. CliHlt]);

        var (stdout, stderr, status) = Repl("boot", "--image", image);

        Assert.Equal(sent, stdout);
        Assert.Equal("", stderr);
        Assert.Equal((3 << 1) | 1, status);
    }

    [Fact]
    public void Hlt_with_interrupts_off_exits_with_8_and_says_so_on_stderr()
    {
        string image = WriteImage([.. SendToCom1((byte)'x'), .. CliHlt]);

        var (stdout, stderr, status) = Repl("boot", "--image", image, "--cpu", "amd");

        Assert.Equal("x"u8.ToArray(), stdout);
        Assert.Equal("repl: guest halted with interrupts off at 0x100029 (exit 8)\n", stderr);
        Assert.Equal(8, status);
    }

    [Fact]
    public void An_exhausted_instruction_budget_exits_with_6()
    {
        string image = WriteImage(JumpToSelf);

        var (_, stderr, status) = Repl("boot", "--image", image, "--max-instructions", "1000");

        Assert.Equal("repl: instruction budget of 1000 exhausted at 0x100020 (raise --max-instructions) (exit 6)\n", stderr);
        Assert.Equal(6, status);
    }

    [Fact]
    public void A_malformed_image_gives_one_line_and_exit_code_2()
    {
        string image = WriteImage(JumpToSelf, multiboot: false);

        var (stdout, stderr, status) = Repl("boot", "--image", image);

        Assert.Empty(stdout);
        Assert.Equal($"repl: {image}: no multiboot header (magic 0x1badb002) in the first 8192 bytes; is this a multiboot kernel? (exit 2)\n", stderr);
        Assert.Equal(2, status);
    }

    [Fact]
    public void A_usage_error_gives_one_line_with_a_hint_and_exit_code_2()
    {
        var (_, stderr, status) = Repl("boot", "--bogus");

        Assert.Equal("repl: Unrecognized command or argument '--bogus'. (try 'repl boot --help')\n", stderr);
        Assert.Equal(2, status);
    }

    [Fact]
    public void Without_an_image_boot_runs_the_entry_kernel_whose_self_test_passes()
    {
        var (stdout, stderr, status) = Repl("boot");
        string transcript = System.Text.Encoding.Latin1.GetString(stdout);

        Assert.Contains("PASS getpid\n", transcript);
        Assert.DoesNotContain("FAIL", transcript);
        Assert.Equal("", stderr);
        Assert.Equal(1, status);	// exit(0 failures), as QEMU's isa-debug-exit reports it
    }

    [Fact]
    public void The_image_repl_image_writes_boots_with_the_transcript_of_the_built_in_entry_kernel()
    {
        string elf = Path.Combine(Directory.CreateTempSubdirectory("repl-image-").FullName, "entry.elf");

        var (written, _, writeStatus) = Repl("image", "--out", elf, "--define", "KPTI=0");
        var (fromFile, _, fileStatus) = Repl("boot", "--image", elf);
        var (builtIn, _, builtInStatus) = Repl("boot", "--define", "KPTI=0");

        Assert.Equal(0, writeStatus);
        Assert.StartsWith($"wrote {elf}: the entry kernel", System.Text.Encoding.UTF8.GetString(written));
        Assert.Equal(builtIn, fromFile);
        Assert.Equal((1, 1), (fileStatus, builtInStatus));
    }

    [Fact]
    public void A_switch_value_the_kernel_rejects_is_one_line_naming_it_and_exit_code_2()
    {
        var (stdout, stderr, status) = Repl("boot", "--define", "PCID=7");

        Assert.Empty(stdout);
        Assert.Equal("repl: entry kernel: defs.inc:23:2: the switch PCID takes 0 or 1 (check the --define values) (exit 2)\n", stderr);
        Assert.Equal(2, status);
    }

    [Fact]
    public void A_define_that_names_no_switch_is_refused_with_the_switches_as_the_hint()
    {
        var (stdout, stderr, status) = Repl("boot", "--define", "KTPI=0");

        Assert.Empty(stdout);
        Assert.Equal("repl: entry kernel: no switch named KTPI; its switches are BENCH_GETPID, ILLUMOS, KPTI, LA57, PCID, SYSRET_CHECK "
                     + "(check the --define values) (exit 2)\n", stderr);
        Assert.Equal(2, status);
    }

    [Fact]
    public void Help_documents_the_exit_codes()
    {
        var (stdout, _, status) = Repl("boot", "--help");

        Assert.Equal(0, status);
        Assert.Contains("4 triple fault, 6 instruction budget exhausted", System.Text.Encoding.UTF8.GetString(stdout));
    }
}
