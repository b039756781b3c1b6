using System.Text;
using Repl.Qemu;
using Xunit.Abstractions;

namespace Repl.Machine.Tests.Asm;

// Inside the namespace, so that these win over Repl.Machine's own types.
using Repl.Machine.Asm;

/// <summary>
/// The Intel-syntax side of the assembler against GNU as 2.40: each form of the corpus, written as
/// ".intel_syntax noprefix" source, must give exactly GNU as's bytes. The forms cover every instruction class the
/// machine implements, the ways of writing memory operands, operand sizes, branches to labels either side, and
/// 32- and 16-bit code.
/// </summary>
public sealed class GasIntelCorpusTests(ITestOutputHelper output)
{
    /// <summary>
    /// Absolute symbols: the "known" ones are set at the top of the file, so both assemblers see their values
    /// when they choose a form; the "later" ones are set at the end, so both must choose before knowing them.
    /// </summary>
    static readonly Dictionary<string, long> Known = new() { ["K"] = 5, ["KBIG"] = 0x1234 };
    static readonly Dictionary<string, long> Later = new() { ["LATER"] = 0x12345, ["SMALL"] = 1 };

    [GasIntelFact]
    public void Every_intel_corpus_form_encodes_to_the_bytes_gnu_as_emits()
    {
        var forms = Forms();
        Compare(forms, GasIntel.Assemble(forms, Known, Later), "Intel forms");
        Assert.True(forms.Count >= 500, $"the corpus shrank to {forms.Count} forms");
    }

    /// <summary>
    /// Whole Intel-syntax programs through the front end, linked by ld: labels as memory operands, "offset"
    /// immediates and RIP-relative targets need relocations, which the one-object corpus cannot show.
    /// </summary>
    [GasIntelFact]
    public void Intel_programs_with_labels_assemble_to_the_same_image_as_gnu_as_and_ld()
    {
        const string Intel = ".intel_syntax noprefix\n";
        int compared = GasDirectiveTests.CompareAll(
        [
            ("labels as memory, offset and rip-relative", Intel +
                "mov eax, here\nmov eax, offset here\nmov rax, offset here\nlea rax, [rip+here]\nlea rax, here[rip]\n" +
                "mov eax, [here+4]\nmov eax, here+4\npush here\npush offset here\nmov ecx, dword ptr [rbx+here]\n" +
                "mov eax, OFFSET FLAT:here\nmov rax, qword ptr gs:[here]\nmov eax, fs:here\nhere: ret\n"),
            ("data variables", Intel +
                "mov eax, dword ptr [var]\nmov dword ptr var, 5\nadd var, eax\ninc dword ptr var[rip]\nmovzx eax, byte ptr [flag]\n" +
                "cmp byte ptr flag, 0\nlea rsi, table[rbx*8]\nmov rax, qword ptr [table + rcx*8 + 8]\n" +
                ".data\nvar: .long 1\nflag: .byte 0\n.p2align 3\ntable: .quad 1, 2, 3\n"),
            ("branches relax and reach labels", Intel +
                "back: nop\njmp 1f\n.fill 200, 1, 0x90\n1: jne back\ncall fn\njmp qword ptr [rip+slot]\ncall qword ptr slot\n" +
                "jz 2f\nnop\n2: loop 2b\nfn: ret\nslot: .quad fn\n"),
            ("equates before and after use", Intel +
                "PORT = 0x3f8\nmov dx, PORT\nmov ecx, COUNT\nmov ecx, offset COUNT\nmov eax, [rbx + COUNT]\nCOUNT = 16\n"),
            ("label differences", Intel + "a: nop\nnop\nb: mov eax, b - a\nmov ecx, end - start\nstart: nop\nend:\n"),
            ("32-bit code with far jumps and descriptor tables", Intel +
                ".code32\nlgdt [gdtr]\njmp 0x08:start32\nstart32: mov eax, offset gdt\nmov ds, ax\nmov esp, offset stack_top\n" +
                "call dword ptr [vector]\nljmp [farptr]\n.data\ngdt: .quad 0, 0x00cf9a000000ffff\ngdtr: .word 15\n.long gdt\n" +
                "vector: .long start32\nfarptr: .long start32\n.word 8\n.bss\n.skip 64\nstack_top:\n"),
            ("syntax switches both ways", ".intel_syntax noprefix\nmov eax, 1\n.att_syntax prefix\nmovl $2, %eax\n" +
                ".intel_syntax noprefix\nmov dword ptr [rax], 3\n.att_syntax\nret\n"),
        ]);
        output.WriteLine($"[gas-intel-programs] {compared} programs compared");
    }

