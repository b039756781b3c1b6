using Repl.Shell.Commands;

namespace Repl.Shell.Tests.Commands;

/// <summary>What Tab offers for each command's arguments, on the built-in program (symbols _start and sum).</summary>
public class CompletionTests
{
    readonly Session s = new();

    string[] Complete(string commandLine, string word) => [.. CommandRegistry.Complete(s.Debugger, commandLine, word).Distinct().Order(StringComparer.Ordinal)];

    [Fact]
    public void Subcommands_and_groups_complete_where_the_command_takes_them_and_nothing_else_does()
    {
        Assert.Equal(["seg"], Complete("regs", "se"));
        Assert.Equal(["rbp", "rbx"], Complete("regs rax", "rb"));
        Assert.Equal(["syscall"], Complete("catch", "sys"));
        Assert.Equal(["off", "on", "show"], Complete("trace", ""));
        Assert.Equal(["nmi"], Complete("inject", "n"));
        Assert.Equal(["stop"], Complete("gdbserver", ""));
        Assert.Empty(Complete("regs seg", ""));
        Assert.Empty(Complete("stepi", "s"));
    }

    [Fact]
    public void Info_completes_its_subjects_then_what_the_subject_takes()
    {
        string[] subjects = Complete("info", "");
        Assert.Contains("breakpoints", subjects);
        Assert.Contains("pt", subjects);
        Assert.DoesNotContain("_start", subjects);
        Assert.Equal(["$rip"], Complete("info pt", "$ri"));
        Assert.Equal(["seg"], Complete("info reg", "s"));
        Assert.Empty(Complete("info gdt", ""));
    }

    [Fact]
    public void Msr_names_complete_in_every_spelling_msr_accepts_in_the_case_typed()
    {
        Assert.Equal(["lstar"], Complete("msr", "ls"));
        Assert.Contains("lstar", Complete("msr", "l"));
        Assert.Equal(["IA32_LSTAR"], Complete("msr", "IA32_LS"));
        Assert.Equal(["KernelGsBase"], Complete("msr", "Ker"));
        Assert.Equal(["MSR_LSTAR"], Complete("msr", "MSR_LS"));
        Assert.Equal(["sfmask"], Complete("catch msr", "sf"));
        // Every offer is one msr takes.
        foreach (string name in Complete("msr", ""))
            Assert.StartsWith("IA32_", s.Run($"msr {name}"));
    }

    [Fact]
    public void Msr_names_are_the_profiles_own()
    {
        var amd = new Session(Repl.Shell.Debugging.Debugger.Create(Session.BuiltIn with { Vendor = Repl.Machine.CpuVendor.Amd }));
        Assert.Contains("spec_ctrl", Complete("msr", "spec"));
        Assert.Empty(CommandRegistry.Complete(amd.Debugger, "msr", "spec"));
    }

    [Fact]
    public void Locations_complete_to_symbols_and_values_to_symbols_and_registers()
    {
        Assert.Equal(["sum"], Complete("break", "su"));
        Assert.Equal(["*sum"], Complete("until", "*su"));
        Assert.Empty(Complete("break", "ra"));
        Assert.Equal(["$rsi", "$rsp"], Complete("x/4gx", "$rs"));
        Assert.Equal(["rsi", "rsp"], Complete("watch", "rs"));
        Assert.Equal(["pf"], Complete("catch exception", "p"));
        Assert.Equal(["rip"], Complete("set", "ri"));
    }

    [Fact]
    public void Help_completes_command_names_and_delete_the_breakpoint_numbers()
    {
        Assert.Equal(["step", "stepi"], Complete("help", "ste"));
        s.Run("break sum");
        Assert.Equal(["1"], Complete("delete", ""));
    }

    [Fact]
    public void Load_and_source_complete_file_names_and_directories_with_a_slash()
    {
        string directory = Directory.CreateTempSubdirectory("repl-complete-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(directory, "kernel.elf"), "");
            File.WriteAllText(Path.Combine(directory, ".hidden"), "");
            Directory.CreateDirectory(Path.Combine(directory, "kernels"));
            Assert.Equal([$"{directory}/kernel.elf", $"{directory}/kernels/"], Complete("load", $"{directory}/k"));
            Assert.Equal([$"{directory}/kernel.elf", $"{directory}/kernels/"], Complete("source", $"{directory}/"));
            Assert.Equal([$"{directory}/.hidden"], Complete("load", $"{directory}/."));
            Assert.Empty(Complete("load", $"{directory}/nope/k"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
