using Repl.Machine.Asm;

namespace Repl.Machine.Tests.Asm;

/// <summary>
/// A small program in two files and the assembly result GNU as's layout gives it, made by hand so that the ELF
/// writer's tests need no assembler: four sections (code, data, a second code section from the included file,
/// .bss last), symbols of every binding and type, an absolute symbol, and a line table over both files.
/// </summary>
static class SampleProgram
{
    public const ulong Origin = 0x10_0000;
    public const ulong Text = Origin, Data = 0x10_000B, TextExtra = 0x10_0013, Bss = 0x10_0019;

    public const string MainFile = "file.S", IncludedFile = "entry.inc";

    public const string MainSource = """
        # A sample for the ELF writer's tests
        	.globl _start; .type _start, @function
        _start:
        	mov $1, %eax
        	add %ebx, %eax
        	jmp done
        done:
        	hlt
        	.size _start, . - _start
        	.weak hook
        hook:	ret
        	.data
        value:	.quad 42
        	.type value, @object; .size value, 8
        	.bss
        buffer:	.skip 64
        	.include "entry.inc"
        KERNEL_CS = 0x10

        """;

    public const string IncludedSource = """
        	.section .text.extra,"ax"
        	.globl entry_SYSCALL_64
        entry_SYSCALL_64:	swapgs
        	sysretq

        """;

    public static readonly byte[] TextBytes =
    [
        0xB8, 0x01, 0x00, 0x00, 0x00, // mov $1, %eax
        0x01, 0xD8, // add %ebx, %eax
        0xEB, 0x00, // jmp done
        0xF4, // hlt
        0xC3, // ret
    ];

    public static readonly byte[] DataBytes = [42, 0, 0, 0, 0, 0, 0, 0];

    public static readonly byte[] TextExtraBytes = [0x0F, 0x01, 0xF8, 0x48, 0x0F, 0x07]; // swapgs; sysretq

    public static AssemblyResult Result(bool withStart = true) => new()
    {
        Diagnostics = [],
        Sections =
        [
            new(".text", Text, (ulong)TextBytes.Length, 1, SectionFlags.Alloc | SectionFlags.Execute, false, TextBytes),
            new(".data", Data, (ulong)DataBytes.Length, 1, SectionFlags.Alloc | SectionFlags.Write, false, DataBytes),
            new(".text.extra", TextExtra, (ulong)TextExtraBytes.Length, 1, SectionFlags.Alloc | SectionFlags.Execute, false, TextExtraBytes),
            new(".bss", Bss, 64, 1, SectionFlags.Alloc | SectionFlags.Write, true, []),
        ],
        Symbols =
        [
            .. withStart ? [new AsmSymbol("_start", Text, 10, AsmSymbolType.Function, AsmSymbolBinding.Global, ".text")] : Array.Empty<AsmSymbol>(),
            new("done", Text + 9, 0, AsmSymbolType.NoType, AsmSymbolBinding.Local, ".text"),
            new("hook", Text + 10, 0, AsmSymbolType.NoType, AsmSymbolBinding.Weak, ".text"),
            new("value", Data, 8, AsmSymbolType.Object, AsmSymbolBinding.Local, ".data"),
            new("buffer", Bss, 0, AsmSymbolType.NoType, AsmSymbolBinding.Local, ".bss"),
            new("entry_SYSCALL_64", TextExtra, 0, AsmSymbolType.NoType, AsmSymbolBinding.Global, ".text.extra"),
            new("KERNEL_CS", 0x10, 0, AsmSymbolType.NoType, AsmSymbolBinding.Local, null),
        ],
        Lines =
        [
            new(Text, MainFile, 4),
            new(Text + 5, MainFile, 5),
            new(Text + 7, MainFile, 6),
            new(Text + 9, MainFile, 8),
            new(Text + 10, MainFile, 11),
            new(Data, MainFile, 13),
            new(TextExtra, IncludedFile, 3),
            new(TextExtra + 3, IncludedFile, 4),
        ],
        Files = [MainFile, IncludedFile],
    };

    /// <summary>Writes both sources and the ELF into a new temporary directory, the ELF's compilation directory.</summary>
    public static WrittenSample WriteToTemporaryDirectory()
    {
        string dir = Directory.CreateTempSubdirectory("repl-elf-").FullName;
        File.WriteAllText(Path.Combine(dir, MainFile), MainSource);
        File.WriteAllText(Path.Combine(dir, IncludedFile), IncludedSource);
        string elf = Path.Combine(dir, "file.elf");
        File.WriteAllBytes(elf, ElfWriter.Write(Result(), compilationDirectory: dir));
        return new WrittenSample(dir, elf);
    }
}

/// <summary>The sample's sources and ELF on disk; disposing removes them.</summary>
sealed record WrittenSample(string Directory, string Elf) : IDisposable
{
    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