    /// <summary>
    /// Random instructions of the implemented classes, as Iced's Intel formatter writes them: the forms nobody
    /// thought to list. Those GNU as rejects (spellings of Iced's it does not read) are left out; branches to
    /// absolute addresses are too, as GNU as leaves them to a relocation.
    /// </summary>
    [GasIntelFact]
    public void Random_instructions_in_iced_intel_text_encode_to_the_bytes_gnu_as_emits()
    {
        var formatter = IntelSyntaxTests.GasLikeFormatter();
        var output = new Iced.Intel.StringOutput();
        var candidates = new List<(int, string)>();
        foreach (var (bitness, count, seed) in new[] { (64, 1500, 11), (32, 700, 12) })
            foreach (var instruction in IntelSyntaxTests.RandomInstructions(bitness, count, seed))
            {
                if (instruction.FlowControl is Iced.Intel.FlowControl.UnconditionalBranch or Iced.Intel.FlowControl.ConditionalBranch or Iced.Intel.FlowControl.Call
                    && instruction.Op0Kind is not (Iced.Intel.OpKind.Register or Iced.Intel.OpKind.Memory))
                    continue;
                formatter.Format(instruction, output);
                string line = IntelSyntaxTests.GasSpelling(output.ToStringAndReset());
                if (!AwaitsTheSelector(line))
                    candidates.Add((bitness, line));
            }
        var (accepted, gas) = GasIntel.AssembleAccepted(candidates, Known, Later);
        Compare(accepted, gas, "random Iced instructions in Intel text");
        Assert.True(accepted.Count >= candidates.Count * 3 / 4, $"GNU as took only {accepted.Count} of {candidates.Count}");
    }

    /// <summary>
    /// Forms left out until the selector chooses as GNU as does, in either syntax: a string instruction given its
    /// memory operand but not its accumulator, "lodsb byte ptr [rsi]" (gas ac, ours an operand type mismatch);
    /// "addr32 mov dword ptr [0x927acd38], eax" (addr32 makes the moffs address 4 bytes: gas 67a338cd7a92, ours
    /// 67a338cd7a9200000000); "data16 push 0x7da2" (the prefix makes the immediate 16-bit: gas 6668a27d, ours
    /// 6668a27d0000).
    /// </summary>
    static bool AwaitsTheSelector(string line)
        => System.Text.RegularExpressions.Regex.IsMatch(line, @"^(rep\w* )?(lods|stos|scas)[bwdq] \w+ ptr [^,]*$")
           || System.Text.RegularExpressions.Regex.IsMatch(line, @"^addr32 mov .*\[0x[0-9a-f]+\]")
           || line.StartsWith("data16 push ", StringComparison.Ordinal);

    void Compare(IReadOnlyList<(int Bitness, string Line)> forms, (List<byte[]> Bytes, Dictionary<string, ulong> Labels) gas, string what)
    {
        var mismatches = new List<string>();
        for (int i = 0; i < forms.Count; i++)
        {
            var (bitness, line) = forms[i];
            var ours = Assemble(bitness, line, i, gas.Labels, out string? error);
            if (ours is null || !ours.AsSpan().SequenceEqual(gas.Bytes[i]))
                mismatches.Add($".code{bitness} {line,-48} gas: {Hex(gas.Bytes[i])}  ours: {(ours is null ? "error: " + error : Hex(ours))}");
        }
        string summary = $"[gas-corpus] {forms.Count} {what} compared, {mismatches.Count} mismatches";
        output.WriteLine(summary);
        Console.WriteLine(summary);
        foreach (var m in mismatches)
            output.WriteLine(m);
        Assert.True(mismatches.Count == 0, summary + "\n" + string.Join("\n", mismatches.Take(200)));
    }

    /// <summary>
    /// Line <paramref name="index"/> through the instruction assembler at GNU as's address for it, with the labels
    /// where GNU as put them: "back" (before the corpus) and 1b (just before the line) are known while the form is
    /// chosen; "fwd" (after the corpus) and 1f (just after the line) are not. A relaxable branch grows when its
    /// target is beyond a rel8, as the front end's relaxation grows it.
    /// </summary>
    static byte[]? Assemble(int bitness, string line, int index, IReadOnlyDictionary<string, ulong> labels, out string? error)
    {
        ulong ip = labels[$"f{index}"];
        var pass = new Dictionary<string, Value> { ["back"] = new Value((long)labels["back"], ".text"), [".L1b"] = new Value((long)ip, ".text") };
        foreach (var (name, value) in Known)
            pass[name] = new Value(value);
        var context = new IntelContext(bitness, pass, new Value((long)ip, ".text"));
        var encoded = InstructionAssembler.Assemble(new Cursor(line, new SourceLocation("corpus.s", 1, 1)), context, out error, out _);
        if (encoded is null)
            return null;

        var final = new Dictionary<string, Value> { [".L1b"] = new Value((long)ip), [".L1f"] = new Value((long)labels[$"f{index + 1}"]) };
        foreach (var (name, value) in labels)
            final[name] = new Value((long)value);
        foreach (var (name, value) in Known.Concat(Later))
            final[name] = new Value(value);
        var after = new IntelContext(bitness, final, new Value((long)ip));
        if (encoded.BranchTarget is { } target && after.EvaluateNow(target).IsAbsolute(out long destination)
            && destination - (long)(ip + (ulong)encoded.Length) is < sbyte.MinValue or > sbyte.MaxValue)
            encoded.MakeNear();
        return encoded.Encode(ip, after.EvaluateNow, out error, out _);
    }

