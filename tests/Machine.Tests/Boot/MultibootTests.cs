using static Iced.Intel.AssemblerRegisters;

namespace Repl.Machine.Tests.Boot;

public class MultibootTests
{
    const uint LoadAddress = 0x10_0000;

    static byte[] ExitCode(byte status) => Guest.Assemble(32, a =>
    {
        a.mov(al, status);
        a.@out(0xF4, al);
    }, LoadAddress + TestImages.HeaderSize);

    static uint Read32(Machine m, ulong address) => (uint)m.Bus.Read(address, 4);

    static string LoadError(byte[] image, MachineOptions? options = null) =>
        Assert.Throws<LoaderException>(() => Multiboot.Load(new Machine(options), image)).Message;

    [Fact]
    public void The_hand_over_is_flat_32_bit_protected_mode_with_the_magic_in_eax_and_the_information_in_ebx()
    {
        var m = new Machine();

        var loaded = Multiboot.Load(m, TestImages.Kludge(ExitCode(5)));

        Assert.Equal(LoadAddress + TestImages.HeaderSize, loaded.Entry);
        Assert.Equal(LoadAddress + TestImages.HeaderSize, m.State.Rip);
        Assert.Equal(0x2BADB002UL, m.ReadRegister(Register.Rax));
        Assert.Equal(0x9500UL, m.ReadRegister(Register.Rbx));
        Assert.Equal(32, m.State.CodeBitness);
        Assert.Equal(CpuState.Cr0PE, m.State.Cr0 & (CpuState.Cr0PE | CpuState.Cr0PG));
        Assert.Equal(0UL, m.State.Rflags & (ulong)RflagsBit.IF);
        Assert.Equal(0xFFFF_FFFFu, m.State.Segments[(int)SegmentRegister.Ds].Limit);
        var stop = m.Run(10);
        Assert.Equal(StopKind.DebugExit, stop.Kind);
        Assert.Equal(11, stop.ExitStatus);
    }

    [Fact]
    public void The_information_block_carries_qemus_memory_fields_boot_device_and_strings()
    {
        var m = new Machine();

        Multiboot.Load(m, TestImages.Kludge(ExitCode(0)), "kernel.elf");

        Assert.Equal(0x24Fu, Read32(m, 0x9500)); // memory, boot device, cmdline, mods, mmap, boot loader name
        Assert.Equal(639u, Read32(m, 0x9504));
        Assert.Equal(260992u, Read32(m, 0x9508)); // (256 MiB - 1 MiB - 128 KiB) / 1 KiB
        Assert.Equal(0x8000FFFFu, Read32(m, 0x950C));
        Assert.Equal("kernel.elf", ReadString(m, Read32(m, 0x9510)));
        Assert.Equal(0u, Read32(m, 0x9514));
        Assert.Equal(6u * 24, Read32(m, 0x9500 + 44));
        Assert.Equal(0x9000u, Read32(m, 0x9500 + 48));
        Assert.Equal("repl", ReadString(m, Read32(m, 0x9500 + 64)));
    }

    static string ReadString(Machine m, ulong address)
    {
        var bytes = new List<byte>();
        for (byte b; (b = m.Bus.ReadByte(address)) != 0; address++)
            bytes.Add(b);
        return System.Text.Encoding.UTF8.GetString(bytes.ToArray());
    }

    static List<(ulong Base, ulong Length, uint Type)> ReadMemoryMap(Machine m)
    {
        var map = new List<(ulong, ulong, uint)>();
        ulong at = Read32(m, 0x9500 + 48), end = at + Read32(m, 0x9500 + 44);
        for (; at < end; at += Read32(m, at) + 4)
            map.Add((m.Bus.Read(at + 4, 8), m.Bus.Read(at + 12, 8), Read32(m, at + 20)));
        return map;
    }

    [Fact]
    public void The_memory_map_is_the_one_qemu_reports_for_the_same_ram()
    {
        // Read from QEMU 7.2 (pc machine, SeaBIOS) with -m 128 and a GenuineIntel processor.
        var m = new Machine(new MachineOptions { RamSize = 128UL << 20 });

        Multiboot.Load(m, TestImages.Kludge(ExitCode(0)));

        Assert.Equal(
            [
                (0x0UL, 0x9FC00UL, 1u),
                (0x9FC00, 0x400, 2),
                (0xF0000, 0x10000, 2),
                (0x100000, 0x7EE0000, 1),
                (0x7FE0000, 0x20000, 2),
                (0xFFFC0000, 0x40000, 2),
            ],
            ReadMemoryMap(m));
        Assert.Equal(129920u, Read32(m, 0x9508));
    }

