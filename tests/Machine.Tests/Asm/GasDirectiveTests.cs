using System.Text;
using Repl.Machine.Asm;
using Xunit.Abstractions;

namespace Repl.Machine.Tests.Asm;

/// <summary>
/// Directives, expressions, symbols, alignment, relaxation and layout against GNU as 2.40 + ld: each source is
/// assembled by both, laid out in the section order our assembler reports, and the images must be identical.
/// </summary>
public class GasDirectiveTests(ITestOutputHelper output)
{
    const ulong Origin = 0x100000;

    /// <summary>Sources that need no instructions: data, symbols, sections, padding.</summary>
    public static IEnumerable<(string Name, string Source)> DataSources()
    {
        yield return ("byte", ".data\n.byte 1, 2, 3, -1, 255, -128\n.byte\n");
        yield return ("short and synonyms", ".data\n.short 0x1234, -2\n.word 5\n.hword 6\n.value 7\n.2byte 8\n");
        yield return ("int and long", ".data\n.int 1\n.long 0x12345678, -1\n.4byte 9\n");
        yield return ("quad", ".data\n.quad 0x1122334455667788, -1\n.8byte 3\n");
        yield return ("ascii", ".data\n.ascii \"ab\\n\\t\\x41\\101\\\\\\\"\", \"cd\"\n");
        yield return ("asciz and string", ".data\n.asciz \"x\", \"yz\"\n.string \"s\"\n.asciz \"\"\n");
        yield return ("fill", ".data\n.fill 3, 2, 0x1234\n.fill 2, 8, 0x1122334455667788\n.fill 1, 3, 0x11223344\n.fill 5\n.fill 2, 4\n");
        yield return ("skip, space and zero", ".data\n.byte 1\n.skip 3\n.space 2, 0xaa\n.zero 4\n.skip 1, 7\n.byte 2\n");
        yield return ("equ, set and =", ".data\n.equ A, 5\n.set B, A*2\nC = B+1\n.byte A, B, C\n.set A, 7\n.byte A\nA = A + 1\n.byte A\n");
        yield return ("equiv", ".data\n.equiv D, 3\n.byte D, D*D\n");
        yield return ("equate of a later symbol", ".data\nX = Y + 1\nY = 5\n.byte X\n.long Z\nZ = 0x1234\n");
        yield return ("org in data", ".data\n.byte 1\n.org 0x10\n.byte 2\n.org 0x20, 0xff\n.byte 3\n");
        yield return ("org in code pads with zeros", ".text\n.byte 0xc3\n.org 8\n.byte 0xc3\n");
        yield return ("assignment to dot", ".data\n.byte 1\n. = 8\n.byte 2\n. = . + 3\n.byte 3\n");
        yield return ("org to a label difference", ".data\nstart: .byte 1\n.org start + 6\n.byte 2\n");
        yield return ("data alignment pads with zeros", ".data\n.byte 1\n.balign 8\n.byte 2\n.p2align 4\n.byte 3\n.align 4\n.byte 4\n.balign 8, 0xee\n.byte 5\n");
        yield return ("alignment max skip", ".data\n.byte 1\n.p2align 5, 0xcc, 3\n.byte 2\n.balign 4, 0xdd, 3\n.byte 3\n.balign 16,,2\n.byte 4\n");
        yield return ("align with fill in code", ".text\n.byte 0xc3\n.p2align 3, 0xcc\n.byte 0xc3\n");
        yield return ("align with the NOP byte as fill in code pads with long NOPs", ".text\n.byte 0xc3\n.p2align 4, 0x90\n.byte 0xc3\n.p2align 4, 0x90, 15\n.byte 0xc3\n.data\n.byte 1\n.p2align 3, 0x90\n");
        yield return ("alignment with 2- and 4-byte patterns", ".data\n.byte 1,1\n.balignw 4, 0x1234\n.byte 2,2,2,2\n.balignl 16, 0xaabbccdd\n.byte 3,3\n.p2alignw 2, 0x5566\n.p2alignl 4, 0x01020304, 3\n.byte 6\n");
        yield return ("code alignment within max", ".text\n.byte 0xc3\n.p2align 4,,15\n.byte 0xc3\n.balign 32,,31\n.byte 0xc3\n");
        yield return ("code alignment skipped beyond max", ".text\n.byte 0xc3\n.p2align 4,,3\n.byte 0xc3\n.p2align 2,,3\n.byte 0xc3\n");
        yield return ("sections in order of first mention", ".text\n.byte 1\n.data\n.byte 2\n.section .rodata\n.byte 3\n.bss\n.skip 16\n.text\n.byte 4\n.data\n.quad 5\n");
        yield return ("bss after sections with bytes", ".bss\n.skip 8\nbssvar: .skip 8\n.data\n.quad bssvar\n.text\n.long bssvar\n");
        yield return ("section flags and types", ".section .mydata,\"aw\",@progbits\n.byte 9\n.section .mybss,\"aw\",@nobits\n.skip 4\n.section .myro,\"a\"\n.byte 8\n.section .note.GNU-stack,\"\",@progbits\n");
        yield return ("section suffix names", ".section .text.startup\n.byte 1\n.section .data.rel,\"aw\",%progbits\n.byte 2\n.section .rodata.str, \"a\"\n.byte 3\n");
        yield return ("pushsection, popsection, previous", ".text\n.byte 1\n.pushsection .data\n.byte 2\n.pushsection .rodata, \"a\"\n.byte 3\n.popsection\n.byte 4\n.popsection\n.byte 5\n.data\n.byte 6\n.previous\n.byte 7\n.previous\n.byte 8\n");
        yield return ("previous after naming the current section again", ".text\n.byte 1\n.data\n.byte 2\n.data\n.previous\n.byte 3\n");
        yield return ("section aligned after the previous", ".text\n.byte 1\n.data\n.p2align 6\n.byte 2\n.section .rodata\n.balign 16\n.byte 3\n.bss\n.p2align 12\n.skip 4096\n");
        yield return ("labels and differences", ".data\na: .byte 1, 2, 3\nb: .long b - a, . - a, a, b + 4, 7 + a - b\n.quad a, b - 1\n");
        yield return ("several labels on a line", ".data\nx: y: z: .long x, y, z\nw:\n.long w\n");
        yield return ("expression operators and precedence",
            ".data\n.byte (1+2)*3, 7/2, 7%3, 1<<4, 0x80>>3, 5|2, 6&3, 6^3, ~0, -1, !0, !5\n.byte 1+2*3, 2*3+1, 1|2+4, 8-2-1, 16/4/2, 1+2<<1\n" +
            ".byte 2 == 2, 3 > 2, 3 < 2, 2 <= 2, 2 >= 3, 2 != 2, 2 <> 3, 1 && 2, 0 || 0, 0 || 3, 5 ! 1\n.long 0b101, 017, 0x1F, 1000000\n");
        yield return ("character constants", ".data\n.byte 'a, 'b', '\\n, '\\\\, '0 + 1\n.long 'A * 2\n");
        yield return ("dot in data", ".data\n.long .\n.quad . + 4, . - 4\n.byte . - .\n");
        yield return ("numeric local labels", ".data\n1: .byte 1b - .\n1: .long 1b, 1f\n1: .byte 2\n2: .long 2b, 1b\n.long 2f - 1b\n2: .byte 3\n");
        yield return ("dot-L labels", ".data\n.Lfoo: .long .Lfoo, .Lbar\n.Lbar: .byte 1\n");
        yield return ("forward references", ".data\n.long later\n.byte later2 - now\nnow: .byte 0\n.quad later - now\nlater2: .byte 9\nlater:\n");
        yield return ("symbol bookkeeping does not change bytes", ".text\n.globl f, g\n.global h\n.weak w\n.local l\n.type f, @function\n.type g, %function\n.type h, STT_OBJECT\nf: g: h: w: l: .byte 1\n.size f, . - f\n.size h, 1\n.hidden f\n");
        yield return ("debug and unwind directives are accepted", ".cfi_sections .debug_frame\n.file \"x.c\"\n.file 1 \"x.c\"\n.ident \"GCC\"\n.text\n.cfi_startproc\n.loc 1 2 0\n.byte 0xc3\n.cfi_endproc\n.section .note.GNU-stack,\"\",@progbits\n");
        yield return ("code16 and code32 do not change data", ".text\n.code32\n.byte 1\n.code16\n.short 2\n.code64\n.long 3\n");
        yield return ("defsym", ".data\n.byte DEF, DEF + 1\n");
        yield return ("quoted section name", ".section \".mine\", \"a\"\n.byte 1\n");
        yield return ("case-insensitive directives", ".DATA\n.BYTE 1\n.Long 2\n");
    }

