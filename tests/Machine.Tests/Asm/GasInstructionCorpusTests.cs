using System.Text;
using Repl.Qemu;
using Xunit.Abstractions;

namespace Repl.Machine.Tests.Asm;

/// <summary>
/// The instruction side of the assembler against GNU as 2.40: every form of a systematic corpus (each mnemonic the
/// machine implements, with register, memory and immediate operands at their boundary values, in 64-, 32- and
/// 16-bit code) must give exactly GNU as's bytes.
/// </summary>
public sealed class GasInstructionCorpusTests(ITestOutputHelper output)
{
    [GasFact]
    public void Every_corpus_form_encodes_to_the_bytes_gnu_as_emits()
    {
        var forms = GasCorpus.Forms();
        Assert.True(forms.Count >= 1100, $"the corpus shrank to {forms.Count} forms");
        Compare(forms, GasText.Assemble(forms, GasCorpus.Later), "AT&T forms");
    }

    /// <summary>
    /// Random encodings of the instructions the machine executes (the CPU's own handler table decides), decoded
    /// and printed in AT&amp;T syntax by Iced: whatever GNU as accepts of them must come out the same, and what it
    /// rejects must be an error here too.
    /// </summary>
    [GasFact]
    public void Random_instructions_of_the_machine_in_att_syntax_encode_as_gnu_as_does()
    {
        var candidates = GasCorpus.Random(64, 6000, seed: 1).Concat(GasCorpus.Random(32, 3000, seed: 2)).Concat(GasCorpus.Random(16, 1500, seed: 3)).ToList();
        var (accepted, bytes) = GasText.AssembleAccepted(candidates, GasCorpus.Later);
        Assert.True(accepted.Count >= candidates.Count / 2, $"GNU as took only {accepted.Count} of {candidates.Count}");
        Compare(accepted, bytes, "random AT&T instructions");
        var rejected = candidates.Except(accepted).ToList();
        var acceptedHere = rejected.Where(f => new AsmTestContext(f.Bitness, GasCorpus.Later).Assemble(f.Line, 0, out _) is not null).ToList();
        Assert.True(acceptedHere.Count == 0, $"{acceptedHere.Count} of the {rejected.Count} forms GNU as rejects assemble here: "
                                             + string.Join("; ", acceptedHere.Take(20).Select(f => $".code{f.Bitness} {f.Line}")));
    }

    void Compare(IReadOnlyList<(int Bitness, string Line)> forms, List<byte[]> gas, string what)
    {
        var mismatches = new List<string>();
        ulong ip = 0;
        for (int i = 0; i < forms.Count; i++)
        {
            var (bitness, line) = forms[i];
            var context = new AsmTestContext(bitness, GasCorpus.Later);
            var ours = context.Assemble(line, ip, out string? error);
            if (ours is null || !ours.AsSpan().SequenceEqual(gas[i]))
                mismatches.Add($".code{bitness} {line,-40} gas: {Hex(gas[i])}  ours: {(ours is null ? "error: " + error : Hex(ours))}");
            ip += (ulong)gas[i].Length;
        }
        string summary = $"[gas-corpus] {forms.Count} {what} compared, {mismatches.Count} mismatches";
        output.WriteLine(summary);
        Console.WriteLine(summary);
        foreach (var m in mismatches)
            output.WriteLine(m);
        Assert.True(mismatches.Count == 0, summary + "\n" + string.Join("\n", mismatches.Take(200)));
    }

    static string Hex(byte[] bytes) => bytes.Length == 0 ? "(none)" : Convert.ToHexString(bytes).ToLowerInvariant();
}

/// <summary>Skips a test when GNU as, ld or objcopy is missing.</summary>
public sealed class GasFactAttribute : FactAttribute
{
    public GasFactAttribute()
    {
        if (GnuAs.Missing is not null)
            Skip = $"{GnuAs.Missing} not installed (.ci/run installs binutils)";
    }
}

/// <summary>
/// GNU as on instruction lines only: one run for the whole corpus, a label before each line, and the bytes of each
/// line cut from the .text section at the labels' offsets (no linking: the corpus has no relocations).
/// </summary>
static class GasText
{
    /// <summary>Each form's bytes; throws with GNU as's messages when it rejects any.</summary>
    public static List<byte[]> Assemble(IReadOnlyList<(int Bitness, string Line)> forms, IReadOnlyDictionary<string, long> later)
        => Run(forms, later, out var rejected, out string messages)
           ?? throw new InvalidOperationException($"GNU as rejected {rejected.Count} forms:\n{messages}");

    /// <summary>The forms GNU as accepts, and their bytes.</summary>
    public static (List<(int Bitness, string Line)> Forms, List<byte[]> Bytes) AssembleAccepted(
        IEnumerable<(int Bitness, string Line)> forms, IReadOnlyDictionary<string, long> later)
    {
        var accepted = forms.ToList();
        while (true)
        {
            if (Run(accepted, later, out var rejected, out string messages) is { } bytes)
                return (accepted, bytes);
            if (rejected.Count == 0)
                throw new InvalidOperationException(messages);
            accepted = accepted.Where((_, i) => !rejected.Contains(i)).ToList();
        }
    }

