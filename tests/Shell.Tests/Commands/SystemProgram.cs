namespace Repl.Shell.Tests.Commands;

/// <summary>A .S program that sets up a GDT with a TSS, an IDT with a #UD handler on IST1, and then executes UD2:
/// loaded with the 'load' command, as a user would. Addresses are split into descriptor fields at run time, since
/// an assembler applies only + and - to addresses.</summary>
static class SystemProgram
{
    public const string Source = """
                .text
                .globl _start
        _start:
                leaq    ud_handler(%rip), %rax
                movw    %ax, idt + 6 * 16(%rip)
                shrq    $16, %rax
                movw    %ax, idt + 6 * 16 + 6(%rip)
                shrq    $16, %rax
                movl    %eax, idt + 6 * 16 + 8(%rip)
                leaq    tss(%rip), %rax
                movw    %ax, gdt + 0x28 + 2(%rip)
                shrq    $16, %rax
                movb    %al, gdt + 0x28 + 4(%rip)
                movb    %ah, gdt + 0x28 + 7(%rip)
                shrq    $16, %rax
                movl    %eax, gdt + 0x28 + 8(%rip)
                lgdt    gdt_pointer(%rip)
                lidt    idt_pointer(%rip)
                movw    $0x28, %ax
                ltr     %ax
        tables_loaded:
                ud2
                hlt
        ud_handler:
                hlt

                .data
                .balign 8
        gdt:    .quad   0
                .quad   0x00af9b000000ffff      # 0x08: 64-bit kernel code
                .quad   0x00cf93000000ffff      # 0x10: kernel data
                .quad   0x00affb000000ffff      # 0x18: 64-bit user code
                .quad   0x00cff3000000ffff      # 0x20: user data
                .word   tss_end - tss - 1       # 0x28: the 64-bit TSS, 16 bytes
                .word   0                       # base 15:0
                .byte   0                       # base 23:16
                .byte   0x89                    # present, DPL 0, available 64-bit TSS
                .byte   0
                .byte   0                       # base 31:24
                .long   0                       # base 63:32
                .long   0
        gdt_end:
        gdt_pointer:
                .word   gdt_end - gdt - 1
                .quad   gdt
        idt:    .skip   16 * 6
                .word   0                       # vector 6, #UD: offset 15:0
                .word   0x08
                .byte   1                       # IST1
                .byte   0x8e                    # present, DPL 0, 64-bit interrupt gate
                .word   0                       # offset 31:16
                .long   0                       # offset 63:32
                .long   0
        idt_end:
        idt_pointer:
                .word   idt_end - idt - 1
                .quad   idt
                .balign 16
        tss:    .long   0
                .quad   0x9000                  # rsp0
                .quad   0, 0, 0
                .quad   0xa000                  # ist1
                .skip   8 * 6 + 12
                .word   tss_end - tss
        tss_end:
        """;

    /// <summary>Writes the program to a fresh directory and returns its path.</summary>
    public static string Write()
    {
        string directory = Path.Combine(Path.GetTempPath(), "repl-shcmd-" + Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, "system.S");
        File.WriteAllText(path, Source);
        return path;
    }
}