    /// <summary>Alignment padding in code of every length from 1 to 20, and the long ones GNU as jumps over.</summary>
    public static IEnumerable<(string Name, string Source)> NopSources()
    {
        foreach (int length in Enumerable.Range(1, 20).Concat([40, 77, 87, 88, 100, 129, 130, 200]))
            foreach (string mode in new[] { ".code64", ".code32" })
                yield return ($"{length} bytes of NOPs in {mode}", $".text\n{mode}\n.fill {256 - length}, 1, 0xcc\n.p2align 8\n.byte 0xcc\n");
        foreach (int length in new[] { 1, 2, 3, 4, 5, 7, 11, 12, 13, 100, 129, 130 })
            yield return ($"{length} bytes of NOPs in .code16", $".text\n.code16\n.fill {256 - length}, 1, 0xcc\n.p2align 8\n.byte 0xcc\n");
        foreach (int length in Enumerable.Range(1, 20))
            yield return ($"{length} bytes of zero padding in data", $".data\n.fill {64 - length}, 1, 0xcc\n.p2align 6\n.byte 0xcc\n");
    }

    /// <summary>Branch relaxation: short while the target is in rel8 reach and in the same section, else near.</summary>
    public static IEnumerable<(string Name, string Source)> RelaxationSources()
    {
        yield return ("short stays short", "jmp 1f\nnop\n1: ret\n");
        foreach (string jump in new[] { "jmp", "je", "jne", "jb", "jg" })
        {
            yield return ($"{jump} forward 127 is short", $"{jump} 1f\n.fill 127, 1, 0x90\n1: ret\n");
            yield return ($"{jump} forward 128 is near", $"{jump} 1f\n.fill 128, 1, 0x90\n1: ret\n");
            yield return ($"{jump} backward 128 is short", $"1: .fill 126, 1, 0x90\n{jump} 1b\n");
            yield return ($"{jump} backward 129 is near", $"1: .fill 127, 1, 0x90\n{jump} 1b\n");
        }
        foreach (string mode in new[] { ".code32", ".code16" })
            yield return ($"short and near jumps in {mode}", $"{mode}\njmp 1f\nje 1f\n.fill 125, 1, 0x90\n1: jmp 2f\njne 2f\n.fill 200, 1, 0x90\n2: ret\n");
        yield return ("growing one jump pushes another out of reach",
            "jmp 2f\njmp far\n.fill 123, 1, 0x90\n2: ret\n.fill 200, 1, 0x90\nfar: ret\n");
        yield return ("a chain of jumps over each other grows step by step",
            "jmp 3f\njmp 2f\njmp 1f\n.fill 120, 1, 0x90\njmp far\n1: nop\n2: nop\n3: ret\n.fill 130, 1, 0xcc\nfar: ret\n");
        yield return ("jump across sections is near", ".section .text2, \"ax\"\nt2: ret\n.text\njmp t2\nje t2\n");
        yield return ("jump to a data label is near", ".text\njmp d\n.data\nd: .byte 1\n");
        yield return ("jump to a weak symbol is near", ".weak w\njmp w\nw: ret\n");
        yield return ("jump to a global symbol relaxes", ".globl g\njmp g\ng: ret\n");
        yield return ("jump to an absolute address is near", "jmp 0x100000\n");
        yield return ("jump to an absolute symbol is near", "TARGET = 0x100040\njmp TARGET\nje TARGET\n");
        yield return ("jump to dot", "jmp .\nje . + 2\n");
        yield return ("jump over an alignment", "jmp 1f\n.p2align 7\n1: ret\n");
        yield return ("jump to an equate of a label", "jmp there\nnop\nhere: ret\nthere = here\n");
        yield return ("dot-L targets", "jmp .Lout\n.fill 10, 1, 0x90\n.Lout: ret\n");
    }