    [Fact]
    public void On_the_amd_profile_the_map_also_reserves_the_hypertransport_range_as_qemu_does()
    {
        var m = new Machine(new MachineOptions { Vendor = CpuVendor.Amd });

        Multiboot.Load(m, TestImages.Kludge(ExitCode(0)));

        Assert.Equal((0xFD_0000_0000UL, 0x3_0000_0000UL, 2u), ReadMemoryMap(m)[^1]);
        Assert.Equal(7, ReadMemoryMap(m).Count);
    }

    [Fact]
    public void The_address_fields_zero_the_bss_up_to_bss_end_addr()
    {
        var m = new Machine();
        var code = ExitCode(0);
        ulong bss = LoadAddress + TestImages.HeaderSize + (ulong)code.Length;
        m.Bus.Write(bss, 8, ulong.MaxValue);
        m.Bus.Write(bss + 0x1FF8, 8, ulong.MaxValue);
        m.Bus.Write(bss + 0x2000, 8, ulong.MaxValue);

        Multiboot.Load(m, TestImages.Kludge(code, bss: 0x2000));

        Assert.Equal(0UL, m.Bus.Read(bss, 8));
        Assert.Equal(0UL, m.Bus.Read(bss + 0x1FF8, 8));
        Assert.Equal(ulong.MaxValue, m.Bus.Read(bss + 0x2000, 8));
    }

