using System.Reflection;
using RadLine;

namespace Repl.Shell.Interactive;

/// <summary>
/// Tab completion. The editor hands over the blank-delimited word under the cursor; its tail (the identifier or
/// dotted path being typed, after any <c>(</c>, <c>,</c> or <c>*</c>) is completed and the rest kept, so that
/// <c>Print(Cpu.Ra</c> completes to <c>Print(Cpu.Rax</c>. A first word, or the word after help, may be a command; any word may be a
/// register, an MSR, a symbol or one of the C# globals; a dotted path walks the globals' members by reflection.
/// </summary>
public sealed class Completer(ICommandRunner commands, ICodeRunner code) : ITextCompletion
{
    public IEnumerable<string> GetCompletions(string prefix, string word, string suffix)
    {
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
        {
            candidates = MemberNames(code.GlobalsType).Concat(commands.Operands);
            // A command name goes first on a line, and after help, which takes one.
            if ((prefix + lead).Trim() is "" or ":" or "help" or ":help")
                candidates = commands.Names.Concat(candidates);
        }
        return candidates.Where(c => c.StartsWith(tail, StringComparison.Ordinal))
                         .Distinct()
                         .Order(StringComparer.Ordinal)
                         .Select(c => lead + c);
    }

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

    /// <summary>What a user can write after a dot: properties, fields and methods, without object's own and
    /// without compiler-made names (accessors, indexers, operators).</summary>
    static IEnumerable<string> MemberNames(Type type) =>
        type.GetMembers(BindingFlags.Public | BindingFlags.Instance)
            .Where(m => m.DeclaringType != typeof(object) && m is PropertyInfo { Name: not "Item" } or FieldInfo or MethodInfo { IsSpecialName: false })
            .Select(m => m.Name);
}