    static string Hex(byte[] bytes) => bytes.Length == 0 ? "(none)" : Convert.ToHexString(bytes).ToLowerInvariant();

    static readonly string[] Alu = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"];

    /// <summary>Registers of each operand size, from the legacy ones to REX-only ones.</summary>
    static readonly Dictionary<string, string[]> Registers = new()
    {
        ["byte"] = ["al", "cl", "bl", "ah", "spl", "sil", "r8b", "r15b"],
        ["word"] = ["ax", "cx", "sp", "si", "r9w", "r15w"],
        ["dword"] = ["eax", "ecx", "esp", "ebp", "esi", "r8d", "r13d"],
        ["qword"] = ["rax", "rcx", "rsp", "rbp", "rdi", "r8", "r12", "r15"],
    };

    static readonly string[] Sizes = ["byte", "word", "dword", "qword"];

    /// <summary>The ways of writing an address, in the orders and spellings GNU as accepts.</summary>
    static readonly string[] Memory64 =
    [
        "[rax]", "[rsp]", "[rbp]", "[r12]", "[r13]", "[rax+0]", "[rax+8]", "[rbp-8]", "[rax+0x7f]", "[rax+0x80]", "[rax-128]",
        "[rax-129]", "[rcx+0x12345678]", "[rax+rbx]", "[rax+rbx*2]", "[rsp+rcx*4+8]", "[r8+r9*8-0x80]", "[rbx*8]",
        "[rax*2+0x10]", "[0x1000]", "[rip+0x10]", "[rip+back]", "[rip+fwd]", "gs:[0x10]", "fs:[rax]", "gs:[rbx+rcx*4+8]",
        "[eax]", "[ebx+esi*2+4]", "[rax+LATER]", "[r13+r14]", "es:[rdi]", "[8+rax]", "[rbx*4+rax]", "8[rax]", "[rax][rbx*2]",
        "[rax+8]+[rcx]", "[rax+K]", "[rax+K*2+1]", "[rax*1]", "[rax+rsp]", "[rbp+KBIG]", "fs:0x28", "[rax-SMALL]",
    ];

    static readonly string[] Immediates = ["0", "1", "0x7f", "0x80", "-128", "-129", "0xff", "0x7fff", "-1", "0x7fffffff", "K", "LATER", "offset SMALL"];

