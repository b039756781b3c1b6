using Repl.Machine;
using Repl.Machine.Tests.Boot;

namespace Repl.Shell.Tests.Commands;

public class LoadCommandTests : IDisposable
{
    readonly Session s = new();
    readonly string directory = Path.Combine(Path.GetTempPath(), "repl-shcmd-" + Guid.NewGuid().ToString("n"));

    public LoadCommandTests() => Directory.CreateDirectory(directory);

    public void Dispose() => Directory.Delete(directory, recursive: true);

    string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(directory, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Load_of_a_multiboot_kernel_starts_it_in_protected_mode_as_its_loader_would()
    {
        string path = Write("kernel.bin", TestImages.Kludge([0xF4])); // hlt

        string output = s.Run("load " + path);

        Assert.StartsWith($"loaded {path}: 0 symbols, 0 line entries\n=> 0x100020:  f4", output);
        Assert.Equal("[protected cpl0 0x100020]", s.Debugger.Prompt);
    }

    [Fact]
    public void Load_of_a_64_bit_elf_without_multiboot_starts_it_in_long_mode_with_its_symbols()
    {
        byte[] code = [0x90, 0xF4]; // nop; hlt
        string path = Write("program.elf", TestImages.Elf(true, 0x200000, [new(0x200000, 0x200000, code, 2)],
                                                          [new("main", 0x200000, 2, ElfSymbolType.Function)]));

        s.Run("load " + path);

        Assert.Equal("[long cpl0 main]", s.Debugger.Prompt);
        Assert.Equal("Breakpoint 1 at 0x200001 <main+1>\n", s.Run("break main+1"));
        Assert.StartsWith("Breakpoint 1, 0x200001 <main+1>", s.Run("continue"));
    }

    [Fact]
    public void Load_of_a_file_that_is_no_image_says_what_is_wrong()
    {
        string path = Write("notes.txt", "hello"u8.ToArray());

        Assert.StartsWith("error: ", s.Run("load " + path));
        Assert.Equal("[long cpl0 _start]", s.Debugger.Prompt);
    }

    [Fact]
    public void A_source_with_errors_names_the_first_and_loads_nothing()
    {
        string path = Path.Combine(directory, "bad.S");
        File.WriteAllText(path, "_start: movq %rax\n");

        string output = s.Run("load " + path);

        Assert.StartsWith($"error: {path}:1:", output);
        Assert.Contains("(fix the source, or assemble it with 'repl asm' for all errors)", output);
    }

    [Fact]
    public void Catch_modeswitch_stops_when_a_far_return_enters_compatibility_mode()
    {
        // GDT: null, 64-bit code (0x08), data (0x10), 32-bit code (0x18); a far return to 0x18 enters compatibility mode.
        string path = Path.Combine(directory, "compat.S");
        File.WriteAllText(path, """
                    .text
                    .globl _start
            _start: movq    $0x80000, %rsp
                    lgdt    gdt_pointer(%rip)
                    pushq   $0x18
                    leaq    compat(%rip), %rax
                    pushq   %rax
                    lretq
            compat: hlt
                    .data
            gdt:    .quad   0, 0x00af9b000000ffff, 0x00cf93000000ffff, 0x00cf9b000000ffff
            gdt_pointer:
                    .word   4 * 8 - 1
                    .quad   gdt
            """);
        s.Run("load " + path);
        s.Run("catch modeswitch");

        string output = s.Run("continue");

        Assert.StartsWith("Catchpoint 1 (mode switch): ", output);
        Assert.Contains("mode Long64 -> Compatibility32", output);
        Assert.Equal("[compat cpl0 compat]", s.Debugger.Prompt);
    }

    [Fact]
    public void A_loaded_source_starts_with_a_stack_below_the_page_tables_so_its_first_call_returns()
    {
        string path = Write("call.S", """
                    .globl _start
            _start: call    f
                    hlt
            f:      movl    $7, %eax
                    ret
            """u8.ToArray());
        s.Run("load " + path);
        ulong top = Repl.Machine.Machine.LongModeTables(s.Debugger.Machine.Bus.Ram.Size);

        Assert.Equal(top, s.Debugger.Machine.State.Gpr[(int)Gpr.Rsp]);
        string output = s.Run("continue");

        // Halted after the HLT that follows the call (5 bytes), not in a fault that a push below address 0 would raise.
        Assert.StartsWith($"Stopped: halted at 0x{s.Symbol("_start") + 6:x}\n", output);
        Assert.Equal(7UL, s.Debugger.Machine.State.Gpr[(int)Gpr.Rax]);
        Assert.Equal(top, s.Debugger.Machine.State.Gpr[(int)Gpr.Rsp]);
    }
}
