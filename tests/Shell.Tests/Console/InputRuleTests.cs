using Repl.Shell.Interactive;

namespace Repl.Shell.Tests.Interactive;

public class InputRuleTests
{
    static readonly HashSet<string> Commands = ["step", "s", "n", "x", "break", "b", "continue", "list", "set", "help", "regs"];

    static Input Classify(string line) => InputRule.Classify(line, Commands.Contains);

    [Theory]
    [InlineData("step")]
    [InlineData("step 3")]
    [InlineData("  s  ")]
    [InlineData("x/4gx $rsp")]
    [InlineData("x/i $rip")]
    [InlineData("break *0x401000")]
    [InlineData("b entry_SYSCALL_64 if Cpu.Rax == 60")]
    [InlineData("list -")]
    [InlineData("n 3")]
    [InlineData("x -5")]
    [InlineData("set rax=5")]
    [InlineData("regs all")]
    [InlineData("continue")]
    public void A_command_name_followed_by_nothing_or_arguments_is_a_command(string line)
    {
        Assert.Equal(new Input(InputKind.Command, line.Trim()), Classify(line));
    }

    [Theory]
    [InlineData("step = 3")]
    [InlineData("step=3")]
    [InlineData("step == 3")]
    [InlineData("x.Length")]
    [InlineData("x[0]")]
    [InlineData("list(1, 2)")]
    [InlineData("step;")]
    [InlineData("x ?? 0")]
    [InlineData("x != 1")]
    [InlineData("x++")]
    [InlineData("x--")]
    [InlineData("x += 1")]
    [InlineData("x /= 8")]
    [InlineData("x <<= 1")]
    [InlineData("n + 1")]
    [InlineData("step - 1")]
    [InlineData("x * 2")]
    [InlineData("x && y")]
    [InlineData("x >> 3")]
    [InlineData("n*2")]
    [InlineData("n-1")]
    [InlineData("step+1")]
    public void A_command_name_followed_by_csharp_punctuation_is_csharp(string line)
    {
        Assert.Equal(new Input(InputKind.CSharp, line), Classify(line));
    }

    [Theory]
    [InlineData("Step()")]
    [InlineData("Cpu.Rax")]
    [InlineData("var n = 3;")]
    [InlineData("1 + 2")]
    [InlineData("#load \"setup.csx\"")]
    [InlineData("\"step\"")]
    [InlineData("stepper 3")]
    public void A_line_whose_first_word_is_not_a_command_is_csharp(string line)
    {
        Assert.Equal(new Input(InputKind.CSharp, line), Classify(line));
    }

    [Fact]
    public void A_colon_forces_a_command_even_where_csharp_punctuation_follows()
    {
        Assert.Equal(new Input(InputKind.Command, "step = 3"), Classify(":step = 3"));
        Assert.Equal(new Input(InputKind.Command, "nosuch"), Classify(" : nosuch"));
    }

    [Fact]
    public void A_greater_than_sign_forces_csharp_even_for_a_bare_command_name()
    {
        Assert.Equal(new Input(InputKind.CSharp, "step"), Classify(">step"));
        Assert.Equal(new Input(InputKind.CSharp, "x"), Classify("> x"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\t")]
    [InlineData(":")]
    [InlineData(">  ")]
    public void A_blank_line_or_a_bare_forcing_prefix_is_empty(string line)
    {
        Assert.Equal(InputKind.Empty, Classify(line).Kind);
    }

    [Fact]
    public void The_help_text_names_both_forcing_prefixes_and_the_punctuation()
    {
        Assert.Contains("':' makes the line a command", InputRule.Help);
        Assert.Contains("'>' makes it C#", InputRule.Help);
        Assert.Contains("= ( . [ ; ? !", InputRule.Help);
        Assert.Contains("n + 1", InputRule.Help);
        Assert.Contains("c*2", InputRule.Help);
    }
}