    /// <summary>Instructions among directives: expressions in operands, labels, syntax and mode switches.</summary>
    public static IEnumerable<(string Name, string Source)> CodeSources()
    {
        yield return ("difference of labels known in the pass", "a: nop\nnop\nb: movl $(b - a), %eax\naddl $(b - a), %ecx\n");
        yield return ("difference of labels known after layout", "addl $(end - start), %ecx\nstart: nop\nend:\n");
        yield return ("label addresses in operands", "movl $here, %eax\nmovq $here, %rax\nleaq here(%rip), %rax\nmovl here, %eax\nhere: ret\n");
        yield return ("dot in an operand", "movl $., %eax\nmovl $. + 5, %ecx\n");
        yield return ("data referring to code", "f: ret\n.data\n.quad f, g\n.long g - f\n.text\ng: nop\n");
        yield return ("numeric local labels in jumps", "1: jmp 1b\njmp 1f\n1: ret\n2: call 2b\n");
        yield return ("syntax switches", ".intel_syntax noprefix\nmov eax, 1\nadd rax, rbx\njmp 1f\n1: .att_syntax prefix\nmovl $1, %eax\n.intel_syntax noprefix\nmov eax, 2\n.att_syntax\nret\n");
        yield return ("code32 instructions", ".code32\npush %eax\nmovl $1, %eax\n.code64\npush %rax\n");
        yield return ("NOP alignment after instructions", "nop\n.p2align 4\nret\nmovl $1, %eax\n.balign 8\nret\n");
        yield return ("several statements on a line", "nop; nop ; ret\n");
        yield return ("equates in instructions", "PORT = 0x3f8\nmovw $PORT, %dx\nmovl $COUNT, %ecx\nCOUNT = 16\n");
        yield return ("a macro producing code", ".macro push2 a, b\npush %\\a\npush %\\b\n.endm\npush2 rax, rbx\nret\n");
        yield return ("rept producing code", ".rept 3\nnop\n.endr\n");
    }

