using Repl.Shell.Interactive;

namespace Repl.Shell.Tests.Interactive;

public class CompleterTests
{
    readonly Completer completer = new(new FakeCommands(), new FakeCode());

    string[] Complete(string prefix, string word) => [.. completer.GetCompletions(prefix, word, "")];

    [Fact]
    public void The_first_word_completes_to_command_names()
    {
        Assert.Equal(["continue", "crash"], Complete("", "c"));
    }

    [Fact]
    public void The_word_after_help_or_a_forcing_colon_completes_to_command_names()
    {
        Assert.Equal(["continue", "crash"], Complete("help ", "c"));
        Assert.Equal(["step"], Complete(": ", "ste"));
        Assert.Equal([":step"], Complete("", ":ste"));
    }

    [Fact]
    public void A_later_word_completes_to_registers_msrs_and_symbols_but_not_commands()
    {
        Assert.Equal(["rax", "rip"], Complete("x/gx ", "r"));
        Assert.Equal(["IA32_LSTAR"], Complete("rdmsr ", "IA"));
        Assert.Equal(["entry_SYSCALL_64"], Complete("break ", "entry"));
        Assert.Empty(Complete("break ", "cont"));
    }

    [Fact]
    public void The_globals_complete_by_name_and_their_members_after_a_dot()
    {
        Assert.Equal(["Cpu"], Complete("", "Cp"));
        Assert.Equal(["Cpu.Rax", "Cpu.Rip"], Complete("", "Cpu.R"));
        Assert.Equal(["Cpu.Cs.Base"], Complete("", "Cpu.Cs.B"));
    }

    [Fact]
    public void What_precedes_the_identifier_in_the_word_is_kept()
    {
        Assert.Equal(["Expect(Cpu.Rax"], Complete("", "Expect(Cpu.Ra"));
        Assert.Equal(["$rax"], Complete("p ", "$ra"));
    }

    [Fact]
    public void Methods_complete_but_object_members_and_accessors_do_not()
    {
        Assert.Equal(["Step"], Complete("", "St"));
        Assert.Empty(Complete("", "ToStr"));
        Assert.Empty(Complete("", "Cpu.get_"));
        Assert.Empty(Complete("", "Cpu.GetHash"));
    }

    [Fact]
    public void An_unknown_path_completes_to_nothing()
    {
        Assert.Empty(Complete("", "Nope.R"));
        Assert.Empty(Complete("", "Cpu.Nope.B"));
    }
}
