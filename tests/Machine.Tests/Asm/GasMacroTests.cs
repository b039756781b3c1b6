using System.Text;
using System.Text.RegularExpressions;
using Repl.Machine.Asm;
using Repl.Qemu;
using Xunit.Abstractions;

namespace Repl.Machine.Tests.Asm;

/// <summary>
/// Macros, repetitions and conditionals against GNU as 2.40 + ld: each source is assembled by both and the images
/// must be identical, so what the preprocessor hands on is what GNU as would have assembled.
/// </summary>
public class GasMacroTests(ITestOutputHelper output)
{
    /// <summary>Sources built from data directives, so they test the preprocessor and not instruction encoding.</summary>
    public static IEnumerable<(string Name, string Source)> DataSources()
    {
        yield return ("positional arguments", ".macro pair a, b\n.byte \\a, \\b\n.endm\n.data\npair 1, 2\npair 3 4\n");
        yield return ("keyword arguments", ".macro pair a, b\n.byte \\a, \\b\n.endm\n.data\npair b=1, a=2\npair b=5 a=6\npair 7, b=8\npair 3, b = 9\n");
        yield return ("defaults", ".macro m a=5 b=6\n.byte \\a, \\b\n.endm\n.data\nm\nm 1\nm ,2\nm b=3\n");
        yield return ("quoted default and argument", ".macro s t=\"x y\"\n.ascii \"\\t\"\n.endm\n.data\ns\ns \"a, b\"\ns \"q\\\"r\"\n");
        yield return ("vararg", ".macro bytes first, rest:vararg\n.byte \\first\n.byte \\rest\n.endm\n.data\nbytes 1, 2, 3, 4\nbytes 5\n");
        yield return ("required", ".macro r a:req, b=2\n.byte \\a, \\b\n.endm\n.data\nr 1\nr 3, 4\n");
        yield return ("expressions as arguments", ".macro m a b\n.byte \\a\n.byte \\b\n.endm\n.data\nm 1 + 2, 3\nm 1 -2\nm (4*2), 1\nm 1 (2)\nm 1+2 3\n");
        yield return ("backslash at numbers expansions", ".macro lbl\nL\\@: .byte \\@\n.endm\n.data\nlbl\nlbl\n.rept 2\nlbl\n.endr\n.long L0, L1, L3\n");
        yield return ("backslash parens separate", ".macro fld n\nfield\\n\\()_x: .byte \\n\n.endm\n.data\nfld 1\nfld 2\n.long field1_x, field2_x\n");
        yield return ("parameter substituted inside strings", ".macro name n\n.asciz \"reg_\\n\"\n.endm\n.data\nname rax\nname r15\n");
        yield return ("longest parameter name wins", ".macro m a ab\n.byte \\ab, \\a\n.endm\n.data\nm 1 2\n");
        yield return ("case-insensitive macro names", ".macro Emit v\n.byte \\v\n.endm\n.data\nemit 1\nEMIT 2\nEmit 3\n");
        yield return ("label before invocation", ".macro two\n.byte 2, 2\n.endm\n.data\nhere: two\nthere: two\n.long here, there\n");
        yield return ("numeric labels in a macro", ".macro loopish\n1: .byte 1b - .\n.long 1b\n.endm\n.data\nloopish\nloopish\n");
        yield return ("nested invocation", ".macro inner x\n.byte \\x\n.endm\n.macro outer x\ninner \\x\ninner \\x+1\n.endm\n.data\nouter 5\n");
        yield return ("macro defining a macro", ".macro maker name, v\n.macro \\name\n.byte \\v\n.endm\n.endm\n.data\nmaker one, 1\nmaker two, 2\none\ntwo\n");
        yield return ("recursion with a counter", ".macro down n\n.byte \\n\n.if \\n\ndown \\n-1\n.endif\n.endm\n.data\ndown 5\n");
        yield return ("deep recursion", ".macro deep n\n.if \\n\ndeep \\n-1\n.else\n.byte 0xdd\n.endif\n.endm\n.data\ndeep 100\n");
        yield return ("exitm", ".macro m n\n.byte 1\n.if \\n\n.exitm\n.endif\n.byte 2\n.endm\n.data\nm 0\nm 1\n.byte 3\n");
        yield return ("purgem and redefine", ".macro m\n.byte 1\n.endm\n.data\nm\n.purgem m\n.macro m\n.byte 2\n.endm\nm\n");
        yield return ("rept", ".data\n.rept 3\n.byte 7\n.endr\n.rept 0\n.byte 8\n.endr\n");
        yield return ("rept with symbol count", ".data\nN = 4\n.rept N * 2 - 5\n.short N\n.endr\n");
        yield return ("nested rept", ".data\n.rept 2\n.byte 1\n.rept 3\n.byte 2\n.endr\n.endr\n");
        yield return ("rept with counter symbol", ".data\ni = 0\n.rept 5\n.byte i * i\ni = i + 1\n.endr\n");
        yield return ("irp", ".data\n.irp v, 1, 2, 3\n.byte \\v * 2\n.endr\n.irp w 4 5\n.short \\w\n.endr\n");
        yield return ("irp without values", ".data\n.irp v\n.byte 9\\v\n.endr\n");
        yield return ("irpc", ".data\n.irpc c, 135\n.byte \\c\n.endr\n.irpc c, abc\n.ascii \"\\c\\c\"\n.endr\n");
        yield return ("irp inside a macro", ".macro table args:vararg\n.irp a, \\args\n.long \\a\n.endr\n.endm\n.data\ntable 1, 2, 3\n");
        yield return ("rept inside a macro sees its arguments", ".macro fill n, v\n.rept \\n\n.byte \\v\n.endr\n.endm\n.data\nfill 3, 0xaa\nfill 1, 0xbb\n");
        yield return ("if and else", ".data\n.if 1\n.byte 1\n.else\n.byte 2\n.endif\n.if 0\n.byte 3\n.else\n.byte 4\n.endif\n");
        yield return ("elseif chain", ".data\nX = 2\n.if X == 1\n.byte 1\n.elseif X == 2\n.byte 2\n.elseif X == 2\n.byte 3\n.else\n.byte 4\n.endif\n");
        yield return ("comparison family",
            ".data\n.ifeq 0\n.byte 1\n.endif\n.ifne 0\n.byte 2\n.endif\n.ifge -1\n.byte 3\n.endif\n.ifgt 1\n.byte 4\n.endif\n" +
            ".ifle 0\n.byte 5\n.endif\n.iflt 0\n.byte 6\n.endif\n.iflt -5\n.byte 7\n.endif\n");
        yield return ("ifdef and ifndef", ".data\ndefined_here: .byte 0\n.ifdef defined_here\n.byte 1\n.endif\n.ifndef nowhere\n.byte 2\n.endif\n.ifnotdef defined_here\n.byte 3\n.endif\n.ifdef DEF\n.byte 4\n.endif\n");
        yield return ("ifb and ifnb on arguments", ".macro opt a\n.ifb \\a\n.byte 0\n.else\n.byte \\a\n.endif\n.ifnb \\a\n.byte 0xff\n.endif\n.endm\n.data\nopt\nopt 5\n");
        yield return ("ifc and ifnc", ".macro kind k\n.ifc \\k,byte\n.byte 1\n.endif\n.ifnc \\k,byte\n.short 2\n.endif\n.endm\n.data\nkind byte\nkind word\n.ifc a  b , a b\n.byte 3\n.endif\n.ifc ,\n.byte 5\n.endif\n.ifc a,b,c\n.byte 6\n.endif\n.ifc A,a\n.byte 4\n.endif\n");
        yield return ("ifeqs and ifnes", ".data\n.ifeqs \"abc\", \"abc\"\n.byte 1\n.endif\n.ifnes \"abc\",\"abd\"\n.byte 2\n.endif\n.ifeqs \"a\",\"b\"\n.byte 3\n.endif\n");
        yield return ("nested conditionals", ".data\n.if 1\n.if 0\n.byte 1\n.elseif 1\n.byte 2\n.endif\n.else\n.if 1\n.byte 3\n.endif\n.endif\n");
        yield return ("skipped region holds an error and a bad expression", ".data\n.if 0\n.error \"never\"\n.if undefined_symbol\n.endif\n.rept nonsense\n.endr\n.endif\n.byte 1\n");
        yield return ("skipped region holds an unfinished macro", ".data\n.if 0\n.macro half\n.endif\n.byte 1\n");
        yield return ("conditional on a label difference", ".data\na: .byte 1, 2\nb:\n.if b - a == 2\n.byte 3\n.endif\n");
        yield return ("comments and separators around macros", ".macro m a # a comment\n.byte \\a ; .byte \\a+1 /* two */\n.endm\n.data\nm 1 ; m 5 # done\n/* m 9 */\n");
        yield return ("character constants with comment characters", ".data\n.byte '#, ';, '/\n.byte '#' ; .byte 2\n");
        yield return ("end stops assembly", ".data\n.byte 1\n.end\n.byte 2\n");
        yield return ("nested irp", ".data\n.irp a, 1, 2\n.irp b, 3, 4\n.byte \\a * 10 + \\b\n.endr\n.endr\n");
        yield return ("irpc in macro", ".macro digits s\n.irpc d, \\s\n.byte \\d\n.endr\n.endm\n.data\ndigits 314\n");
        yield return ("at in irp in macro", ".macro m\n.irp x, 1, 2\nL\\@_\\x: .byte \\x\n.endr\n.endm\n.data\nm\nm\n.long L0_1, L1_2\n");
        yield return ("rept shift count", ".data\n.rept 0x10 >> 2\n.byte 1\n.endr\n");
        yield return ("ifdef forward", ".data\n.ifdef later\n.byte 1\n.else\n.byte 2\n.endif\nlater: .byte 3\n.ifdef later\n.byte 4\n.endif\n");
        yield return ("macro name used as a label", ".macro m\n.byte 1\n.endm\n.data\nm: .byte 2\nm\n.long m\n");
        yield return ("quoted keyword value", ".macro m a\n.ascii \"\\a\"\n.endm\n.data\nm a=\"1, 2\"\n");
        yield return ("irp quoted values with commas", ".data\n.irp s, \"a,b\", \"c d\"\n.ascii \"\\s\"\n.endr\n");
        yield return ("empty macro", ".macro nothing\n.endm\n.data\nnothing\n.byte 1\n");
        yield return ("exitm in inner macro only", ".macro inner\n.byte 1\n.exitm\n.byte 2\n.endm\n.macro outer\ninner\n.byte 3\n.endm\n.data\nouter\n");
        yield return ("rept in irp in macro", ".macro m n\n.irp v, 1, 2\n.rept \\n\n.byte \\v\n.endr\n.endr\n.endm\n.data\nm 2\n");
        yield return ("ifc with quoted arg", ".macro m x\n.ifc \\x,a b\n.byte 1\n.else\n.byte 2\n.endif\n.endm\n.data\nm \"a b\"\nm a\n");
        yield return ("ifnb on empty quoted", ".macro m x\n.ifnb \\x\n.byte 1\n.else\n.byte 2\n.endif\n.endm\n.data\nm \"\"\nm\n");
        yield return ("elseif after taken branch is not evaluated", ".data\n.if 1\n.byte 1\n.elseif undefined_thing\n.byte 2\n.endif\n");
        yield return ("brackets split at commas", ".macro m a, b, c\n.ascii \"|\\a|\\b|\\c|\"\n.endm\n.data\nm (1, 2), 3\nm [1, 2] 3\nm (1 2) 3\n");
        yield return ("tab separated args", ".macro m a, b\n.byte \\a, \\b\n.endm\n.data\nm\t1\t2\n");
        yield return ("uppercase directives", ".data\n.MACRO M A\n.BYTE \\A\n.ENDM\nM 5\n.REPT 2\n.BYTE 6\n.ENDR\n.IF 1\n.BYTE 7\n.ELSE\n.BYTE 8\n.ENDIF\n");
        yield return ("macro label with backslash at", ".macro m\n.Lx\\@:\n.byte .Lx\\@ - .\n.endm\n.data\nm\nm\n");
        yield return ("keyword with same name as macro", ".macro val val\n.byte \\val\n.endm\n.data\nval val=3\nval 4\n");
        yield return ("vararg empty", ".macro m a, r:vararg\n.byte \\a\n.ifnb \\r\n.byte \\r\n.endif\n.endm\n.data\nm 1\nm 2, 3, 4\n");
        yield return ("default referencing expression", ".macro m a=1+2*3\n.byte \\a\n.endm\n.data\nm\n");
        yield return ("comment in invocation", ".macro m a\n.byte \\a\n.endm\n.data\nm 1 # 2\nm 3 /* 4 */\n");
        yield return ("semicolons in body", ".macro m a\n.byte \\a; .byte \\a+1\n.endm\n.data\nm 1; m 5\n");
        yield return ("if on negative", ".data\n.if -1\n.byte 1\n.endif\n.ifgt -1\n.byte 2\n.endif\n");
        yield return ("ifb with spaces", ".data\n.ifb    \n.byte 1\n.endif\n");
        yield return ("include of ifdef guard", ".data\n.ifndef GUARD\nGUARD = 1\n.byte 1\n.endif\n.ifndef GUARD\n.byte 2\n.endif\n");
        yield return ("rept body running past the macro end", ".data\n.macro m\n.rept 2\n.byte 1\n.endm\nm\n.byte 2\n.endr\n");
        yield return ("blanks squeezed as GNU as does", ".macro m a, b:vararg\n.ascii \"|\\a|\\b|\"\n.endm\n.data\nm 1,   2 ,  3    4 + 5 (  6  ) a(b)\nm (1   2)\nm x   -   y\nm %rax  ,  %rbx\n");
    }