    static List<byte[]>? Run(IReadOnlyList<(int Bitness, string Line)> forms, IReadOnlyDictionary<string, long> later,
                             out HashSet<int> rejected, out string messages)
    {
        var source = new StringBuilder();
        var formOfLine = new Dictionary<int, int>();
        int bitness = 0, line = 0;
        for (int i = 0; i < forms.Count; i++)
        {
            if (forms[i].Bitness != bitness)
            {
                source.AppendLine($".code{bitness = forms[i].Bitness}");
                line++;
            }
            source.AppendLine($"form{i}: {forms[i].Line}");
            formOfLine[++line] = i;
        }
        source.AppendLine($"form{forms.Count}:");
        foreach (var (name, value) in later)
            source.AppendLine($".set {name}, {value}");

        string dir = Directory.CreateTempSubdirectory("repl-gas-text-").FullName;
        try
        {
            string s = Path.Combine(dir, "corpus.s"), o = Path.Combine(dir, "corpus.o"), bin = Path.Combine(dir, "text.bin");
            File.WriteAllText(s, source.ToString());
            var (_, stderr, status) = QemuImage.Execute("as", ["--64", "-o", o, s], TimeSpan.FromSeconds(60));
            messages = Encoding.UTF8.GetString(stderr);
            rejected = [];
            if (status != 0)
            {
                foreach (var message in messages.Split('\n'))
                    if (message.Split(':') is [_, var number, var kind, ..] && kind.Trim() == "Error" && int.TryParse(number, out int n)
                        && formOfLine.TryGetValue(n, out int form))
                        rejected.Add(form);
                return null;
            }
            QemuImage.Tool("objcopy", ["-O", "binary", "-j", ".text", o, bin]);
            var text = File.ReadAllBytes(bin);
            var offsets = new Dictionary<int, int>();
            var (symbols, _, _) = QemuImage.Execute("nm", [o], TimeSpan.FromSeconds(30));
            foreach (var symbol in Encoding.UTF8.GetString(symbols).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var parts = symbol.Split(' ');
                if (parts.Length == 3 && parts[2].StartsWith("form", StringComparison.Ordinal))
                    offsets[int.Parse(parts[2][4..])] = Convert.ToInt32(parts[0], 16);
            }
            return Enumerable.Range(0, forms.Count).Select(i => text[offsets[i]..offsets[i + 1]]).ToList();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

/// <summary>
/// The corpus: each instruction family the machine implements, crossed with operand forms, sizes and boundary
/// values. "fwd" symbols are defined at the end of the file, so both assemblers must choose full-size fields for
/// them before knowing their values.
/// </summary>
static class GasCorpus
{
    public static readonly IReadOnlyDictionary<string, long> Later = new Dictionary<string, long>
    {
        ["fwd"] = 1, ["fwd0"] = 0, ["fwdbig"] = 0x12345,
    };

    /// <summary>A mode's registers of each size (the accumulator first, the last ones needing REX in 64-bit code) and memory forms.</summary>
    sealed record Mode(int Bitness, string[] Sizes, Dictionary<string, string[]> Registers, string[] Memory);

    static readonly Mode Long = new(64, ["b", "w", "l", "q"], new()
    {
        ["b"] = ["%al", "%cl", "%bl", "%ah", "%spl", "%sil", "%r8b", "%r15b"],
        ["w"] = ["%ax", "%cx", "%sp", "%si", "%r9w", "%r15w"],
        ["l"] = ["%eax", "%ecx", "%esp", "%ebp", "%esi", "%r8d", "%r13d"],
        ["q"] = ["%rax", "%rcx", "%rsp", "%rbp", "%rdi", "%r8", "%r12", "%r15"],
    },
    [
        "(%rax)", "(%rsp)", "(%rbp)", "(%r12)", "(%r13)", "0(%rax)", "8(%rax)", "-8(%rbp)", "0x7f(%rax)", "0x80(%rax)",
        "-128(%rax)", "-129(%rax)", "0x12345678(%rcx)", "(%rax,%rbx)", "(%rax,%rbx,2)", "8(%rsp,%rcx,4)",
        "-0x80(%r8,%r9,8)", "(,%rbx,8)", "0x10(,%rax,2)", "0x1000", "0x10(%rip)", "%gs:0x10", "%fs:(%rax)",
        "%gs:8(%rbx,%rcx,4)", "(%eax)", "4(%ebx,%esi,2)", "fwd(%rax)", "fwd", "(%r13,%r14)", "%es:(%rdi)",
    ]);

    static readonly Mode Protected = new(32, ["b", "w", "l"], new()
    {
        ["b"] = ["%al", "%cl", "%bl", "%ah", "%dh"],
        ["w"] = ["%ax", "%cx", "%sp", "%si", "%di"],
        ["l"] = ["%eax", "%ecx", "%esp", "%ebp", "%esi", "%edi"],
    },
    [
        "(%eax)", "(%esp)", "(%ebp)", "0(%eax)", "8(%eax)", "-8(%ebp)", "0x80(%eax)", "-128(%eax)", "(%eax,%ebx)",
        "(%eax,%ebx,2)", "8(%esp,%ecx,4)", "(,%ebx,8)", "0x1000", "%fs:(%eax)", "%gs:8(%ebx,%ecx,4)", "(%bx,%si)",
        "4(%bp)", "fwd(%eax)", "fwd", "%ss:(%ebp)", "%ds:(%esp)", "0x12345678(%edi)",
    ]);

    static readonly Mode Real = new(16, ["b", "w", "l"], Protected.Registers,
    [
        "(%bx)", "(%bp)", "(%si)", "(%di)", "(%bx,%si)", "(%bp,%di)", "4(%bx)", "0x80(%bp,%si)", "-1(%di)", "0x1000",
        "(%eax)", "8(%esp,%ecx,4)", "%es:(%bx)", "fwd(%bx)", "%ss:(%bp)", "%ds:(%bp)", "0(%bp)", "0x7f(%si)",
    ]);

    static readonly string[] Immediates = ["0", "1", "0x7f", "0x80", "-128", "-129", "0xff", "0x7fff", "-1", "0x7fffffff", "fwd"];

    static readonly string[] Alu = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"];

    /// <summary>
    /// <paramref name="count"/> distinct instructions from random bytes that the machine implements, without
    /// branches (whose bytes depend on where they are) or RIP-relative operands, in Iced's AT&amp;T text.
    /// </summary>
    public static unsafe List<(int Bitness, string Line)> Random(int bitness, int count, int seed)
    {
        var random = new System.Random(seed);
        var formatter = new Iced.Intel.GasFormatter();
        formatter.Options.GasShowMnemonicSizeSuffix = true;
        var lines = new HashSet<string>();
        var bytes = new byte[16];
        for (int attempt = 0; lines.Count < count && attempt < count * 200; attempt++)
        {
            random.NextBytes(bytes);
            var decoder = Iced.Intel.Decoder.Create(bitness, new Iced.Intel.ByteArrayCodeReader(bytes));
            decoder.Decode(out var instruction);
            if (instruction.IsInvalid || Repl.Machine.Cpu.SelectFamily(instruction) == null || instruction.IsIPRelativeMemoryOperand
                || Enumerable.Range(0, instruction.OpCount).Any(i => instruction.GetOpKind(i) is Iced.Intel.OpKind.NearBranch16
                       or Iced.Intel.OpKind.NearBranch32 or Iced.Intel.OpKind.NearBranch64))
                continue;
            var text = new Iced.Intel.StringOutput();
            formatter.Format(instruction, text);
            lines.Add(text.ToStringAndReset());
        }
        return lines.Select(line => (bitness, line)).ToList();
    }

    public static List<(int Bitness, string Line)> Forms()
    {
        var forms = new List<(int, string)>();
        void Add(string line) => forms.Add((64, line));

        Matrix(Long, Add);

        foreach (var line in (string[])
        [
            "mov $0xffffffff,%rax", "mov $-1,%rax", "movq $0x123456789,%rax", "mov $0x123456789abcdef0,%r9",
            "movabs $1,%rax", "movabs $fwd,%rax", "movabs 0x1000,%eax", "movabs %al,0x1122334455667788", "movabs 0x10,%rax",
            "movabs %ax,0x10", "mov $fwd,%rax", "mov $fwd,%eax", "mov $fwd,%r10b", "movl $fwd,fwd(%rbx)",
            "mov %es,%ax", "mov %es,%eax", "mov %ds,%rax", "mov %ax,%ds", "movw %ax,%ds", "mov %eax,%ss", "mov %rax,%fs",
            "mov %ds,(%rax)", "mov (%rax),%gs", "movw %fs,(%rbx)", "mov %cs,%r9d",
            "mov %cr0,%rax", "mov %rax,%cr0", "mov %cr2,%rdx", "mov %rbx,%cr3", "mov %cr4,%r8", "mov %r9,%cr4", "mov %rax,%cr8",
            "mov %cr8,%rcx", "mov %db0,%rax", "mov %rax,%db7", "mov %dr6,%r11", "mov %r12,%dr3",
            "xchg %eax,%ebx", "xchg %ebx,%eax", "xchg %ebx,%ecx", "xchg %eax,%eax", "xchg %rax,%r8", "xchg %r8,%rax",
            "xchg %ax,%bx", "xchg %ax,%ax", "xchg %al,%bl", "xchg %rax,(%rbx)", "xchg (%rbx),%ecx", "xchg %r15b,(%r8)",
            "lock xchg %eax,(%rdx)", "test (%rbx),%eax", "test %eax,(%rbx)", "nop", "nopl (%rax)", "nopw 0(%rax,%rax,1)",
            "nopl 0x80(%rax)", "nopq (%rax)", "nopw %ax", "pause", "hlt", "ret", "retq", "retw", "ret $8", "retq $0x10",
            "leave", "leaveq", "leavew", "cli", "sti", "clc", "stc", "cmc", "cld", "std", "lahf", "sahf", "int3", "int $3",
            "int $0x80", "int $fwd", "int1", "ud2", "cpuid", "rdtsc", "rdtscp", "rdmsr", "wrmsr", "swapgs", "syscall",
            "sysret", "sysretl", "sysretq", "sysenter", "sysexit", "sysexitl", "sysexitq", "iret", "iretl", "iretq", "iretw",
            "lret", "lretl", "lretq", "lretw", "lret $8", "lretq $8", "clts", "wbinvd", "invd", "stac", "clac", "lfence",
            "sfence", "mfence", "rdpid %rax", "rdpid %r9", "rdfsbase %rax", "rdgsbase %ecx", "wrfsbase %r8", "wrgsbase %edx",
            "invlpg (%rax)", "invlpg 0x1000", "invlpg fwd(%rbx)", "invpcid (%rax),%rbx", "invpcid 8(%rsp),%r9",
            "lgdt (%rax)", "lidt 0x10(%rbx)", "sgdt (%rax)", "sidt fwd", "lgdt 0x1000", "lgdtq (%rax)",
            "lldt %ax", "lldt (%rax)", "sldt %eax", "sldt %ax", "sldt %rax", "sldt (%rax)", "ltr %ax", "ltr (%rbx)", "str %eax",
            "str %ax", "str %rax", "str (%rax)", "lmsw %ax", "lmsw (%rax)", "smsw %eax", "smsw %ax", "smsw %rax", "smsw (%rax)",
            "verr %ax", "verr (%rax)", "verw %cx", "verw 2(%rax)", "lar %ax,%eax", "lar %eax,%eax", "lar (%rax),%ecx",
            "lar %ax,%rax", "lar (%rbx),%rdx", "lar %bx,%ax", "lsl %eax,%eax", "lsl %ax,%ecx", "lsl (%rax),%r9",
            "lsl %rax,%rax", "lsl %cx,%dx",
            "push %rax", "push %r8", "push %r15", "pop %rbx", "pop %r12", "pushq %rax", "pushw %ax", "popw %dx", "push %ax",
            "push $0", "push $1", "push $0x7f", "push $0x80", "push $-128", "push $-129", "push $0x7fffffff", "push $fwd",
            "pushq $1", "pushw $1", "pushw $0x1234", "push (%rax)", "pushq (%rax)", "pushw (%rax)", "pop (%rax)", "popq 8(%rsp)",
            "push %fs", "push %gs", "pop %fs", "pop %gs", "pushw %fs", "popw %gs", "pushq %fs", "pushf", "popf", "pushfq", "popfq",
            "pushfw", "popfw", "enter $0x10,$0", "enter $0,$0", "enter $0x1234,$3", "enterq $8,$1", "enterw $8,$1",
            "cbtw", "cwtl", "cltq", "cwtd", "cltd", "cqto", "cbw", "cwde", "cdqe", "cwd", "cdq", "cqo",
            "movzbl %al,%eax", "movzbw %al,%ax", "movzbq %al,%rax", "movzwl %ax,%eax", "movzwq %ax,%r9", "movzbl (%rax),%ecx",
            "movzwl 2(%rbx),%edx", "movzbq %r8b,%r15", "movzx %al,%eax", "movzx %ax,%rbx", "movzb (%rax),%eax", "movzw (%rax),%rax",
            "movsbl %al,%eax", "movsbw %al,%ax", "movsbq %sil,%rax", "movswl %ax,%eax", "movswq %ax,%r9", "movslq %eax,%rax",
            "movslq (%rax),%r8", "movsbl (%rax),%ecx", "movsx %al,%eax", "movsxd %eax,%rax", "movswl 8(%rbp),%esi",
            "movbe (%rax),%eax", "movbe %rcx,(%rdx)", "movbe 2(%rbx),%ax",
            "bswap %eax", "bswap %rax", "bswap %r8d", "bswap %r15",
            "lea (%rax),%rax", "lea 8(%rax,%rbx,4),%rcx", "lea (,%rbx,2),%rcx", "lea 0x10(%rip),%rax", "lea fwd(%rax),%eax",
            "lea (%eax),%eax", "lea 0x12345678,%r9", "lea -1(%rbp),%bx", "leaq (%rsp),%rdi", "leal 4(%r13),%r12d",
            "cmpxchg %eax,(%rbx)", "cmpxchg %al,%bl", "lock cmpxchg %rcx,8(%rdx)", "cmpxchg %r9w,(%rax)", "cmpxchg8b (%rax)",
            "lock cmpxchg8b (%rdi)", "cmpxchg16b (%rax)", "lock cmpxchg16b 0x10(%rsi)", "xadd %eax,%ebx", "lock xaddq %rax,(%rcx)",
            "xadd %al,(%rbx)", "xlat", "xlatb",
            "movsb", "movsw", "movsl", "movsq", "stosb", "stosw", "stosl", "stosq", "lodsb", "lodsw", "lodsl", "lodsq",
            "scasb", "scasw", "scasl", "scasq", "cmpsb", "cmpsw", "cmpsl", "cmpsq", "insb", "insw", "insl", "outsb", "outsw",
            "outsl", "rep movsb", "rep movsq", "rep stosb", "rep stosl", "rep stosq", "repe cmpsb", "repz cmpsq", "repne scasb",
            "repnz scasl", "rep lodsb", "rep insb", "rep outsw", "addr32 movsb", "addr32 rep stosq", "fs movsb", "lock incl (%rax)",
            "movsb %fs:(%rsi),%es:(%rdi)", "stos %al,%es:(%rdi)", "lods (%rsi),%eax", "movsl (%rsi),(%rdi)",
            "in $0x60,%al", "in $0x60,%ax", "in $0x60,%eax", "in %dx,%al", "in %dx,%ax", "in %dx,%eax", "inb $0x80,%al",
            "in (%dx),%al", "out %al,$0x80", "out %ax,$0x80", "out %eax,$0xff", "out %al,%dx", "out %ax,%dx", "out %eax,%dx",
            "outb %al,(%dx)", "inb %dx,%al",
            "call *%rax", "call *%r11", "call *(%rax)", "call *8(%rbx,%rcx,8)", "call *0x10(%rip)", "callq *%rax", "call *%gs:0x10",
            "jmp *%rax", "jmp *%r11", "jmp *(%rax)", "jmpq *(%rbx)", "jmp *0x1000", "jmp *fwd(,%rax,8)", "jmp *%fs:(%rax)",
            "ljmp *(%rax)", "lcall *(%rax)", "ljmpl *(%rbx)", "lcalll *8(%rax)", "ljmpw *(%rax)",
            "jmp .", "call .", "jne .", "je .", "jz .", "ja .", "jnbe .", "jae .", "jc .", "js .", "jo .", "jp .", "jpe .", "jl .",
            "jnge .", "jle .", "jg .", "jrcxz .", "jecxz .", "loop .", "loope .", "loopne .", "loopz .", "loopnz .",
            "jmp .+0x10", "jmp .-0x10", "call .+0x1000", "jne .+0x80",
            "andn %eax,%ebx,%ecx", "andn (%rax),%r8,%r9", "bextr %eax,%ebx,%ecx", "bextr %r8,(%rax),%rdx", "blsi %eax,%ebx",
            "blsi (%rax),%r9", "blsmsk %ecx,%edx", "blsmsk %r10,%r11", "blsr %eax,%ebx", "blsr 8(%rsp),%rax", "bzhi %eax,%ebx,%ecx",
            "bzhi %r9,(%rax),%r10", "mulx %eax,%ebx,%ecx", "mulx (%rax),%r8,%r9", "pdep %eax,%ebx,%ecx", "pdep (%rax),%r8,%r9",
            "pext %eax,%ebx,%ecx", "pext %r12,%r13,%r14", "rorx $3,%eax,%ebx", "rorx $0x3f,(%rax),%r9", "sarx %eax,%ebx,%ecx",
            "sarx %r9,(%rax),%r10", "shlx %eax,%ebx,%ecx", "shlx %r15,%r14,%r13", "shrx %eax,%ebx,%ecx", "shrx %rax,8(%rbx),%rcx",
            "lzcnt %eax,%ebx", "lzcnt (%rax),%r9", "tzcnt %ax,%bx", "tzcnt %rcx,%rdx", "popcnt %eax,%ebx", "popcnt (%rax),%rcx",
            "bsf %eax,%ebx", "bsf (%rax),%r9w", "bsr %rcx,%rdx", "bsr 4(%rbx),%esi",
            "mov %ds:(%rax),%eax", "mov %ss:(%rbp),%eax", "mov %cs:0x10,%eax", "mov %es:(%rax),%eax", "mov %ds:0x10,%eax",
            "mov %ds:(%rsp),%eax", "mov %ss:(%rax),%eax", "ud1 %eax,%ebx", "ud1 (%rax),%ecx", "ud0 %eax,%ebx",
            "movs %fs:(%rsi),%es:(%rdi)", "movsb (%rsi),(%rdi)", "cmpsb %es:(%rdi),(%rsi)", "scas %es:(%rdi),%al",
            "ins %dx,%es:(%rdi)", "outs (%rsi),%dx", "stos %rax,%es:(%rdi)", "lods %ds:(%rsi),%ax", "rep stos %eax,%es:(%rdi)",
            "lock", "rep", "repne", "stos", "movs", "jmp *%ax", "mov %eax,%eax", "movl %eax,%eax", "mov $0x7fffffff,%rax", "mov $-0x80000000,%rax",
            "mov $0x80000000,%rax", "imul %eax", "imul (%rax),%eax", "mul %al", "xchg %eax,%r8d", "xchg %r8d,%eax",
            "xchg %rax,%rax", "xchg %ax,%r8w", "cmove %eax,%eax", "push $-1", "push $0xffff", "pushw $-1", "mov %spl,%al",
            "mov %sil,%bl", "mov %ah,%bl", "mov %ah,(%rax)", "lock orq $-1,(%rdi)", "leal 0x7fffffff(%rax),%eax",
            "lea -0x80000000(%rax),%eax", "movl $0x80000000,0x7fffffff(%rbx)", "mov 0x80000000,%eax", "mov -1,%eax",
            "movabs 0xffffffffffffffff,%al", "pushq $fwd", "setb %ah", "bt $63,%rax", "btq $64,(%rax)", "mov 0x80000000,%al",
            "mov %rax,0xffffffff", "mov %es:0x10,%eax", "mov %fs:-8(%rbp),%rax",
            "rep ret", "rep nop", "repz ret", "cs nop", "ds jne .", "MOV %EAX,%EBX", "movl $ 1, ( %rax , %rbx , 4 )",
            "movq %cr3,%rax", "nopw %cs:0x0(%rax,%rax,1)", "mov %fs:0,%rax", "movq $0,%fs:0x28", "bt $5,%eax",
            "jmp *0x8(,%rax,8)", "push %rbp", "mov %rsp,%rbp", "xor %eax,%eax", "cmpq $0,fwd(%rbx)", "gs mov (%rax),%eax",
            "data16 lodsb", "lock xchg (%rdx),%eax", "lock negq (%rax)", "lock notb 8(%rcx)", "lock decw (%rsi)",
            "lodsb (%rsi)", "stosl %es:(%rdi)", "rep scasw %es:(%rdi)", "lodsq %fs:(%rsi)", "mov (%rip),%eax", "lea (%rip),%rax",
            "addr32 mov %eax,0x927acd38", "addr32 mov 0x927acd38,%ebx", "addr32 mov 0x10,%al", "addr32 mov 0x10,%ebx", "data16 push $0x7da2", "data16 ret",
            "data16 add $1,%eax", "movsxd (%rcx),%ax", "mov (%rax,1),%eax", "mov (,1),%eax", "mov (,%rax),%eax", "mov 4(,%rax,),%eax", "mov ( %rax ),%eax", "notrack call *%rax", "notrack jmp *(%rax)", "movzxw (%rax),%ebx", "movzxb (%rax),%bx", "movsxb 8(%rbx),%rcx", "movsxw (%rax),%eax", "verrw (%rax)", "verww %ax", "lldtw (%rax)", "ltrw %ax", "sldtw (%rax)", "strw (%rax)", "smsww (%rax)", "lmsww (%rax)", "sldtw %ax", "strl %eax", "smswq %rax", "rex64 nop", "rex.w ljmp *8(%r8)", "rex.w push %rax", "mov %ds:0x10,%al", "mov %fs:0x10,%rax",
        ])
            Add(line);

        foreach (var line in (string[])
        [
            "add %eax,%ebx", "mov $1,%eax", "mov %eax,0x1000", "mov 0x1000,%eax", "mov %al,0x10", "mov 0x10,%ax", "mov (%eax),%ebx",
            "mov (%ebx,%ecx,4),%eax", "mov 8(%ebp),%eax", "mov -4(%esp),%eax", "mov (%si),%ax", "mov $0x12345678,%ebx", "movw $1,(%eax)",
            "push %eax", "pop %ebx", "push %ax", "push $1", "push $0x80", "push (%eax)", "pushl 4(%esp)", "push %ds", "push %cs",
            "push %ss", "push %es", "pop %ds", "pop %es", "pop %ss", "pushf", "popf", "pushfl", "popfw", "pusha", "popa", "pushal",
            "pushaw", "popaw", "daa", "das", "aaa", "aas", "aam", "aad", "aam $12", "aad $7", "into", "arpl %ax,%bx", "arpl %cx,(%eax)",
            "inc %eax", "dec %ecx", "inc %ax", "dec %di", "incb (%eax)", "leave", "ret", "ret $4", "lret", "lret $4", "iret", "iretw",
            "call *%eax", "call *(%eax)", "jmp *%ecx", "jmp *(%ebx)", "ljmp $0x10,$0x100000", "ljmp $8,$fwd", "lcall $0x10,$0x1000",
            "ljmpw $0x10,$0x1000", "ljmp *(%eax)", "lcall *4(%eax)", "jmp .", "call .", "jne .", "jecxz .", "jcxz .", "loop .",
            "mov %cr0,%eax", "mov %eax,%cr0", "mov %eax,%cr3", "mov %cr4,%ecx", "mov %db7,%eax", "mov %eax,%dr0", "mov %ax,%ds",
            "mov %ds,%ax", "mov %ss,%eax", "lgdt (%eax)", "lidt 0x1000", "lgdtl (%ebx)", "lgdtw (%ebx)", "sgdt (%eax)", "ltr %ax",
            "lldt %ax", "str %ax", "sldt %eax", "invlpg (%eax)", "sysenter", "sysexit", "rdmsr", "wrmsr", "cpuid", "hlt", "cli",
            "sti", "int $0x80", "int3", "ud2", "rep movsb", "rep stosl", "repne scasb", "movsw", "lodsl", "addr16 movsb",
            "lea (%eax,%eax,2),%eax", "lea (%bx,%si),%ax", "movzbl %al,%eax", "movsbw (%eax),%ax", "cwtl", "cltd", "cbtw", "cwtd",
            "xchg %eax,%eax", "xchg %eax,%ebx", "xchg %ax,%ax", "nop", "in $0x60,%al", "out %al,%dx", "bound %eax,(%ebx)",
            "mov %eax,%fs:(%ebx)", "mov %gs:0x10,%eax", "add $0x80,%al", "add $1,%eax", "addl $0x80,(%eax)", "sub $fwd,%eax",
            "les (%eax),%ebx", "lds 4(%eax),%ecx", "data16 nop", "addr16 mov 0x10,%eax", "data16 push $1", "mov %ds:0x10,%eax", "ljmp $0x08,$fwd", "lcall $0x10,$fwdbig", "shld $3,%eax,%ebx", "bswap %ecx", "enter $8,$0", "movl $fwd,(%eax)",
        ])
            forms.Add((32, line));

        foreach (var line in (string[])
        [
            "add %eax,%ebx", "add %ax,%bx", "mov $1,%ax", "mov $1,%eax", "mov %ax,0x1000", "mov 0x10,%al", "mov (%bx),%ax",
            "mov (%bx,%si),%ax", "mov 4(%bp),%ax", "mov (%bp),%ax", "mov 0x80(%bp,%di),%cx", "mov -1(%si),%dl", "mov (%di),%ax",
            "mov (%eax),%ax", "mov 8(%esp),%ecx", "mov %ax,%ds", "mov %ds,%ax", "mov %es,%bx", "mov %ax,%ss", "mov %cr0,%eax",
            "mov %eax,%cr0", "push %ax", "push %eax", "pop %bx", "pushw $1", "push $1", "push $0x80", "pushl $1", "push %cs",
            "push %ds", "pop %ds", "pop %es", "pushf", "popf", "pushfl", "pusha", "popa", "pushal", "ret", "retl", "ret $2", "lret",
            "lretl", "iret", "iretl", "leave", "enter $4,$0", "call .", "jmp .", "jne .", "jcxz .", "jecxz .", "loop .", "call *%ax",
            "call *(%bx)", "jmp *%ax", "jmp *(%si)", "ljmp $0x8,$0x1000", "ljmpl $0x8,$0x100000", "lcall $0x10,$0x20",
            "ljmp *(%bx)", "lcall *(%si)", "lgdt (%bx)", "lidt 0x1000", "lgdtl (%bx)", "lmsw %ax", "smsw %ax", "ltr %ax", "int $0x10",
            "int3", "cli", "sti", "hlt", "cbw", "cwd", "cwde", "cdq", "cbtw", "cwtl", "rep movsb", "rep stosw", "movsl", "lodsb",
            "in $0x60,%al", "out %al,$0x80", "in %dx,%ax", "xchg %ax,%bx", "xchg %ax,%ax", "lea (%bx,%si),%ax", "lea 4(%bp),%bx",
            "inc %ax", "dec %si", "inc %eax", "incw (%bx)", "addw $1,(%bx)", "addb $1,(%bx,%di)", "add $0x80,%ax", "add $0x80,%eax",
            "movzbw %al,%ax", "movzbl %al,%eax", "movl $1,(%bx)", "sub $fwd,%ax", "mov fwd(%bx),%ax", "daa", "aam", "nop", "data32 nop",
            "addr32 mov (%eax),%ax", "mov %fs:(%bx),%ax", "sysretl", "sysret", "verrw (%bx)", "lldtw (%si)", "strw (%bx)", "smsww (%bx)", "addr32 mov 0x12345678,%al", "data32 push $1", "data32 ret", "ljmp $0x08,$fwd", "lcall $0x10,$fwd", "mov %eax,%fs:4(%si)",
        ])
            forms.Add((16, line));
        Matrix(Protected, line => forms.Add((32, line)));
        Matrix(Real, line => forms.Add((16, line)));
        return forms;
    }

    /// <summary>The operand-form matrix of the arithmetic, logic, shift, bit and conditional families in one mode.</summary>
    static void Matrix(Mode m, Action<string> Add)
    {
        string wide = m.Sizes[^1], accumulator = m.Registers[wide][0], other = m.Registers[wide][^1];
        foreach (var op in Alu.Append("mov").Append("test"))
        {
            foreach (var s in m.Sizes)
            {
                var regs = m.Registers[s];
                Add($"{op} {regs[1]},{regs[0]}");
                Add($"{op} {regs[0]},{regs[^1]}");
                Add($"{op} {regs[^2]},{regs[2]}");
                foreach (var imm in Immediates)
                {
                    Add($"{op}{s} ${imm},{regs[0]}");
                    Add($"{op} ${imm},{regs[^1]}");
                }
                foreach (var mem in m.Memory.Where((_, i) => i % 3 == m.Sizes.AsSpan().IndexOf(s) % 3))
                {
                    Add($"{op} {regs[0]},{mem}");
                    if (op != "test")
                        Add($"{op} {mem},{regs[^1]}");
                    Add($"{op}{s} $0x11,{mem}");
                }
            }
            Add($"{op}{wide} ${(op is "mov" ? "0x80000000" : "-0x80000000")},{accumulator}");
            Add($"{op}l $0xffffffff,%eax");
            Add($"{op}w $0xffff,%bx");
            Add($"{op}l $0xffffff80,%ebx");
            Add($"{op}w $0xff80,%bx");
            Add($"lock {op}l $1,{m.Memory[0]}".Replace("lock mov", "mov").Replace("lock test", "test").Replace("lock cmp", "cmp"));
        }

        foreach (var op in (string[])["inc", "dec", "neg", "not", "mul", "div", "imul", "idiv"])
            foreach (var s in m.Sizes)
            {
                Add($"{op} {m.Registers[s][0]}");
                Add($"{op} {m.Registers[s][^1]}");
                Add($"{op}{s} {m.Memory[0]}");
                Add($"{op}{s} {m.Memory[^1]}");
            }
        foreach (var s in m.Sizes.Skip(1))
        {
            var r = m.Registers[s];
            Add($"imul {r[1]},{r[0]}");
            Add($"imul {m.Memory[0]},{r[^1]}");
            foreach (var imm in (string[])["1", "0x7f", "0x80", "-128", "-129", "fwd"])
            {
                Add($"imul ${imm},{r[0]}");
                Add($"imul ${imm},{r[1]},{r[^1]}");
                Add($"imul ${imm},{m.Memory[0]},{r[2]}");
            }
        }

        foreach (var op in (string[])["rol", "ror", "rcl", "rcr", "shl", "sal", "shr", "sar"])
            foreach (var s in m.Sizes)
            {
                var r = m.Registers[s];
                Add($"{op} {r[0]}");
                Add($"{op} $1,{r[^1]}");
                Add($"{op} $2,{r[0]}");
                Add($"{op} $0x1f,{r[1]}");
                Add($"{op} %cl,{r[^1]}");
                Add($"{op}{s} {m.Memory[0]}");
                Add($"{op}{s} $1,{m.Memory[6]}");
                Add($"{op}{s} $5,{m.Memory[^2]}");
                Add($"{op}{s} %cl,{m.Memory[0]}");
                Add($"{op} $fwd,{r[0]}");
            }
        foreach (var op in (string[])["shld", "shrd"])
            foreach (var s in m.Sizes.Skip(1))
            {
                var r = m.Registers[s];
                Add($"{op} $4,{r[0]},{r[1]}");
                Add($"{op} %cl,{r[^1]},{r[0]}");
                Add($"{op} $1,{r[0]},{m.Memory[0]}");
                Add($"{op}{s} %cl,{r[1]},{m.Memory[4]}");
            }

        foreach (var op in (string[])["bt", "bts", "btr", "btc"])
            foreach (var s in m.Sizes.Skip(1))
            {
                var r = m.Registers[s];
                Add($"{op} {r[1]},{r[0]}");
                Add($"{op} {r[0]},{m.Memory[0]}");
                Add($"{op} $3,{r[^1]}");
                Add($"{op}{s} $0x1f,{m.Memory[1]}");
                Add($"lock {op} {r[0]},{m.Memory[5]}".Replace("lock bt ", "bt "));
            }

        string[] conditions = ["o", "no", "b", "c", "nae", "ae", "nb", "nc", "e", "z", "ne", "nz", "be", "na", "a", "nbe", "s", "ns",
                               "p", "pe", "np", "po", "l", "nge", "ge", "nl", "le", "ng", "g", "nle"];
        foreach (var cc in conditions)
        {
            Add($"set{cc} %al");
            Add($"set{cc} {m.Memory[0]}");
            Add($"cmov{cc} %eax,%ebx");
            Add($"cmov{cc} {m.Memory[0]},{other}");
            Add($"cmov{cc}w %ax,{m.Registers["w"][^1]}");
        }
        Add($"setb {m.Registers["b"][^1]}");
        Add($"setl {m.Registers["b"][^2]}");
        Add("cmovll %eax,%ecx");
        Add($"cmovl{wide} {m.Memory[2]},{accumulator}");

    }
}