    [Fact]
    public void A_zero_load_end_addr_loads_to_the_end_of_the_file_from_before_the_header()
    {
        // The header sits 16 bytes into the file; load_addr is 16 below header_addr, so the file loads from offset 0.
        byte[] prefix = [0xAA, 0xBB, 0xCC, 0xDD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        var header = TestImages.Header(TestImages.KludgeFlags, LoadAddress + 16, LoadAddress, 0, 0, LoadAddress + 48);
        byte[] image = [.. prefix, .. header, .. Guest.Assemble(32, a => a.hlt(), LoadAddress + 48), 0xEE];
        var m = new Machine();

        Multiboot.Load(m, image);

        Assert.Equal(0xDDCCBBAAu, Read32(m, LoadAddress));
        Assert.Equal(0xEEF4u, m.Bus.Read(LoadAddress + 48, 2));
    }

    [Fact]
    public void On_an_elf64_file_the_address_fields_decide_the_load_not_the_program_headers()
    {
        const ulong ProgramHeaderAddress = 0x40_0000;
        var code = Guest.Assemble(32, a => a.hlt(), LoadAddress + TestImages.HeaderSize);
        uint end = LoadAddress + TestImages.HeaderSize + (uint)code.Length;
        byte[] body = [.. TestImages.Header(TestImages.KludgeFlags, LoadAddress, LoadAddress, end, 0, LoadAddress + TestImages.HeaderSize), .. code];
        var image = TestImages.Elf(true, ProgramHeaderAddress, [new(ProgramHeaderAddress, ProgramHeaderAddress, body, (ulong)body.Length)],
                                   [new("start", LoadAddress + 32, 1, ElfSymbolType.Function)]);
        var m = new Machine();

        var loaded = Multiboot.Load(m, image);

        Assert.Equal(LoadAddress + TestImages.HeaderSize, m.State.Rip);
        Assert.Equal(Multiboot.HeaderMagic, Read32(m, LoadAddress));
        Assert.Equal(0u, Read32(m, ProgramHeaderAddress));
        Assert.Equal("start", Assert.Single(loaded.Symbols).Name);
        Assert.Equal(StopKind.Halted, m.Run(10).Kind);
    }

    [Fact]
    public void An_elf32_kernel_without_address_fields_loads_by_program_headers_at_their_physical_addresses()
    {
        // A higher-half kernel: linked at 3 GiB + 1 MiB, loaded at 1 MiB; the entry point is translated.
        const ulong Virtual = 0xC010_0000;
        var code = Guest.Assemble(32, a => a.hlt(), LoadAddress + 12);
        byte[] body = [.. TestImages.Header(0x2).AsSpan(0, 12), .. code];
        var image = TestImages.Elf(false, Virtual + 12, [new(LoadAddress, Virtual, body, 0x1000)]);
        var m = new Machine();

        var loaded = Multiboot.Load(m, image);

        Assert.Equal(LoadAddress + 12, loaded.Entry);
        Assert.Equal(LoadAddress + 12, m.State.Rip);
        Assert.Equal(StopKind.Halted, m.Run(10).Kind);
    }

    [Fact]
    public void A_64_bit_elf_kernel_without_address_fields_is_refused_as_qemu_refuses_it()
    {
        byte[] body = TestImages.Header(0x2).AsSpan(0, 12).ToArray();
        var image = TestImages.Elf(true, LoadAddress, [new(LoadAddress, LoadAddress, body, 0x1000)]);

        Assert.Contains("64-bit ELF multiboot kernel needs the header's address fields", LoadError(image));
    }

    [Fact]
    public void A_file_without_a_multiboot_header_in_its_first_8_kib_is_refused()
    {
        byte[] image = [.. new byte[8192], .. TestImages.Header(0x2)];

        Assert.Equal($"no multiboot header (magic 0x1badb002) in the first 8192 bytes; is this a multiboot kernel?", LoadError(image));
    }

    [Fact]
    public void A_header_with_a_bad_checksum_is_refused_naming_its_offset()
    {
        byte[] image = [0, 0, 0, 0, .. TestImages.Header(TestImages.KludgeFlags, checksum: 0x1234)];

        Assert.Equal("multiboot header at offset 0x4 has a bad checksum (magic + flags + checksum must be 0 mod 2^32)", LoadError(image));
    }

    [Fact]
    public void A_header_requiring_an_unknown_feature_is_refused()
    {
        Assert.Contains("unknown bits 0x8", LoadError(TestImages.Header(0x1_0008)));
    }

    [Fact]
    public void Address_fields_asking_for_more_bytes_than_the_file_has_mean_a_truncated_file()
    {
        var image = TestImages.Header(TestImages.KludgeFlags, LoadAddress, LoadAddress, LoadAddress + 0x1000, 0, LoadAddress);

        Assert.StartsWith("file is truncated: the multiboot header loads 0x1000 bytes from offset 0x0", LoadError(image));
    }

    [Fact]
    public void A_header_cut_short_before_its_address_fields_is_refused()
    {
        var image = TestImages.Header(TestImages.KludgeFlags).AsSpan(0, 20).ToArray();

        Assert.Contains("is truncated", LoadError(image));
    }

    [Fact]
    public void A_kernel_that_would_load_past_the_end_of_ram_is_refused()
    {
        var image = TestImages.Kludge(ExitCode(0), bss: 16 << 20);

        Assert.StartsWith("segment 0x100000-0x", LoadError(image, new MachineOptions { RamSize = 16 << 20 }));
    }

    [Fact]
    public void Overlapping_elf_segments_are_refused()
    {
        byte[] body = [.. TestImages.Header(0x2).AsSpan(0, 12), 0xF4];
        var image = TestImages.Elf(false, LoadAddress + 12, [new(LoadAddress, LoadAddress, body, 0x2000), new(LoadAddress + 0x1000, LoadAddress + 0x1000, [1], 1)]);

        Assert.Equal("segments at 0x100000 and 0x101000 overlap; check the linker script", LoadError(image));
    }

    [Fact]
    public void A_kernel_over_the_information_block_is_refused()
    {
        Assert.Contains("overlaps the multiboot information", LoadError(TestImages.Kludge(ExitCode(0), at: 0x8000, bss: 0x1000)));
    }

    [Fact]
    public void A_file_that_is_neither_elf_nor_has_address_fields_is_refused()
    {
        Assert.Contains("has no address fields (flags bit 16) and the file is not ELF", LoadError(TestImages.Header(0x2)));
    }

    [Fact]
    public void Ram_crossing_qemus_pci_hole_is_refused_with_a_hint()
    {
        Assert.Contains("use less than 3584 MiB", LoadError(TestImages.Kludge(ExitCode(0)), new MachineOptions { RamSize = 3584UL << 20 }));
    }

    [Fact]
    public void The_header_is_found_at_any_aligned_offset_inside_the_first_8_kib()
    {
        const int Offset = 8192 - 32;
        var header = TestImages.Header(TestImages.KludgeFlags, LoadAddress + Offset, LoadAddress, 0, 0, LoadAddress + Offset + 32);
        byte[] image = [.. new byte[Offset], .. header, 0xF4];
        var m = new Machine();

        Multiboot.Load(m, image);

        Assert.Equal(StopKind.Halted, m.Run(10).Kind);
    }
}