    /// <summary>Sources with instructions, in the style of kernel entry code.</summary>
    public static IEnumerable<(string Name, string Source)> CodeSources()
    {
        yield return ("push and pop register lists",
            ".macro PUSH_REGS regs:vararg\n.irp r, \\regs\npushq %\\r\n.endr\n.endm\n" +
            ".macro POP_REGS regs:vararg\n.irp r, \\regs\npopq %\\r\n.endr\n.endm\n" +
            ".text\nPUSH_REGS rdi, rsi, rdx, rcx, rax, r8, r9, r10, r11\nPOP_REGS r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi\nret\n");
        yield return ("entry with an optional error code",
            ".macro idtentry sym, vector, has_error_code=0\n.globl \\sym\n\\sym:\n.if \\has_error_code == 0\npushq $-1\n.endif\n" +
            "pushq $\\vector\njmp common\n.endm\n.text\nidtentry divide_error, 0\nidtentry page_fault, 14, has_error_code=1\n" +
            "idtentry general_protection 13 1\ncommon: iretq\n");
        yield return ("local labels from backslash at",
            ".macro spin reg\nspin\\@: dec %\\reg\njnz spin\\@\n.endm\n.text\nspin ecx\nspin edx\nspin ecx\n");
        yield return ("numeric local labels in expansions",
            ".macro wait\n1: pause\ntestl $1, (%rdi)\njnz 1b\njmp 2f\nnop\n2:\n.endm\n.text\nwait\nwait\n");
        yield return ("suffix built with backslash parens",
            ".macro mov_sized size, src, dst\nmov\\size\\() \\src, \\dst\n.endm\n.text\nmov_sized q, %rax, %rbx\nmov_sized l, $5, %ecx\nmov_sized b, %al, (%rdi)\n");
        yield return ("conditional code on a defsym",
            ".text\n.ifdef DEF\nswapgs\n.endif\n.if DEF > 0x40\nmovq %cr3, %rax\n.else\nud2\n.endif\n.ifndef NOPE\nlfence\n.endif\n");
        yield return ("kpti style cr3 switch",
            ".macro SWITCH_TO_USER_CR3 scratch\nmovq %cr3, %\\scratch\norq $(1 << 12) | (1 << 11), %\\scratch\nmovq %\\scratch, %cr3\n.endm\n" +
            ".text\nSWITCH_TO_USER_CR3 rax\nSWITCH_TO_USER_CR3 r11\nsysretq\n");
        yield return ("relaxed jumps over a repeated body",
            ".text\nstart: jmp end\n.rept 30\nnop\n.endr\njz start\n.rept 100\nnop\n.endr\njz start\nend: ret\n");
        yield return ("irpc over register numbers",
            ".text\n.irpc n, 89\nxorl %r\\n\\()d, %r\\n\\()d\n.endr\n");
        yield return ("nested macros with exitm",
            ".macro maybe_cli flag\n.ifeq \\flag\n.exitm\n.endif\ncli\n.endm\n.macro entry name, flag\n\\name: maybe_cli \\flag\nret\n.endm\n.text\nentry a, 0\nentry b, 1\n");
        yield return ("macro named like an instruction", ".macro nop\n.byte 0x90, 0x90\n.endm\n.text\nnop\n");
        yield return ("irp over registers with prefix", ".text\n.irp r, ax, bx, cx\npush %r\\r\n.endr\n");
        yield return ("intel syntax inside a macro",
            ".intel_syntax noprefix\n.macro load reg, base, disp\nmov \\reg, [\\base + \\disp]\n.endm\n.text\nload rax, rbx, 8\nload ecx, rsp, 0x100\n.att_syntax\nret\n");
    }

