using Repl.Machine.Asm;

namespace Repl.Shell.Debugging;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>
/// The program a machine holds when no image is given, until the entry kernel exists: a few lines of our own
/// assembly with symbols and a line table, so that break, step, next, finish, list and disas have something to show.
/// </summary>
public static class BuiltInProgram
{
    public const string FileName = "builtin.S";

    public const string Source = """
        # The built-in program: sums 1..10 in a function, stores the sum, and halts for good.
                .text
                .globl _start
        _start:
                movq    $stack_top, %rsp
                movl    $10, %edi
                call    sum
                movq    %rax, result(%rip)
        halt:   hlt
                jmp     halt            # a wake-up (NMI, interrupt) halts again

        # sum(n): n + (n-1) + ... + 1, in rax
                .type   sum, @function
        sum:
                xorl    %eax, %eax
        1:      addq    %rdi, %rax
                decq    %rdi
                jnz     1b
                ret
                .size   sum, . - sum

                .data
        result: .quad   0
                .bss
                .balign 16
                .skip   4096
        stack_top:
        """;

    public static (Machine, LoadedProgram) Load(Machine machine)
    {
        var result = Assembler.Assemble(Source, new AsmOptions { FileName = FileName });
        var loaded = Loader.LoadAssembly(machine, result);
        machine.State.Rip = loaded.Entry;
        return (machine, LoadedProgram.FromAssembly("the built-in program", result,
                                                    new Dictionary<string, string[]> { [FileName] = Source.Split('\n') }));
    }
}
