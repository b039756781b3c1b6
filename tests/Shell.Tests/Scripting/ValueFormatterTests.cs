using Repl.Shell.Scripting;

namespace Repl.Shell.Tests.Scripting;

public class ValueFormatterTests
{
    public readonly record struct Frame(ulong Rip, ushort Cs, bool User);

    [Theory]
    [InlineData(7UL, "7")]
    [InlineData(42UL, "0x2a (42)")]
    [InlineData(0xffff_ffff_8100_0000UL, "0xffffffff81000000 (-2130706432)")]
    [InlineData(0x1_0000UL, "0x10000")]
    [InlineData(-1L, "0xffffffffffffffff (-1)")]
    [InlineData(-2, "0xfffffffe (-2)")]
    [InlineData(0x8000_0000U, "0x80000000 (-2147483648)")]
    public void Integers_show_in_hex_with_the_decimal_when_small_or_negative(object value, string shown) =>
        Assert.Equal(shown, ValueFormatter.Format(value));

    [Fact]
    public void Byte_arrays_show_as_a_hex_dump_with_ascii()
    {
        byte[] bytes = [.. "GenuineIntel"u8, 0x0f, 0x05, 0xc3, 0x90, 0x00];
        Assert.Equal("0000: 47 65 6e 75 69 6e 65 49 6e 74 65 6c 0f 05 c3 90  GenuineIntel....\n"
                     + "0010: 00                                               .",
                     ValueFormatter.Format(bytes));
    }

    [Fact]
    public void Records_and_structs_show_as_a_table_of_fields()
    {
        Assert.Equal("Frame\n  Rip   0xffffffff81000000 (-2130706432)\n  Cs    0x10 (16)\n  User  false",
                     ValueFormatter.Format(new Frame(0xffff_ffff_8100_0000, 0x10, false)));
    }

    [Fact]
    public void A_struct_that_writes_itself_shows_its_own_line() =>
        Assert.Equal("breakpoint at 0x100003", ValueFormatter.Format(new Repl.Machine.StopReason(Repl.Machine.StopKind.Breakpoint, 0x100003)));

    [Fact]
    public void Collections_show_briefly()
    {
        Assert.Equal("[1, 2, 3]", ValueFormatter.Format(new List<ulong> { 1, 2, 3 }));
        Assert.Equal("[0, 1, 2, 3, 4, 5, 6, 7, ... (100 items)]", ValueFormatter.Format(Enumerable.Range(0, 100)));
    }

    [Fact]
    public void Enums_show_by_their_name() =>
        Assert.Equal("Long64", ValueFormatter.Format(Repl.Machine.CpuMode.Long64));

    [Fact]
    public void Strings_show_as_literals() => Assert.Equal("\"a\\tb\"", ValueFormatter.Format("a\tb"));

    [Fact]
    public void Print_writes_a_string_as_it_is()
    {
        var output = new StringWriter();
        new ScriptGlobals(Repl.Shell.Debugging.Debugger.Create(Commands.Session.BuiltIn), output: output).Print("hello\tthere");
        Assert.Equal("hello\tthere\n", output.ToString());
    }

    public sealed record Node(int Value)
    {
        public Node Self => this;
    }

    [Fact]
    public void A_value_that_holds_itself_shows_a_cycle_where_it_comes_back() =>
        Assert.Equal("Node\n  Value  0x2a (42)\n  Self   <cycle>", ValueFormatter.Format(new Node(42)));

    public struct Chain
    {
        public int A;
        public readonly Chain Next => new() { A = A + 1 };
    }

    [Fact]
    public void A_struct_whose_property_has_its_own_type_shows_a_few_levels() =>
        Assert.Equal("Chain\n  Next  { Next = { Next = { ... }, A = 2 }, A = 1 }\n  A     0", ValueFormatter.Format(new Chain()));

    public sealed record Faulty(int Good)
    {
        public int Bad => throw new InvalidOperationException("not now");
    }

    sealed class RefusesToSayItself
    {
        public override string ToString() => throw new NotSupportedException("no");
    }

    [Fact]
    public void A_getter_or_ToString_that_throws_shows_what_it_threw_in_its_place()
    {
        Assert.Equal("Faulty\n  Good  5\n  Bad   <InvalidOperationException: not now>", ValueFormatter.Format(new Faulty(5)));
        Assert.Equal("[1, <NotSupportedException: no>]", ValueFormatter.Format(new object[] { 1, new RefusesToSayItself() }));
        Assert.Equal("<NotSupportedException: no>", ValueFormatter.Format(new RefusesToSayItself()));
    }

    static IEnumerable<int> Forever()
    {
        for (int i = 0; ; i++)
            yield return i;
    }

    [Fact]
    public void A_sequence_that_never_ends_shows_its_first_items_and_that_there_are_more_than_it_counted() =>
        Assert.Equal("[0, 1, 2, 3, 4, 5, 6, 7, ... (over 10000 items)]", ValueFormatter.Format(Forever()));

    [Fact]
    public void Nested_collections_stop_a_few_levels_down()
    {
        object[] nested = [1];
        for (int i = 0; i < 5; i++)
            nested = [nested];
        Assert.Equal("[[[[...]]]]", ValueFormatter.Format(nested));
    }

    [Fact]
    public void An_anonymous_object_shows_as_csharp_writes_it_with_integers_in_hex() =>
        Assert.Equal("{ A = 1, B = 0x1000 (4096) }", ValueFormatter.Format(new { A = 1, B = 0x1000 }));
}
