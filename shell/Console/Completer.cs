using System.Reflection;
using RadLine;

namespace Repl.Shell.Interactive;

/// <summary>
/// Tab completion. The editor hands over the blank-delimited word under the cursor and the text before it, which
/// <see cref="InputRule"/> reads as the loop will: after a command, the word is that command's argument and the
/// command says what goes there (a subcommand, a register group, an MSR, a symbol, a file); at the start of a line it
/// may be a command name or C#; in C#, the identifier or dotted path at the word's end (after any <c>(</c>, <c>,</c>
/// or <c>*</c>, which are kept, so that <c>Print(Cpu.Ra</c> completes to <c>Print(Cpu.Rax</c>) is one of the globals
/// or, after a dot, a member found by reflection; inside <c>Sym["</c>, a symbol.
/// </summary>
public sealed class Completer(ICommandRunner commands, ICodeRunner code) : ITextCompletion
{
    public IEnumerable<string> GetCompletions(string prefix, string word, string suffix)
    {
        var line = InputRule.Classify(prefix, commands.Names.Contains);
        var candidates = line.Kind switch
        {
            InputKind.Command => commands.Arguments(line.Text, word),
            // Nothing before the word but perhaps a forcing ':' or '>': a command name goes there, unless '>' forces C#.
            InputKind.Empty => CSharp(word, withCommandNames: !prefix.TrimStart().StartsWith(InputRule.ForceCSharp)),
            _ => CSharp(word, withCommandNames: false),
        };
        return candidates.Distinct().Order(StringComparer.Ordinal);
    }

    IEnumerable<string> CSharp(string word, bool withCommandNames)
    {
        // Inside Sym["...": the program's symbols, the ones a location of break's may name.
        int key = word.LastIndexOf(SymbolKey, StringComparison.Ordinal) + SymbolKey.Length;
        if (key >= SymbolKey.Length && word.IndexOf('"', key) < 0)
            return commands.Arguments("break", word[key..]).Select(symbol => word[..key] + symbol);

        int tailStart = word.Length;
        while (tailStart > 0 && IsPathChar(word[tailStart - 1]))
            tailStart--;
        string lead = word[..tailStart], tail = word[tailStart..];

        int dot = tail.LastIndexOf('.');
        IEnumerable<string> candidates;
        if (dot >= 0)
        {
            string path = tail[..(dot + 1)];
            candidates = MemberType(path[..^1]) is { } type ? MemberNames(type).Select(m => path + m) : [];
        }
        else
            candidates = withCommandNames ? commands.Names.Concat(MemberNames(code.GlobalsType)) : MemberNames(code.GlobalsType);
        return candidates.Where(c => c.StartsWith(tail, StringComparison.Ordinal)).Select(c => lead + c);
    }

    const string SymbolKey = "Sym[\"";

    static bool IsPathChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '.';

    /// <summary>The type a dotted path of globals' members leads to (Cpu.Cs is the segment type), or null.</summary>
    Type? MemberType(string path)
    {
        Type? type = code.GlobalsType;
        foreach (string name in path.Split('.'))
            type = type?.GetMember(name, MemberTypes.Property | MemberTypes.Field, BindingFlags.Public | BindingFlags.Instance).FirstOrDefault() switch
            {
                PropertyInfo p => p.PropertyType,
                FieldInfo f => f.FieldType,
                _ => null,
            };
        return type;
    }

    /// <summary>What a user can write after a dot: properties, fields, methods and events (On.Syscall += ...), without
    /// object's own and without compiler-made names (accessors, indexers, operators).</summary>
    static IEnumerable<string> MemberNames(Type type) =>
        type.GetMembers(BindingFlags.Public | BindingFlags.Instance)
            .Where(m => m.DeclaringType != typeof(object)
                        && m is PropertyInfo { Name: not "Item" } or FieldInfo or MethodInfo { IsSpecialName: false } or EventInfo)
            .Select(m => m.Name);
}
