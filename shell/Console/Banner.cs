namespace Repl.Shell.Interactive;

/// <summary>The one screen a user sees first: what is loaded, and the three ways to begin.</summary>
public static class Banner
{
    /// <param name="image">The loaded image's path, or null for the entry kernel.</param>
    public static string Text(string? image, string vendor) =>
        $"""
        Repl: an emulated x86-64 PC for studying kernel entry code ({vendor} profile).
        {(image is null
            ? "The machine holds the entry kernel (machine/Kernel/*.S; switches with --define KPTI=0 ..., yours with --image FILE)."
            : $"The machine holds {image}.")}
        It is stopped at its first instruction. To begin:

          continue                  run until a breakpoint, a fault, a halt or Ctrl-C
          break entry_SYSCALL_64    stop where a system call enters the kernel
          help                      every command, 'help NAME' for one, and how commands and C# are told apart

        Anything that is not a command is C#: Cpu.Rax, Msr.Lstar, Mem.U64[Cpu.Rsp], Step().
        Tab completes, Up and Down recall earlier lines, Ctrl-D leaves. Ctrl-C stops a running machine, or drops the line
        being typed, as does an unfinished C# '...' continuation (two empty lines show what it lacks instead).

        """;
}