    static List<(int Bitness, string Line)> Forms()
    {
        var forms = new List<(int, string)>();
        void Add(string line) => forms.Add((64, line));

        foreach (var op in Alu.Append("mov").Append("test"))
        {
            for (int s = 0; s < Sizes.Length; s++)
            {
                var regs = Registers[Sizes[s]];
                Add($"{op} {regs[0]}, {regs[1]}");
                Add($"{op} {regs[^1]}, {regs[0]}");
                Add($"{op} {regs[2]}, {regs[^2]}");
                foreach (var imm in Immediates.Where((_, i) => i % 2 == s % 2))
                    Add($"{op} {regs[s % regs.Length]}, {imm}");
                foreach (var m in Memory64.Where((_, i) => i % 4 == s))
                {
                    Add($"{op} {Sizes[s]} ptr {m}, {regs[0]}");
                    if (op != "test")
                        Add($"{op} {regs[^1]}, {m}");
                    Add($"{op} {Sizes[s]} ptr {m}, 0x11");
                }
            }
            Add($"{op} eax, 0xffffffff");
            Add($"{op} bx, 0xffff");
            Add($"{op} ebx, 0xffffff80");
            Add($"{op} al, 0x80");
        }
        foreach (var m in Memory64)
            Add($"mov ecx, dword ptr {m}");
        foreach (var m in Memory64.Where(m => !m.Contains("rip")))
            Add($"lea rax, {m}");

        foreach (var line in (string[])
        [
            "mov rax, 0xffffffff", "mov rax, -1", "mov rax, 0x123456789", "mov r9, 0x123456789abcdef0", "movabs rax, 1",
            "movabs eax, [0x1000]", "movabs [0x1122334455667788], al", "movabs rax, [0x10]", "mov eax, K", "mov eax, KBIG",
            "mov eax, offset K", "mov rax, offset LATER", "mov eax, fwd - back", "mov eax, LATER", "mov eax, [LATER]",
            "mov ax, es", "mov eax, es", "mov rax, ds", "mov ds, ax", "mov ss, eax", "mov fs, rax", "mov word ptr [rax], ds",
            "mov gs, word ptr [rax]", "mov r9d, cs", "mov rax, cr0", "mov cr0, rax", "mov rdx, cr2", "mov cr3, rbx", "mov r8, cr4",
            "mov cr4, r9", "mov cr8, rax", "mov rcx, cr8", "mov rax, dr0", "mov dr7, rax", "mov r11, dr6", "mov dr3, r12",
            "xchg ebx, eax", "xchg eax, ebx", "xchg ecx, ebx", "xchg r8, rax", "xchg ax, bx", "xchg bl, al",
            "xchg qword ptr [rbx], rax", "xchg ecx, dword ptr [rbx]", "lock xchg dword ptr [rdx], eax", "test dword ptr [rbx], eax",
            "nop", "nop dword ptr [rax]", "nop word ptr [rax+rax*1+0]", "nop dword ptr [rax+0x80]", "nop ax", "pause", "hlt",
            "ret", "ret 8", "leave", "cli", "sti", "clc", "stc", "cmc", "cld", "std", "lahf", "sahf", "int3", "int 3", "int 0x80",
            "int K", "int1", "ud2", "cpuid", "rdtsc", "rdtscp", "rdmsr", "wrmsr", "swapgs", "syscall", "sysretq", "sysenter",
            "sysexitq", "iretq", "iretd", "retf", "retf 8", "lret", "clts", "wbinvd", "invd", "stac", "clac", "lfence", "sfence",
            "mfence", "rdpid rax", "rdfsbase rax", "rdgsbase ecx", "wrfsbase r8", "wrgsbase edx", "invlpg [rax]", "invlpg [0x1000]",
            "invlpg byte ptr [rbx+LATER]", "invpcid rbx, [rax]", "invpcid r9, xmmword ptr [rsp+8]", "lgdt [rax]", "lidt [rbx+0x10]",
            "sgdt [rax]", "sidt [LATER]", "lldt ax", "lldt word ptr [rax]", "sldt eax", "sldt ax", "sldt word ptr [rax]", "ltr ax",
            "ltr word ptr [rbx]", "str eax", "str ax", "str word ptr [rax]", "lmsw ax", "lmsw word ptr [rax]", "smsw eax", "smsw ax",
            "smsw rax", "verr ax", "verr word ptr [rax]", "verw cx", "lar eax, ax", "lar ecx, word ptr [rax]", "lar rax, ax",
            "lsl eax, eax", "lsl ecx, ax", "lsl r9, word ptr [rax]",
            "push rax", "push r8", "push r15", "pop rbx", "pop r12", "push ax", "pop dx", "push 0", "push 1", "push 0x7f", "push 0x80",
            "push -128", "push -129", "push 0x7fffffff", "push LATER", "push offset LATER", "push qword ptr [rax]", "push word ptr [rax]",
            "pop qword ptr [rax]", "pop qword ptr [rsp+8]", "push fs", "push gs", "pop fs", "pop gs", "pushf", "popf", "pushfq",
            "popfq", "enter 0x10, 0", "enter 0, 0", "enter 0x1234, 3",
            "cbw", "cwde", "cdqe", "cwd", "cdq", "cqo",
            "movzx eax, al", "movzx ax, al", "movzx rax, al", "movzx eax, ax", "movzx r9, ax", "movzx ecx, byte ptr [rax]",
            "movzx edx, word ptr [rbx+2]", "movzx r15, r8b", "movsx eax, al", "movsx ax, al", "movsx rax, sil", "movsx eax, ax",
            "movsx r9, ax", "movsx ecx, byte ptr [rax]", "movsx esi, word ptr [rbp+8]", "movsx rax, word ptr [rax]",
            "movsxd rax, eax", "movsxd r8, dword ptr [rax]", "movbe eax, dword ptr [rax]", "movbe qword ptr [rdx], rcx",
            "movbe ax, word ptr [rbx+2]", "bswap eax", "bswap rax", "bswap r8d", "bswap r15",
            "cmpxchg dword ptr [rbx], eax", "cmpxchg bl, al", "lock cmpxchg qword ptr [rdx+8], rcx", "cmpxchg word ptr [rax], r9w",
            "cmpxchg8b qword ptr [rax]", "lock cmpxchg8b qword ptr [rdi]", "cmpxchg16b xmmword ptr [rax]",
            "lock cmpxchg16b xmmword ptr [rsi+0x10]", "xadd ebx, eax", "lock xadd qword ptr [rcx], rax", "xadd byte ptr [rbx], al",
            "xlat", "xlatb", "xlat byte ptr [rbx]",
            "movsb", "movsw", "movsd", "movsq", "stosb", "stosw", "stosd", "stosq", "lodsb", "lodsw", "lodsd", "lodsq", "scasb",
            "scasw", "scasd", "scasq", "cmpsb", "cmpsw", "cmpsd", "cmpsq", "insb", "insw", "insd", "outsb", "outsw", "outsd",
            "rep movsb", "rep movsq", "rep stosb", "rep stosd", "rep stosq", "repe cmpsb", "repz cmpsq", "repne scasb", "repnz scasd",
            "rep lodsb", "rep insb", "rep outsw", "addr32 movsb", "fs movsb", "lock inc dword ptr [rax]",
            "movs byte ptr [rdi], byte ptr [rsi]", "movs qword ptr es:[rdi], qword ptr fs:[rsi]", "stos byte ptr [rdi], al",
            "lods eax, dword ptr [rsi]", "scas al, byte ptr [rdi]", "cmps byte ptr [rsi], byte ptr [rdi]",
            "movsd dword ptr [rdi], dword ptr [rsi]", "ins byte ptr [rdi], dx", "outs dx, word ptr [rsi]",
            "in al, 0x60", "in ax, 0x60", "in eax, 0x60", "in al, dx", "in ax, dx", "in eax, dx", "out 0x80, al", "out 0x80, ax",
            "out 0xff, eax", "out dx, al", "out dx, ax", "out dx, eax",
            "call rax", "call r11", "call qword ptr [rax]", "call qword ptr [rbx+rcx*8+8]", "call qword ptr [rip+0x10]",
            "call qword ptr gs:[0x10]", "call [rax]", "jmp rax", "jmp r11", "jmp qword ptr [rax]", "jmp [rbx]", "jmp qword ptr [0x1000]",
            "jmp qword ptr [rax*8+LATER]", "jmp qword ptr fs:[rax]", "jmp [rip+back]",
            "jmp fword ptr [rax]", "call fword ptr [rax]", "ljmp [rbx]", "lcall [rax+8]", "jmp dword ptr [rax]",
            "call far ptr [rdx]",
            "jmp back", "jmp fwd", "call back", "call fwd", "jmp short back", "jmp near ptr fwd",
            "andn ecx, ebx, eax", "andn r9, r8, qword ptr [rax]", "bextr ecx, ebx, eax", "bextr rdx, qword ptr [rax], r8",
            "blsi ebx, eax", "blsi r9, qword ptr [rax]", "blsmsk edx, ecx", "blsmsk r11, r10", "blsr ebx, eax",
            "blsr rax, qword ptr [rsp+8]", "bzhi ecx, ebx, eax", "bzhi r10, qword ptr [rax], r9", "mulx ecx, ebx, eax",
            "mulx r9, r8, qword ptr [rax]", "pdep ecx, ebx, eax", "pdep r9, r8, qword ptr [rax]", "pext ecx, ebx, eax",
            "pext r14, r13, r12", "rorx ebx, eax, 3", "rorx r9, qword ptr [rax], 0x3f", "sarx ecx, ebx, eax",
            "sarx r10, qword ptr [rax], r9", "shlx ecx, ebx, eax", "shlx r13, r14, r15", "shrx ecx, ebx, eax",
            "shrx rcx, qword ptr [rbx+8], rax", "lzcnt ebx, eax", "lzcnt r9, qword ptr [rax]", "tzcnt bx, ax", "tzcnt rdx, rcx",
            "popcnt ebx, eax", "popcnt rcx, qword ptr [rax]", "bsf ebx, eax", "bsf r9w, word ptr [rax]", "bsr rdx, rcx",
            "bsr esi, dword ptr [rbx+4]",
            // Intel spellings: expressions inside and outside brackets, default and explicit segments, letter case.
            // Left out until the selector does as GNU as does, in either syntax: "mov eax, [rip]" (no displacement
            // written is displacement 0: gas 8b0500000000, ours takes address 0 as the target).
            "mov eax, [4*rbx]", "mov eax, [rax+(rbx*2)]", "lea rax, qword ptr [rbx]", "mov eax, ds:[rax]", "mov eax, ss:[rbp]",
            "mov eax, cs:[rax]", "mov eax, ss:[rax]", "mov eax, ds:[rbp]", "jmp far ptr [rax]", "MOV EAX, DWORD PTR [RBX]",
            "Add Eax, Offset K", "mov al, 'a'", "call qword ptr [rip+0x20]", "mov eax, [eip+8]",
            "mov eax, [rax+rbx*2+K-1]", "mov eax, dword ptr [rax+K*4]", "add dword ptr [rax], 'b'", "mov eax, (1 << 4) | 3",
            "mov ecx, 10 * 3 + 2", "and eax, ~0xf", "mov eax, -(1)", "mov eax, [rax + rbx * 4 + 0x10]",
            "jmp qword ptr [rax+rbx*8+0x100]", "mov rax, qword ptr gs:[0]", "mov qword ptr gs:0x28, rax", "mov eax, [rsp + 8 + 4]",
            "mov eax, [r12 + r13*2]", "mov byte ptr [rax], -1", "mov word ptr [rax], 0xffff", "mov qword ptr [rax], -1",
            "push qword ptr [rip+0x10]", "pop qword ptr fs:[rax]", "xchg [rax], eax", "bt dword ptr [rax], 31",
            "mov eax, [rbp + rax]", "mov eax, [rbp*2]", "mov eax, dword ptr 5", "mov eax, K + 1", "mov eax, [K]", "push K",
            "jmp short 1f", "jmp near ptr 1b", "call 1f", "mov eax, fwd - back", "lea rax, [rip + fwd]", "jmp [rip + fwd]",
            "mov eax, LATER + K", "mov eax, K + LATER - 1", "mov eax, (LATER)", "mov eax, LATER - SMALL", "push LATER + KBIG",
            "mov eax, OFFSET FLAT:K", "mov eax, DWORD PTR FLAT:K", "lea rax, fwd[rip]", "lea rax, back[rip]", "mov eax, KBIG[rbx]",
            "mov rcx, qword ptr [rsp + rax*8 - 8]", "cmp byte ptr [rdi + rcx], 0", "movzx eax, byte ptr [rsi + rdx]",
        ])
            Add(line);

        foreach (var op in (string[])["inc", "dec", "neg", "not", "mul", "div", "imul", "idiv"])
            foreach (var s in Sizes)
            {
                Add($"{op} {Registers[s][0]}");
                Add($"{op} {Registers[s][^1]}");
                Add($"{op} {s} ptr [rax]");
                Add($"{op} {s} ptr [rbx+rcx*2+0x80]");
            }
        foreach (var s in Sizes.Skip(1))
        {
            var r = Registers[s];
            Add($"imul {r[0]}, {r[1]}");
            Add($"imul {r[^1]}, {s} ptr [rax]");
            foreach (var imm in (string[])["1", "0x7f", "0x80", "-128", "-129", "offset SMALL"])
            {
                Add($"imul {r[0]}, {imm}");
                Add($"imul {r[^1]}, {r[1]}, {imm}");
                Add($"imul {r[2]}, {s} ptr [rax], {imm}");
            }
        }

        foreach (var op in (string[])["rol", "ror", "rcl", "rcr", "shl", "sal", "shr", "sar"])
            foreach (var s in Sizes)
            {
                var r = Registers[s];
                Add($"{op} {r[0]}");
                Add($"{op} {r[^1]}, 1");
                Add($"{op} {r[0]}, 2");
                Add($"{op} {r[^1]}, cl");
                Add($"{op} {s} ptr [rax], 1");
                Add($"{op} {s} ptr [rbx+rcx], 5");
                Add($"{op} {s} ptr [rax], cl");
                Add($"{op} {r[0]}, offset SMALL");
            }
        foreach (var op in (string[])["shld", "shrd"])
            foreach (var s in Sizes.Skip(1))
            {
                var r = Registers[s];
                Add($"{op} {r[1]}, {r[0]}, 4");
                Add($"{op} {r[0]}, {r[^1]}, cl");
                Add($"{op} {s} ptr [rax], {r[0]}, 1");
                Add($"{op} {s} ptr [rbx+8], {r[1]}, cl");
            }
        foreach (var op in (string[])["bt", "bts", "btr", "btc"])
            foreach (var s in Sizes.Skip(1))
            {
                var r = Registers[s];
                Add($"{op} {r[0]}, {r[1]}");
                Add($"{op} {s} ptr [rax], {r[0]}");
                Add($"{op} {r[^1]}, 3");
                Add($"{op} {s} ptr [rbx], 0x1f");
            }

        string[] conditions = ["o", "no", "b", "c", "nae", "ae", "nb", "nc", "e", "z", "ne", "nz", "be", "na", "a", "nbe", "s", "ns",
                               "p", "pe", "np", "po", "l", "nge", "ge", "nl", "le", "ng", "g", "nle"];
        foreach (var cc in conditions)
        {
            Add($"set{cc} al");
            Add($"set{cc} byte ptr [rax]");
            Add($"cmov{cc} ebx, eax");
            Add($"cmov{cc} r9, qword ptr [rax]");
            Add($"j{cc} back");
            Add($"j{cc} fwd");
        }
        foreach (var line in (string[])["jrcxz 1b", "jecxz 1b", "loop 1b", "loope 1b", "loopne 1b", "loopz 1b", "loopnz 1b", "jmp 1b", "jne 1f"])
            Add(line);

        foreach (var line in (string[])
        [
            "add ebx, eax", "mov eax, 1", "mov dword ptr [0x1000], eax", "mov eax, dword ptr [0x1000]", "mov byte ptr [0x10], al",
            "mov ax, word ptr [0x10]", "mov ebx, dword ptr [eax]", "mov eax, dword ptr [ebx+ecx*4]", "mov eax, [ebp+8]",
            "mov eax, [esp-4]", "mov ax, [si]", "mov ax, [bx+si]", "mov ax, [si+bx]", "mov ebx, 0x12345678", "mov word ptr [eax], 1",
            "push eax", "pop ebx", "push ax", "push 1", "push 0x80", "push dword ptr [eax]", "push dword ptr [esp+4]", "push ds",
            "push cs", "push ss", "push es", "pop ds", "pop es", "pop ss", "pushf", "popf", "pushfd", "popfd", "pusha", "popa",
            "pushad", "popad", "daa", "das", "aaa", "aas", "aam", "aad", "aam 12", "aad 7", "into", "inc eax", "dec ecx", "inc ax",
            "dec di", "inc byte ptr [eax]", "leave", "ret", "ret 4", "retf", "retf 4", "iret", "iretd", "call eax",
            "call dword ptr [eax]", "jmp ecx", "jmp dword ptr [ebx]", "jmp 0x10:0x100000", "jmp 8:LATER", "call 0x10:0x1000",
            "jmp far ptr 0x10:0x2000", "ljmp 0x18:0x3000", "jmp fword ptr [eax]", "call fword ptr [eax+4]", "ljmp [eax]",
            "jmp back", "call back", "jne back", "jmp fwd", "je fwd", "jecxz 1b", "loop 1f",
            "mov eax, cr0", "mov cr0, eax", "mov cr3, eax", "mov ecx, cr4", "mov eax, dr7", "mov dr0, eax", "mov ds, ax",
            "mov ax, ds", "mov eax, ss", "lgdt [eax]", "lidt [0x1000]", "sgdt [eax]", "ltr ax", "lldt ax", "str ax", "sldt eax",
            "invlpg [eax]", "sysenter", "sysexit", "rdmsr", "wrmsr", "cpuid", "hlt", "cli", "sti", "int 0x80", "int3", "ud2",
            "rep movsb", "rep stosd", "repne scasb", "movsw", "lodsd", "lea eax, [eax+eax*2]", "lea ax, [bx+si]",
            "movzx eax, al", "movsx ax, byte ptr [eax]", "cwde", "cdq", "cbw", "cwd", "xchg ebx, eax", "nop",
            "in al, 0x60", "out dx, al", "mov dword ptr fs:[ebx], eax", "mov eax, dword ptr gs:[0x10]", "add al, 0x80",
            "add eax, 1", "add dword ptr [eax], 0x80", "sub eax, LATER", "shld ebx, eax, 3", "bswap ecx", "enter 8, 0",
            "mov dword ptr [eax], offset LATER", "mov eax, LATER", "mov eax, [LATER]", "mov eax, offset LATER", "call [ebx]", "jmp [eax+8]",
        ])
            forms.Add((32, line));

        foreach (var line in (string[])
        [
            "add bx, ax", "add ebx, eax", "mov ax, 1", "mov eax, 1", "mov word ptr [0x1000], ax", "mov al, byte ptr [0x10]",
            "mov ax, [bx]", "mov ax, [bx+si]", "mov ax, [bp+4]", "mov ax, [bp]", "mov cx, [bp+di+0x80]", "mov dl, [si-1]",
            "mov ax, [di]", "mov ax, [eax]", "mov ecx, [esp+8]", "mov ds, ax", "mov ax, ds", "push ax", "push eax", "pop bx",
            "push 1", "push 0x80", "push cs", "pop ds", "pushf", "popf", "pusha", "popa", "ret", "ret 2", "retf", "iret", "leave",
            "enter 4, 0", "call 1f", "jmp 1b", "jne 1b", "jcxz 1b", "call ax", "call word ptr [bx]", "jmp ax",
            "jmp word ptr [si]", "jmp 0x8:0x1000", "call 0x10:0x20", "jmp dword ptr [bx]", "lgdt [bx]", "lmsw ax", "smsw ax",
            "int 0x10", "cli", "hlt", "cbw", "cwd", "cwde", "cdq", "rep movsb", "rep stosw", "movsd", "lodsb", "in al, 0x60",
            "out 0x80, al", "xchg bx, ax", "lea ax, [bx+si]", "inc ax", "dec si", "inc word ptr [bx]", "add word ptr [bx], 1",
            "add byte ptr [bx+di], 1", "add ax, 0x80", "add eax, 0x80", "movzx ax, al", "movzx eax, al", "mov dword ptr [bx], 1",
            "sub ax, SMALL", "mov ax, [bx+SMALL]", "sub ax, offset SMALL", "mov ax, word ptr fs:[bx]", "mov dword ptr fs:[si+4], eax",
        ])
            forms.Add((16, line));
        return forms;
    }
}