    [GasFact]
    public void Macro_and_conditional_sources_assemble_to_the_same_image_as_gnu_as()
    {
        int compared = GasDirectiveTests.CompareAll(DataSources().Concat(CodeSources()), "DEF=0x41");
        string line = $"[gas-macros] {compared} sources compared";
        Console.WriteLine(line);
        output.WriteLine(line);
    }

    /// <summary>
    /// Random programs of three macros (parameters with and without defaults, bodies of .byte, .ascii, .if/.elseif/
    /// .else, .rept, .irp, .irpc, .ifb, .ifc, .exitm and \@ labels, each macro perhaps invoking the previous one) and
    /// a few invocations with positional or keyword arguments, separated by commas or blanks, some after labels.
    /// </summary>
    static string RandomProgram(Random random)
    {
        string Value() => random.Next(6) switch
        {
            0 => $"{random.Next(10)}", 1 => $"{random.Next(5)} + {random.Next(5)}", 2 => $"({random.Next(9)})",
            3 => $"-{random.Next(5)}", 4 => $"{random.Next(3)}*{random.Next(3)}", _ => $"0x{random.Next(16):x}",
        };
        int labels = 0;
        string Body(string[] parameters, int depth)
        {
            var body = new StringBuilder();
            for (int n = random.Next(1, 4); n > 0; n--)
            {
                string p = parameters.Length > 0 ? "\\" + parameters[random.Next(parameters.Length)] : Value();
                body.Append(random.Next(depth > 1 ? 3 : 12) switch
                {
                    3 => $".if {p} > {random.Next(4)}\n.byte 1\n.elseif {p} == 0\n.byte 2\n.else\n{Body(parameters, depth + 1)}.endif\n",
                    4 => $".rept {random.Next(3)}\n{Body(parameters, depth + 1)}.endr\n",
                    5 => $".irp v, {Value()}, {Value()}\n.byte \\v\n{Body(parameters, depth + 1)}.endr\n",
                    6 => $".ifb {p}\n.byte 9\n.else\n.byte {p}\n.endif\n",
                    7 => $".ifc {p},1\n.byte 7\n.endif\n",
                    // A label from \@ is unique per expansion, so never inside a repetition.
                    8 when depth == 0 => $"L\\@_{labels++}: .byte 0x\\@\\()1\n",
                    9 => $".irpc c, {random.Next(1000)}\n.byte \\c\n.endr\n",
                    10 => $".if {p} == {random.Next(3)}\n.exitm\n.endif\n",
                    11 => $".ascii \"<{p}>\"\n",
                    _ => $".byte {p}\n",
                });
            }
            return body.ToString();
        }
        var source = new StringBuilder(".data\n");
        var macros = new List<string[]>();
        for (int m = 0; m < 3; m++)
        {
            var parameters = Enumerable.Range(0, random.Next(4)).Select(i => $"p{i}").ToArray();
            string header = string.Join(random.Next(2) == 0 ? ", " : " ", parameters.Select(p => random.Next(2) == 0 ? $"{p}={random.Next(5)}" : p));
            source.Append($".macro m{m} {header}\n{Body(parameters, 0)}");
            if (m > 0 && random.Next(2) == 0)
                source.Append($"m{m - 1} {string.Join(", ", macros[m - 1].Select(_ => Value()))}\n");
            source.Append(".endm\n");
            macros.Add(parameters);
        }
        for (int n = random.Next(2, 8); n > 0; n--)
        {
            int m = random.Next(macros.Count);
            // The first few positionally, the rest by keyword in any order: keywords may not come before positions.
            int positional = random.Next(macros[m].Length + 1);
            var arguments = macros[m].Take(positional).Select(_ => Value())
                .Concat(macros[m].Skip(positional).OrderBy(_ => random.Next()).Select(p => $"{p}={Value()}")).ToList();
            string label = random.Next(4) == 0 ? $"l{n}: " : "";
            // Blanks separate arguments only between operands: "(4) p0=1" would be one argument, as in GNU as.
            string separator = random.Next(3) switch { 0 => ", ", 1 => ",", _ when arguments.All(a => !a.Contains(' ') && !a.EndsWith(')')) => " ", _ => ", " };
            source.Append($"{label}m{m} {string.Join(separator, arguments)}\n");
        }
        return source.Append(".byte 0xee\n").ToString();
    }

