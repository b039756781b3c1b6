namespace Repl.Shell.Tests.Commands;

public class MalformedInputTests
{
    [Theory]
    [InlineData("x/")]
    [InlineData("x")]
    [InlineData("x/s 0xfffffffffffffff0")]
    [InlineData("x/2i p:0xffffffffffff")]
    [InlineData("break")]
    [InlineData("break sum if ")]
    [InlineData("break 10001b")]
    [InlineData("watch")]
    [InlineData("watch result 0")]
    [InlineData("catch")]
    [InlineData("catch exception 300")]
    [InlineData("msr lstar zz")]
    [InlineData("set =5")]
    [InlineData("set rip=")]
    [InlineData("info pt")]
    [InlineData("info frame 0xfffffffffffffff8")]
    [InlineData("disas 0 0")]
    [InlineData("list 0")]
    [InlineData("asm")]
    [InlineData("asm 0 \"\"")]
    [InlineData("asm 0x8000000000 \"nop\"")]
    [InlineData("inject irq")]
    [InlineData("until")]
    [InlineData("trace show 0")]
    [InlineData("delete x")]
    [InlineData("enable 99")]
    [InlineData("load")]
    [InlineData("source")]
    [InlineData("source /nonexistent/file.cmd")]
    [InlineData("step 0")]
    [InlineData("help nothing")]
    [InlineData("info symbol")]
    [InlineData("regs $nosuch")]
    [InlineData("p/")]
    [InlineData("p/q 1")]
    [InlineData("print $1")]
    [InlineData("x *")]
    [InlineData("set ah=")]
    public void A_malformed_command_is_one_error_line_never_an_internal_error(string command)
    {
        var s = new Session();

        string output = s.Run(command);

        Assert.StartsWith("error: ", output);
        Assert.DoesNotContain("internal error", output);
        Assert.Single(output.TrimEnd('\n').Split('\n'));
    }
}