/// <summary>Skips a test when GNU as, objcopy or nm is missing.</summary>
public sealed class GasIntelFactAttribute : FactAttribute
{
    static readonly string? MissingTools = QemuImage.Missing("as", "objcopy", "nm");

    public GasIntelFactAttribute()
    {
        if (MissingTools is not null)
            Skip = $"{MissingTools} not installed (.ci/run installs binutils)";
    }
}

/// <summary>
/// GNU as on Intel-syntax instruction lines, all in one run: "back:" before the first, a label "fN:" before each
/// line N, "fwd:" after the last, the known constants set at the top and the later ones at the end. Each line's
/// bytes are cut from the object's .text at its label's offset; there are no relocations to apply because every
/// label is local to .text and every other symbol is absolute.
/// </summary>
static class GasIntel
{
    public static (List<byte[]> Bytes, Dictionary<string, ulong> Labels) Assemble(IReadOnlyList<(int Bitness, string Line)> forms,
        IReadOnlyDictionary<string, long> known, IReadOnlyDictionary<string, long> later)
    {
        var (text, labels, errors) = Run(forms, known, later);
        if (errors.Count != 0)
            throw new InvalidOperationException("GNU as rejects corpus forms:\n" + string.Join("\n", errors.Select(e => $"{forms[e.Key].Line}: {e.Value}")));
        return (Cut(forms.Count, text!, labels), labels);
    }