    [GasFact]
    public void Random_macro_programs_assemble_to_the_same_image_as_gnu_as()
    {
        var random = new Random(11);
        int compared = GasDirectiveTests.CompareAll(Enumerable.Range(0, 100).Select(i => ($"random program {i}", RandomProgram(random))));
        output.WriteLine($"[gas-random-macros] {compared} sources compared");
    }

    /// <summary>Sources GNU as rejects; the first error must be on the same line with the same words.</summary>
    public static IEnumerable<(string Name, string Source)> ErrorSources()
    {
        yield return ("missing required argument", ".macro m a:req\n.byte \\a\n.endm\nm\n");
        yield return ("non-constant if", ".data\n.if undefined_symbol\n.endif\n");
        yield return ("endif without if", ".data\n.endif\n");
        yield return ("else without if", ".data\n.else\n");
        yield return ("elseif without if", ".data\n.elseif 1\n");
        yield return ("duplicate else", ".if 1\n.else\n.else\n.endif\n");
        yield return ("elseif after else", ".if 1\n.else\n.elseif 1\n.endif\n");
        yield return ("macro defined twice", ".macro m\n.endm\n.macro m\n.endm\n");
        yield return ("unknown keyword", ".macro m a\n.endm\nm x=1\n");
        yield return ("too many arguments", ".macro m a\n.endm\nm 1, 2\n");
        yield return ("keyword then positional", ".macro m a, b\n.endm\nm b=1, 2\n");
        yield return ("parameter twice", ".macro m a, a\n.endm\n");
        yield return ("bad qualifier", ".macro m a:foo\n.endm\n");
        yield return ("missing macro name", ".data\n.macro\n.endm\n");
        yield return ("negative rept", ".data\n.rept -1\n.byte 1\n.endr\n");
        yield return ("rept of an unknown", ".data\n.rept n\n.byte 1\n.endr\n");
        yield return ("unterminated macro", ".data\n.macro m\n.byte 1\n");
        yield return ("irp without a symbol", ".data\n.irp 1, 2\n.endr\n");
        yield return ("unterminated irp", ".data\n.irp x, 1\n.byte \\x\n");
        yield return ("conditional open at macro end", ".macro m\n.if 1\n.endm\nm\n");
        yield return ("ifc without a comma", ".ifc a\n.endif\n");
        yield return ("ifdef of a number", ".ifdef 1\n.endif\n");
        yield return ("ifeqs without quotes", ".ifeqs a,\"a\"\n.endif\n");
        yield return ("runaway recursion", ".macro m\nm\n.endm\nm\n");
        yield return ("missing include", ".include \"does-not-exist.s\"\n");
        yield return ("error inside an expansion is on the body line", ".macro m\n.byte 1\n.if x\n.endif\n.endm\n.data\nm\n");
        yield return ("line marker", "# 40 \"in.S\"\n.data\n# 7 not a marker\n.if x\n.endif\n");
        yield return ("error directive selected", ".if 1\n.error \"chosen\"\n.else\n.error \"not chosen\"\n.endif\n");
    }

