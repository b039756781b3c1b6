using Repl.Shell.Interactive;

namespace Repl.Shell.Tests.Interactive;

public class CompleterTests
{
    readonly FakeCommands commands = new();
    readonly Completer completer;

    public CompleterTests() => completer = new(commands, new FakeCode());

    string[] Complete(string prefix, string word) => [.. completer.GetCompletions(prefix, word, "")];

    [Fact]
    public void The_first_word_completes_to_command_names()
    {
        Assert.Equal(["continue", "crash"], Complete("", "c"));
    }

    [Fact]
    public void The_word_after_a_forcing_colon_completes_to_command_names_and_after_a_forcing_angle_to_csharp_alone()
    {
        Assert.Equal(["step"], Complete(": ", "ste"));
        Assert.Equal([":step"], Complete("", ":ste"));
        Assert.Empty(Complete("> ", "ste"));
        Assert.Equal(["Step"], Complete("> ", "St"));
    }

    [Fact]
    public void A_word_after_a_command_is_its_argument_and_the_command_says_what_goes_there()
    {
        Assert.Equal(["s_argument"], Complete("step ", "s"));
        Assert.Equal(["$r_argument"], Complete("x/4gx ", "$r"));
        Assert.Equal(["_argument"], Complete(":help ", ""));
        Assert.Equal([("step", "s"), ("x/4gx", "$r"), ("help", "")], commands.Completed);
    }

    [Fact]
    public void Inside_Sym_a_word_completes_to_the_symbols_a_location_may_name()
    {
        Assert.Equal(["Print(Sym[\"entry__argument"], Complete("", "Print(Sym[\"entry_"));
        Assert.Equal([("break", "entry_")], commands.Completed);
        Assert.DoesNotContain(Complete("", "Sym[\"done\"].ToS"), c => c.Contains("_argument"));
    }

    [Fact]
    public void A_word_after_csharp_completes_as_csharp_and_never_to_a_command()
    {
        Assert.Equal(["Cpu.Rax"], Complete("step = ", "Cpu.Ra"));
        Assert.Empty(Complete("var n = ", "cont"));
        Assert.Empty(commands.Completed);
    }

    [Fact]
    public void The_globals_complete_by_name_and_their_members_after_a_dot()
    {
        Assert.Equal(["Cpu"], Complete("", "Cp"));
        Assert.Equal(["Cpu.Rax", "Cpu.Rip"], Complete("", "Cpu.R"));
        Assert.Equal(["Cpu.Cs.Base"], Complete("", "Cpu.Cs.B"));
    }

    [Fact]
    public void Events_complete_after_a_dot_as_the_other_members_do()
    {
        Assert.Equal(["On.Syscall"], Complete("", "On.Sys"));
        Assert.Equal(["On.Cr3Write"], Complete("", "On.Cr"));
    }

    [Fact]
    public void What_precedes_the_identifier_in_the_word_is_kept()
    {
        Assert.Equal(["Expect(Cpu.Rax"], Complete("", "Expect(Cpu.Ra"));
    }

    [Fact]
    public void Methods_complete_but_object_members_and_accessors_do_not()
    {
        Assert.Equal(["Step"], Complete("", "St"));
        Assert.Empty(Complete("", "ToStr"));
        Assert.Empty(Complete("", "Cpu.get_"));
        Assert.Empty(Complete("", "Cpu.GetHash"));
        Assert.Empty(Complete("", "On.add_"));
    }

    [Fact]
    public void An_unknown_path_completes_to_nothing()
    {
        Assert.Empty(Complete("", "Nope.R"));
        Assert.Empty(Complete("", "Cpu.Nope.B"));
    }
}