    /// <summary>The forms GNU as accepts, and their bytes: a second run without the ones the first rejected.</summary>
    public static (List<(int Bitness, string Line)> Accepted, (List<byte[]> Bytes, Dictionary<string, ulong> Labels) Gas) AssembleAccepted(
        IReadOnlyList<(int Bitness, string Line)> forms, IReadOnlyDictionary<string, long> known, IReadOnlyDictionary<string, long> later)
    {
        var (_, _, errors) = Run(forms, known, later);
        var accepted = forms.Where((_, i) => !errors.ContainsKey(i)).ToList();
        return (accepted, Assemble(accepted, known, later));
    }

    static List<byte[]> Cut(int count, byte[] text, Dictionary<string, ulong> labels)
        => Enumerable.Range(0, count).Select(i => text[(int)labels[$"f{i}"]..(int)labels[$"f{i + 1}"]]).ToList();

    /// <summary>One GNU as run: the .text bytes and labels, or the errors it gave, by form index.</summary>
    static (byte[]? Text, Dictionary<string, ulong> Labels, Dictionary<int, string> Errors) Run(IReadOnlyList<(int Bitness, string Line)> forms,
        IReadOnlyDictionary<string, long> known, IReadOnlyDictionary<string, long> later)
    {
        var source = new StringBuilder().AppendLine(".intel_syntax noprefix");
        foreach (var (name, value) in known)
            source.AppendLine($".set {name}, {value}");
        source.AppendLine("back:");
        var formOfLine = new Dictionary<int, int>();
        int lines = 2 + known.Count;
        int bitness = 64;
        for (int i = 0; i < forms.Count; i++)
        {
            if (forms[i].Bitness != bitness)
            {
                source.AppendLine($".code{bitness = forms[i].Bitness}");
                lines++;
            }
            // A numeric label either side, for the forms that jump to 1b and 1f.
            source.AppendLine($"1: f{i}: {forms[i].Line}");
            formOfLine[++lines] = i;
        }
        source.AppendLine($"1: f{forms.Count}:").AppendLine("fwd:");
        foreach (var (name, value) in later)
            source.AppendLine($".set {name}, {value}");

        string dir = Directory.CreateTempSubdirectory("repl-gas-intel-").FullName;
        try
        {
            string s = Path.Combine(dir, "corpus.s"), o = Path.Combine(dir, "corpus.o"), bin = Path.Combine(dir, "text.bin");
            File.WriteAllText(s, source.ToString());
            var (_, stderr, status) = QemuImage.Execute("as", ["--64", "-o", o, s], TimeSpan.FromSeconds(60));
            var labels = new Dictionary<string, ulong>();
            if (status != 0)
            {
                var errors = new Dictionary<int, string>();
                foreach (var message in Encoding.UTF8.GetString(stderr).Split('\n'))
                    if (message.Split(':', 4) is [_, var line, " Error", var text] && formOfLine.TryGetValue(int.Parse(line), out int form))
                        errors.TryAdd(form, text.Trim());
                return (null, labels, errors.Count > 0 ? errors : throw new InvalidOperationException(Encoding.UTF8.GetString(stderr)));
            }
            QemuImage.Tool("objcopy", ["-O", "binary", "-j", ".text", o, bin]);
            var (symbols, _, _) = QemuImage.Execute("nm", [o], TimeSpan.FromSeconds(30));
            foreach (var symbol in Encoding.UTF8.GetString(symbols).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                if (symbol.Split(' ') is [var address, "t", var name])
                    labels[name] = Convert.ToUInt64(address, 16);
            return (File.ReadAllBytes(bin), labels, []);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