    [GasFact]
    public void Preprocessor_errors_are_on_the_line_and_in_the_words_of_gnu_as()
    {
        var failures = new StringBuilder();
        foreach (var (name, source) in ErrorSources())
        {
            var ours = Assembler.Assemble(source, new AsmOptions { FileName = "in.S" }).Diagnostics.FirstOrDefault(d => d.Severity == DiagnosticSeverity.Error);
            var theirs = FirstGasError(source);
            string? mine = ours is null ? null : $"{ours.Location.Line}: {ours.Message}";
            if (mine != theirs)
                failures.AppendLine($"{name}:\n  gas:  {theirs}\n  ours: {mine}");
        }
        Assert.True(failures.Length == 0, failures.ToString());
        output.WriteLine($"[gas-macro-errors] {ErrorSources().Count()} sources compared");
    }

    /// <summary>"LINE: MESSAGE" of GNU as's first error (fatal or not) for the source, or null when it accepts it.</summary>
    static string? FirstGasError(string source)
    {
        string dir = Directory.CreateTempSubdirectory("repl-gas-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "in.S"), source);
            var (_, stderr, _) = QemuImage.Execute("as", ["--64", "-o", Path.Combine(dir, "in.o"), Path.Combine(dir, "in.S")], TimeSpan.FromSeconds(30));
            var first = Regex.Match(Encoding.UTF8.GetString(stderr), @"in\.S:(\d+): (?:Fatal error|Error): (.*)");
            return first.Success ? $"{first.Groups[1].Value}: {first.Groups[2].Value}" : null;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
