using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Scripting;
using Microsoft.CodeAnalysis.Scripting.Hosting;

namespace Repl.Shell.Scripting;

/// <summary>
/// How a long C# session stays within bounded memory. Roslyn continues a session by chaining submissions: each one's
/// compilation holds the one before, so the whole chain, with every compilation, symbol table and reference map, lives
/// as long as the session. The session therefore starts a new chain every so often, whose first submission (a
/// prelude written here) gives the new chain what the old one defined:
/// <list type="bullet">
/// <item>the <c>using</c>s typed so far, and the assemblies <c>#r</c> added (as resolved, so the new chain needs no
/// directory to resolve them from);</item>
/// <item>methods, properties and constants, their source again under <c>#line</c>, so errors inside them still name
/// the file and line where they were written; a later declaration with the same signature replaces an earlier one,
/// as it hides it in a chain;</item>
/// <item>variables, as properties that read and write the variable's own storage in the old submission, so a hook
/// registered earlier (<c>On.Exception += e => hits++</c>) and the new chain see one <c>hits</c>.</item>
/// </list>
/// Statements are not run again. A session that declared its own types (class, struct, record, interface, enum,
/// delegate), events or auto-properties keeps its chain: its values are of those types, which a new chain could only
/// declare anew as other types, and an auto-property's value lives in the submission that declared it. So does a
/// session holding a variable whose type cannot be written in C# (an anonymous type) until a later declaration hides
/// it. Such a session grows as before; every other one holds at most one chain's worth.
/// </summary>
sealed class CarryOver
{
    /// <summary>The prelude's field that holds the carried variables' storage; not a variable of the user's.</summary>
    const string StorageField = "__repl_carried";

    // One loader for every chain: an assembly that #r loaded stays the one its types come from, so a carried value of
    // such a type is still of the type the new chain names.
    readonly InteractiveAssemblyLoader _loader = new();
    readonly List<string> _usings = [];
    readonly List<MetadataReference> _references = [];
    readonly Dictionary<string, string> _members = new(StringComparer.Ordinal);
    readonly Dictionary<string, Variable> _variables = new(StringComparer.Ordinal);
    bool _keepsChain;

    /// <summary>A variable: its type as C# source (null when it cannot be written), and where its value lives once the
    /// chain that declared it has run.</summary>
    sealed record Variable(string? Type, bool ReadOnly, ScriptVariable? Storage);

    /// <summary>Starts a chain with <paramref name="code"/>; every chain of the session shares the assembly loader.</summary>
    public Script<object> Create(string code, ScriptOptions options) =>
        CSharpScript.Create(code, options, typeof(ScriptGlobals), _loader);

