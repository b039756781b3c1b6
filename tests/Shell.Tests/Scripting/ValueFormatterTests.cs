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
    public void Strings_show_as_literals() => Assert.Equal("\"a\\tb\"", ValueFormatter.Format("a\tb"));
}
