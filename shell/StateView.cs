using System.Text;

namespace Repl.Shell;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>Renders the architectural state as the tables a debugger user expects.</summary>
static class StateView
{
    public static string Format(in CpuState s)
    {
        var o = new StringBuilder();
        string[] names = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];
        for (int i = 0; i < 16; i += 2)
            o.AppendLine($"{names[i],-4} {s.Gpr[i]:x16}    {names[i + 1],-4} {s.Gpr[i + 1]:x16}");
        o.AppendLine($"rip  {s.Rip:x16}    rflags {s.Rflags:x8} [{FlagNames(s.Rflags)}]");
        o.AppendLine();
        o.AppendLine("seg  sel   base             limit    attr");
        foreach (var sr in Enum.GetValues<SegmentRegister>())
        {
            var c = s.Segments[(int)sr];
            o.AppendLine($"{sr.ToString().ToLowerInvariant(),-4} {c.Selector:x4}  {c.Base:x16} {c.Limit:x8} {c.Attributes:x4}");
        }
        o.AppendLine();
        o.AppendLine($"cr0  {s.Cr0:x16}    cr2  {s.Cr2:x16}    cr3  {s.Cr3:x16}");
        o.AppendLine($"cr4  {s.Cr4:x16}    cr8  {s.Cr8:x16}    efer {s.Efer:x16}");
        o.AppendLine($"mode {(s.Is64BitMode ? "long 64-bit" : s.CodeBitness == 32 ? "protected 32-bit" : "16-bit")}, CPL {s.Cpl}");
        return o.ToString();
    }

    static string FlagNames(ulong rflags)
    {
        var set = Enum.GetValues<RflagsBit>()
            .Where(f => f is not (RflagsBit.Arithmetic or RflagsBit.Reserved1 or RflagsBit.IOPL) && (rflags & (ulong)f) != 0)
            .Select(f => f.ToString());
        return string.Join(' ', set) + $" IOPL={(rflags >> 12) & 3}";
    }
}