    /// <summary>Notes what a submission that ran declared: usings, #r references, members and variables.</summary>
    public void Record(Compilation compilation)
    {
        var csharp = (CSharpCompilation)compilation;
        // A submission's trees are its own text and the files it #load-ed.
        foreach (var tree in csharp.SyntaxTrees)
        {
            var root = tree.GetCompilationUnitRoot();
            foreach (var text in root.Usings.Select(u => u.WithoutTrivia().ToFullString()).Where(t => !_usings.Contains(t)))
                _usings.Add(text);
            foreach (var directive in root.GetReferenceDirectives())
                if (csharp.GetDirectiveReference(directive) is { } reference && !_references.Contains(reference))
                    _references.Add(reference);
            var model = csharp.GetSemanticModel(tree);
            foreach (var member in root.Members)
                Record(member, model);
        }
        foreach (var field in csharp.ScriptClass!.GetMembers().OfType<IFieldSymbol>().Where(f => !f.IsImplicitlyDeclared && !f.IsConst))
            _variables[field.Name] = new(Writable(field.Type) ? field.Type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat) : null,
                                         field.IsReadOnly, Storage: null);
    }

    void Record(MemberDeclarationSyntax member, SemanticModel model)
    {
        switch (member)
        {
            case GlobalStatementSyntax:
            case FieldDeclarationSyntax field when !field.Modifiers.Any(SyntaxKind.ConstKeyword):
                return;  // statements ran; variables are taken from the script class's fields
            case BaseTypeDeclarationSyntax or DelegateDeclarationSyntax or EventFieldDeclarationSyntax or EventDeclarationSyntax:
            case PropertyDeclarationSyntax { ExpressionBody: null, AccessorList.Accessors: var accessors }
                when accessors.All(a => a.Body is null && a.ExpressionBody is null):
                _keepsChain = true;
                return;
        }
        var span = member.GetLocation().GetMappedLineSpan();
        string file = span.Path.Length == 0 || span.Path.Contains('"') ? "" : $" \"{span.Path}\"";
        _members[Signature(member, model)] = $"#line {span.StartLinePosition.Line + 1}{file}\n{member.WithoutTrivia().ToFullString()}";
    }

    /// <summary>What makes a member replace an earlier one: a method's name, arity and parameter types; otherwise its names.</summary>
    static string Signature(MemberDeclarationSyntax member, SemanticModel model) => member switch
    {
        MethodDeclarationSyntax when model.GetDeclaredSymbol(member) is IMethodSymbol method =>
            $"{method.Name}`{method.Arity}({string.Join(",", method.Parameters.Select(p => p.RefKind + " " + p.Type.ToDisplayString()))})",
        FieldDeclarationSyntax constants => string.Join(",", constants.Declaration.Variables.Select(v => v.Identifier.Text)),
        _ => model.GetDeclaredSymbol(member)?.Name ?? member.ToString(),
    };

    /// <summary>A type that a prelude can name: none of it declared by the session, anonymous or a pointer.</summary>
    static bool Writable(ITypeSymbol type) => type switch
    {
        IArrayTypeSymbol array => Writable(array.ElementType),
        INamedTypeSymbol named => !named.IsAnonymousType && !named.ContainingAssembly.IsInteractive && named.TypeArguments.All(Writable),
        _ => false,
    };

    /// <summary>A new chain that continues <paramref name="state"/>'s, already run with <paramref name="globals"/>; or
    /// null when this session cannot start over (it declared types, holds a value it cannot name, or the prelude does
    /// not compile), and the old chain goes on.</summary>
    public ScriptState<object>? Restart(ScriptState<object> state, ScriptGlobals globals)
    {
        // The chain's own variables live in its submissions; the ones it carried in keep the storage they had.
        foreach (var variable in state.Variables.Where(v => v.Name != StorageField))
            if (_variables.TryGetValue(variable.Name, out var known))
                _variables[variable.Name] = known with { Storage = variable };
        if (_keepsChain || _variables.Values.Any(v => v.Type is null || v.Storage is null))
            return null;

        var carried = _variables.ToArray();
        var script = Create(Prelude(carried), ScriptOptionsFactory.For(null).AddReferences(_references));
        if (script.Compile().Any(d => d.Severity == DiagnosticSeverity.Error))
            return null;
        var fresh = script.RunAsync(globals).GetAwaiter().GetResult();
        fresh.GetVariable(StorageField)!.Value = new CarriedVariables([.. carried.Select(v => v.Value.Storage!)]);
        return fresh;
    }

    static string Identifier(string name) => SyntaxFacts.GetKeywordKind(name) == SyntaxKind.None ? name : "@" + name;

    string Prelude(KeyValuePair<string, Variable>[] carried)
    {
        var text = new System.Text.StringBuilder();
        foreach (string u in _usings)
            text.AppendLine(u);
        text.AppendLine($"global::{typeof(CarriedVariables).FullName} {StorageField} = null!;");
        for (int i = 0; i < carried.Length; i++)
        {
            var (name, variable) = (Identifier(carried[i].Key), carried[i].Value);
            text.Append($"{variable.Type} {name} {{ get => ({variable.Type}){StorageField}[{i}]!;");
            text.AppendLine(variable.ReadOnly ? " }" : $" set => {StorageField}[{i}] = value; }}");
        }
        foreach (string member in _members.Values)
            text.AppendLine(member);
        return text.ToString();
    }
}

/// <summary>The storage of the variables a new chain of the C# session carries over from the old one (see
/// <see cref="CarryOver"/>): the prelude's properties read and write the variables through it.</summary>
public sealed class CarriedVariables
{
    readonly ScriptVariable[] _variables;

    internal CarriedVariables(ScriptVariable[] variables) => _variables = variables;

    public object? this[int index]
    {
        get => _variables[index].Value;
        set => _variables[index].Value = value;
    }
}
