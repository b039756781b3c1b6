namespace Repl.Machine.Tests.Boot;

public class ElfTests
{
    const ulong At = 0x20_0000;

    static TestImages.Segment Segment(ulong address, byte[] bytes, ulong? memorySize = null) =>
        new(address, address, bytes, memorySize ?? (ulong)bytes.Length);

    [Fact]
    public void An_elf64_executable_loads_its_segments_and_zeroes_their_bss()
    {
        var m = new Machine();
        m.Bus.Write(At + 0x1000, 8, ulong.MaxValue);
        var image = TestImages.Elf(true, At, [Segment(At, [1, 2, 3]), Segment(At + 0x1000, [4], 0x10)]);

        var loaded = Loader.LoadElf(m, image);

        Assert.Equal(At, loaded.Entry);
        Assert.Equal(0x030201UL, m.Bus.Read(At, 4));
        Assert.Equal(0x04UL, m.Bus.Read(At + 0x1000, 8));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_symbol_table_gives_names_addresses_sizes_and_types(bool is64)
    {
        var image = TestImages.Elf(is64, At, [Segment(At, [0xF4])],
        [
            new("entry_SYSCALL_64", At, 0x40, ElfSymbolType.Function),
            new("cpu_tss", At + 0x100, 0x68, ElfSymbolType.Object),
            new("boot_marker", At + 0x200, 0, ElfSymbolType.NoType),
        ]);

        var loaded = Loader.LoadElf(new Machine(), image);

        Assert.Equal(
            [
                new ElfSymbol("entry_SYSCALL_64", At, 0x40, ElfSymbolType.Function, ElfSymbolBinding.Global),
                new ElfSymbol("cpu_tss", At + 0x100, 0x68, ElfSymbolType.Object, ElfSymbolBinding.Global),
                new ElfSymbol("boot_marker", At + 0x200, 0, ElfSymbolType.NoType, ElfSymbolBinding.Global),
            ],
            loaded.Symbols.Select(s => s with { Section = null })); // sections: SymbolLookupGdbTests
    }

    [Fact]
    public void Section_and_file_symbols_are_left_out()
    {
        var image = TestImages.Elf(true, At, [Segment(At, [0xF4])],
            [new("boot.S", 0, 0, ElfSymbolType.File), new(".text", At, 0, ElfSymbolType.Section), new("start", At, 1, ElfSymbolType.Function)]);

        Assert.Equal("start", Assert.Single(Loader.LoadElf(new Machine(), image).Symbols).Name);
    }

    [Fact]
    public void A_file_cut_inside_a_segment_is_reported_as_truncated()
    {
        var image = TestImages.Elf(true, At, [Segment(At, new byte[64])]);
        var cut = image.AsSpan(0, TestImages.FirstSegmentOffset(true, 1) + 10).ToArray();

        var e = Assert.Throws<LoaderException>(() => Loader.LoadElf(new Machine(), cut));

        Assert.StartsWith("ELF file is truncated: its segment at 0x200000 (0x40 bytes at offset 0x80)", e.Message);
    }

    [Fact]
    public void A_file_cut_inside_its_headers_is_reported_as_truncated()
    {
        var image = TestImages.Elf(false, At, [Segment(At, [0xF4])]).AsSpan(0, 40).ToArray();

        Assert.StartsWith("ELF file is truncated", Assert.Throws<LoaderException>(() => Loader.LoadElf(new Machine(), image)).Message);
    }

    [Theory]
    [InlineData(new byte[] { 0x4D, 0x5A, 0x90, 0x00 }, "not an ELF file")]
    [InlineData(new byte[] { 0x7F, 0x45, 0x4C, 0x46, 2, 2 }, "ELF file is big-endian")]
    [InlineData(new byte[] { 0x7F, 0x45, 0x4C, 0x46, 3, 1 }, "ELF class 3")]
    public void Files_that_are_not_little_endian_x86_elf_are_refused(byte[] image, string message)
    {
        Assert.StartsWith(message, Assert.Throws<LoaderException>(() => Loader.LoadElf(new Machine(), image)).Message);
    }

    [Fact]
    public void An_elf_for_another_machine_is_refused()
    {
        var image = TestImages.Elf(true, At, [Segment(At, [0xF4])]);
        image[18] = 183; // EM_AARCH64

        Assert.Equal("ELF machine 183 is not x86-64 (62)", Assert.Throws<LoaderException>(() => Loader.LoadElf(new Machine(), image)).Message);
    }

    [Fact]
    public void A_relocatable_object_is_refused_with_a_hint_to_link_it()
    {
        var image = TestImages.Elf(false, At, [Segment(At, [0xF4])]);
        image[16] = 1; // ET_REL

        Assert.Contains("link the object file first", Assert.Throws<LoaderException>(() => Loader.LoadElf(new Machine(), image)).Message);
    }

    [Fact]
    public void A_flat_binary_loads_at_the_given_address_which_is_its_entry()
    {
        var m = new Machine();

        var loaded = Loader.LoadFlat(m, [0x90, 0xF4], 0x7C00);

        Assert.Equal(0x7C00UL, loaded.Entry);
        Assert.Empty(loaded.Symbols);
        Assert.Equal(0xF490UL, m.Bus.Read(0x7C00, 2));
    }

    [Fact]
    public void A_flat_binary_running_past_the_end_of_ram_is_refused()
    {
        var m = new Machine(new MachineOptions { RamSize = 1 << 20 });

        Assert.StartsWith("segment 0xffffe-0x100002 lies outside RAM", Assert.Throws<LoaderException>(() => Loader.LoadFlat(m, [1, 2, 3, 4], 0xFFFFE)).Message);
    }
}
