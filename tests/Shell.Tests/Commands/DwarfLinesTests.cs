using Repl.Machine.Asm;
using Repl.Shell.Debugging;

namespace Repl.Shell.Tests.Commands;

public class DwarfLinesTests : IDisposable
{
    readonly string directory = Path.Combine(Path.GetTempPath(), "repl-shcmd-" + Guid.NewGuid().ToString("n"));

    public DwarfLinesTests() => Directory.CreateDirectory(directory);

    public void Dispose() => Directory.Delete(directory, recursive: true);

    /// <summary>The built-in program as 'repl asm' would write it, with its source beside it.</summary>
    (AssemblyResult Result, string Elf) WriteElf()
    {
        File.WriteAllText(Path.Combine(directory, BuiltInProgram.FileName), BuiltInProgram.Source);
        var result = Assembler.Assemble(BuiltInProgram.Source, new AsmOptions { FileName = BuiltInProgram.FileName });
        string elf = Path.Combine(directory, "builtin.elf");
        File.WriteAllBytes(elf, ElfWriter.Write(result, compilationDirectory: directory));
        return (result, elf);
    }

    [Fact]
    public void The_line_table_read_back_from_an_elf_is_the_one_the_assembler_made()
    {
        var (result, elf) = WriteElf();

        var rows = DwarfLines.Read(File.ReadAllBytes(elf)).SelectMany(q => q.Rows);

        Assert.Equal(result.Lines, rows);
    }

    [Fact]
    public void An_elf_with_debug_lines_steps_by_line_and_lists_its_source()
    {
        var (_, elf) = WriteElf();
        var s = new Session();
        s.Run("load " + elf);

        string stepped = s.Run("next 3");

        Assert.Contains("builtin.S:8: movq    %rax, result(%rip)", stepped);
        Assert.Contains("=>    8          movq    %rax, result(%rip)", s.Run("list"));
    }

    [Fact]
    public void An_elf_whose_line_table_lies_outside_the_file_loads_without_lines()
    {
        var (_, elf) = WriteElf();
        byte[] file = File.ReadAllBytes(elf);
        var image = new Repl.Machine.ElfImage(file);
        int lines = image.Sections.ToList().FindIndex(s => s.Name == ".debug_line");
        ulong shoff = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(40));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan((int)shoff + lines * 64 + 32), 0xFFFF_FFFF);
        File.WriteAllBytes(elf, file);

        Assert.Empty(DwarfLines.Read(file));
        var s = new Session();
        Assert.Contains(", 0 line entries", s.Run("load " + elf));
    }

    [Fact]
    public void A_file_that_is_not_elf64_has_no_lines()
    {
        Assert.Empty(DwarfLines.Read("not an image"u8));
    }
}
