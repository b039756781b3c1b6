using Repl.Shell.Interactive;
using Spectre.Console;

namespace Repl.Shell.Tests.Interactive;

public class HighlighterTests
{
    static readonly string[] Commands = ["break", "x", "step", "continue"];

    /// <summary>The line's runs of one colour that have a colour, as (text, colour) pairs.</summary>
    static (string Text, Color Colour)[] Coloured(string line)
    {
        var styles = Highlighter.Lex(line, Commands);
        var runs = new List<(string, Color)>();
        for (int i = 0; i < line.Length;)
        {
            int start = i;
            while (i < line.Length && Equals(styles[i], styles[start]))
                i++;
            if (styles[start] is { } style)
                runs.Add((line[start..i], style.Foreground));
        }
        return [.. runs];
    }

    [Fact]
    public void A_command_line_colours_its_command_and_whole_numbers_only()
    {
        Assert.Equal([("break", Color.Yellow)], Coloured("break entry_SYSCALL_64"));
        Assert.Equal([("x", Color.Yellow)], Coloured("x/4gx $rsp"));
        Assert.Equal([("break", Color.Yellow), ("if", Color.Blue), ("0x3c", Color.Aqua)], Coloured("break sum if Cpu.Rax == 0x3c"));
    }

    [Fact]
    public void A_command_name_in_csharp_is_not_coloured_as_a_command()
    {
        Assert.Equal([("3", Color.Aqua)], Coloured("step = 3"));
        Assert.Equal([("var", Color.Blue), ("2", Color.Aqua)], Coloured("var my_break = 2"));
    }

    [Fact]
    public void Strings_characters_and_comments_are_coloured_to_their_end_and_nothing_inside_them_else()
    {
        Assert.Equal([("\"a // if 1\"", Color.Orange1), ("// if 2", Color.Grey)], Coloured("Print(\"a // if 1\") // if 2"));
        Assert.Equal([("@\"c:\\\"", Color.Orange1), ("'\\''", Color.Orange1)], Coloured("P(@\"c:\\\", '\\'')"));
        Assert.Equal([("$\"{x} \\\" y\"", Color.Orange1)], Coloured("F($\"{x} \\\" y\")"));
        Assert.Equal([("/* if */", Color.Grey), ("1.5f", Color.Aqua)], Coloured("/* if */ 1.5f"));
        Assert.Equal([("\"unfinished", Color.Orange1)], Coloured("P(\"unfinished"));
    }

    [Fact]
    public void Numbers_are_whole_csharp_literals()
    {
        Assert.Equal([("0x1F", Color.Aqua), ("10UL", Color.Aqua), ("1_000", Color.Aqua)], Coloured("a(0x1F, 10UL, 1_000, 4gx, r64)"));
    }
}
