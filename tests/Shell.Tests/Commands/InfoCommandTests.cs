namespace Repl.Shell.Tests.Commands;

public class InfoCommandTests
{
    readonly Session s = new();

    [Fact]
    public void Info_symbol_names_the_symbol_offset_and_line()
    {
        Assert.Equal("sum + 2 at 0x10001b (builtin.S:16)\n", s.Run("info symbol 0x10001d"));
        Assert.Equal("No symbol matches 0x10.\n", s.Run("info symbol 0x10"));
    }

    [Fact]
    public void Info_mode_says_where_the_processor_stands()
    {
        Assert.Equal("mode long (Long64), 64-bit code, CPL 0, paging 4-level, IF 0\n", s.Run("info mode"));
    }

    [Fact]
    public void Info_registers_is_regs()
    {
        Assert.Equal(s.Run("regs cr"), s.Run("info reg cr"));
    }

    [Fact]
    public void Info_of_an_unknown_or_ambiguous_subject_lists_the_choices()
    {
        Assert.StartsWith("error: no info subject 'frames'", s.Run("info frames"));
        Assert.StartsWith("error: info what? breakpoints, registers", s.Run("info"));
    }
}