    [GasFact]
    public void Directive_sources_assemble_to_the_same_image_as_gnu_as()
    {
        int compared = CompareAll(DataSources().Concat(NopSources()).Concat(RelaxationSources()).Concat(CodeSources()), "DEF=0x41");
        Report("gas-directives", compared);
    }

    [GasFact]
    public void Incbin_includes_a_file_or_a_slice_of_it_as_gnu_as_does()
    {
        string file = Path.Combine(Directory.CreateTempSubdirectory("repl-incbin-").FullName, "blob.bin");
        File.WriteAllBytes(file, [1, 2, 3, 4, 5, 6, 7, 8]);
        try
        {
            int compared = CompareAll([
                ("incbin whole", $".data\n.byte 0xaa\n.incbin \"{file}\"\n.byte 0xbb\n"),
                ("incbin skip", $".data\n.incbin \"{file}\", 3\n"),
                ("incbin skip and count", $".data\n.incbin \"{file}\", 2, 4\n"),
            ]);
            Assert.Equal(3, compared);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
        }
    }

    /// <summary>
    /// The QEMU differential images (real multiboot kernels: macros, sections, .code32 and .code64) assembled by
    /// both, with their .include files inlined (GNU as looks for nested ones in its working directory, we beside
    /// the includer; the preprocessor's tests cover that). Every image starts in 32-bit code (the multiboot
    /// hand-over); the 32-bit ELF ones are built with --32, so here they get the .code32 that --32 implies.
    /// higherhalf.S is left out: its addresses need its own linker script, which our layout rule does not express.
    /// </summary>
    [GasFact]
    public void The_qemu_image_sources_assemble_to_the_same_image_as_gnu_as()
    {
        string directory = Repl.Qemu.QemuImage.ImagesDirectory;
        var sources = Directory.GetFiles(directory, "*.S").Order()
            .Where(path => Path.GetFileName(path) != "higherhalf.S")
            .Select(path => (Path.GetFileName(path), ".code32\n" + Inlined(File.ReadAllText(path), directory)));

        // The multiboot header names symbols the images' linker script defines; any values do for comparing bytes.
        int compared = CompareAll(sources, "__load_start=0", "__load_end=0", "__bss_end=0");
        Report("gas-images", compared);
    }

    /// <summary>The source with each .include "name" line replaced by the named file's text, recursively.</summary>
    static string Inlined(string source, string directory) =>
        System.Text.RegularExpressions.Regex.Replace(source, @"^\s*\.include\s+""([^""]+)"".*$",
            m => Inlined(File.ReadAllText(Path.Combine(directory, m.Groups[1].Value)), directory),
            System.Text.RegularExpressions.RegexOptions.Multiline);

    /// <summary>Assembles each source with both assemblers; fails listing every source whose images differ.</summary>
    internal static int CompareAll(IEnumerable<(string Name, string Source)> sources, params string[] defsyms)
    {
        var failures = new StringBuilder();
        int compared = 0;
        var defines = defsyms.Select(d => d.Split('=')).ToDictionary(d => d[0], d => Convert.ToInt64(d[1], 16));
        foreach (var (name, source) in sources)
        {
            compared++;
            var ours = Assembler.Assemble(source, new AsmOptions { FileName = "in.S", Origin = Origin, Defines = defines });
            if (!ours.Success)
            {
                failures.AppendLine($"{name}: our assembler failed:\n{string.Join("", ours.Diagnostics)}");
                continue;
            }
            byte[] theirs;
            try
            {
                theirs = GnuAs.Image(source, ours.Sections.Select(s => s.Name), Origin, defsyms);
            }
            catch (InvalidOperationException e)
            {
                failures.AppendLine($"{name}: GNU as failed: {e.Message}");
                continue;
            }
            byte[] image = ours.Image();
            if (!image.AsSpan().SequenceEqual(theirs))
                failures.AppendLine($"{name}:\n{source}\n  gas:  {Convert.ToHexString(theirs)}\n  ours: {Convert.ToHexString(image)}\n  sections: {string.Join(", ", ours.Sections.Select(s => $"{s.Name}@{s.Address:x}"))}");
        }
        Assert.True(failures.Length == 0, failures.ToString());
        return compared;
    }

    void Report(string suite, int compared)
    {
        string line = $"[{suite}] {compared} sources compared";
        Console.WriteLine(line);
        output.WriteLine(line);
    }
}
