using System.Diagnostics;

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
}
