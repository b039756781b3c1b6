using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace Repl.Shell.Scripting;

/// <summary>
/// How a long C# session stays within bounded memory. Roslyn continues a session by chaining submissions: each one's
/// compilation holds the one before, and each one's code lives in the <see cref="SubmissionChain"/> it ran in. The
/// session therefore starts a new chain every so often, whose first submission (a prelude written here) gives the new
/// chain what the old one defined, after which nothing refers to the old chain and the runtime frees it:
/// <list type="bullet">
/// <item>the <c>using</c>s typed so far, and the assemblies <c>#r</c> added (as resolved, so the new chain needs no
/// directory to resolve them from);</item>
/// <item>methods, properties and constants, their source again under <c>#line</c>, so errors inside them still name
/// the file and line where they were written; a later declaration with the same signature replaces an earlier one,
/// as it hides it in a chain;</item>
/// <item>variables. A variable lives in a box of ours rather than in the submission that declared it: each input's
/// declarations (<c>var hits = 0;</c>) are compiled as a box and a property that returns a reference to its value,
/// followed by the initializer as an assignment, on the same lines (<see cref="Boxed(Compilation)"/>). The new chain
/// declares the same property over the same box, so a hook registered earlier (<c>On.Exception += e => hits++</c>)
/// and the new chain see one <c>hits</c>, and the box does not hold the old chain. A variable that has no declaration
/// of its own (an <c>out var</c>, a pattern's or a deconstruction's) or that a <c>#load</c>-ed file declares stays a
/// field of its submission, and the new chain gets its value, not the field itself.</item>
/// </list>
/// Statements are not run again. The types the session declared (class, struct, record, interface, enum, delegate) are
/// declared again from their source, like methods, and the new chain's are other types than the old chain's: so a
/// chain is kept while a variable holds a value of a declared type (its own type, or that of the value it holds now,
/// its elements' or its type arguments'), and while the session holds what lives in the submission that declared it:
/// a declared type's static fields, properties or events, or an auto-property or event of the session's own. So is it
/// while a variable's type cannot be written in C# (an anonymous type), until a later declaration hides it. Such a
/// session grows as before; every other one holds one chain's worth, and the chains its live delegates came from.
/// </summary>
sealed class CarryOver
{
    /// <summary>The box of variable <c>x</c> is the submission's field <c>__repl_x</c>; not a name a user would choose.</summary>
    const string BoxPrefix = "__repl_";

    readonly List<string> _usings = [];
    readonly Dictionary<string, string> _members = new(StringComparer.Ordinal);
    readonly Dictionary<string, Variable> _variables = new(StringComparer.Ordinal);
    bool _keepsChain;

    /// <summary>A variable: its type as C# source (null when it cannot be written), and whether it may be assigned.</summary>
    sealed record Variable(string? Type, bool ReadOnly);

    /// <summary>Notes what a submission that ran declared: usings, members and variables (its #r references are the
    /// chain's <see cref="SubmissionChain.Referenced"/>).</summary>
    public void Record(Compilation compilation)
    {
        var csharp = (CSharpCompilation)compilation;
        // A submission's trees are its own text and the files it #load-ed.
        foreach (var tree in csharp.SyntaxTrees)
        {
            var root = tree.GetCompilationUnitRoot();
            foreach (var text in root.Usings.Select(u => u.WithoutTrivia().ToFullString()).Where(t => !_usings.Contains(t)))
                _usings.Add(text);
            var model = csharp.GetSemanticModel(tree);
            foreach (var member in root.Members)
                Record(member, model);
        }
        foreach (var field in csharp.ScriptClass!.GetMembers().OfType<IFieldSymbol>().Where(f => !f.IsImplicitlyDeclared && !f.IsConst))
            _variables[field.Name] = new(Writable(field.Type) ? TypeName(field.Type) : null, field.IsReadOnly);
    }
    void Record(MemberDeclarationSyntax member, SemanticModel model)
    {
        switch (member)
        {
            case GlobalStatementSyntax:
            case FieldDeclarationSyntax field when !field.Modifiers.Any(SyntaxKind.ConstKeyword):
                return;  // statements ran; variables are taken from the script class's fields
            case BaseTypeDeclarationSyntax or DelegateDeclarationSyntax when !member.DescendantNodes().Any(IsStatic):
                break;  // declared again in the new chain: it has nothing the new declaration would lose
            case BaseTypeDeclarationSyntax or DelegateDeclarationSyntax or EventFieldDeclarationSyntax or EventDeclarationSyntax:
            case PropertyDeclarationSyntax property when IsAuto(property):
                _keepsChain = true;
                return;
        }
        var span = member.GetLocation().GetMappedLineSpan();
        string file = span.Path.Length == 0 || span.Path.Contains('"') ? "" : $" \"{span.Path}\"";
        _members[Signature(member, model)] = $"#line {span.StartLinePosition.Line + 1}{file}\n{member.WithoutTrivia().ToFullString()}";
    }

    static bool IsAuto(PropertyDeclarationSyntax property) =>
        property is { ExpressionBody: null, AccessorList.Accessors: var accessors } && accessors.All(a => a.Body is null && a.ExpressionBody is null);

    /// <summary>A member of a declared type whose value lives in the type itself (a new declaration would start it over).</summary>
    static bool IsStatic(SyntaxNode node) => node switch
    {
        FieldDeclarationSyntax field => field.Modifiers.Any(SyntaxKind.StaticKeyword) && !field.Modifiers.Any(SyntaxKind.ConstKeyword),
        EventFieldDeclarationSyntax e => e.Modifiers.Any(SyntaxKind.StaticKeyword),
        PropertyDeclarationSyntax property => property.Modifiers.Any(SyntaxKind.StaticKeyword) && IsAuto(property),
        _ => false,
    };

    /// <summary>What makes a member replace an earlier one: a method's name, arity and parameter types; otherwise its
    /// names (with a type's arity).</summary>
    static string Signature(MemberDeclarationSyntax member, SemanticModel model) => member switch
    {
        MethodDeclarationSyntax when model.GetDeclaredSymbol(member) is IMethodSymbol method =>
            $"{method.Name}`{method.Arity}({string.Join(",", method.Parameters.Select(p => p.RefKind + " " + p.Type.ToDisplayString()))})",
        FieldDeclarationSyntax constants => string.Join(",", constants.Declaration.Variables.Select(v => v.Identifier.Text)),
        _ => model.GetDeclaredSymbol(member)?.MetadataName ?? member.ToString(),
    };

    /// <summary>A type that a prelude can name: none of it declared by the session, anonymous or a pointer.</summary>
    static bool Writable(ITypeSymbol type) => type switch
    {
        IArrayTypeSymbol array => Writable(array.ElementType),
        INamedTypeSymbol named => !named.IsAnonymousType && !named.ContainingAssembly.IsInteractive && named.TypeArguments.All(Writable),
        _ => false,
    };

    static string TypeName(ITypeSymbol type) => type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);

    /// <summary>
    /// The text of a submission that compiled, with each of its variable declarations boxed: <c>var x = F(),
    /// y;</c> becomes the declarations of <c>x</c>'s and <c>y</c>'s boxes and properties, then <c>x = F(); ;</c>, in
    /// the place and on the lines of the original, so that the declarations still run in order and errors keep their
    /// lines. A box is made when its variable is first used, so a use before the declaration sees the type's default as
    /// a field would. Null when there is nothing to box: no declaration, or each has modifiers or attributes, or a
    /// type that cannot be written.
    /// </summary>
    public static string? Boxed(Compilation compilation)
    {
        // The submission's own text is its last tree; the ones before it are files it #load-ed.
        var tree = compilation.SyntaxTrees.Last();
        var model = compilation.GetSemanticModel(tree);
        var changes = new List<TextChange>();
        foreach (var field in tree.GetCompilationUnitRoot().Members.OfType<FieldDeclarationSyntax>())
            if (Boxed(field, model) is { } text)
                changes.Add(new(field.Span, text));
        return changes.Count == 0 ? null : tree.GetText().WithChanges(changes).ToString();
    }

    static string? Boxed(FieldDeclarationSyntax field, SemanticModel model)
    {
        if (field.Modifiers.Count != 0 || field.AttributeLists.Count != 0)
            return null;
        var variables = field.Declaration.Variables;
        var types = variables.Select(v => model.GetDeclaredSymbol(v) is IFieldSymbol { Type: var type } && Writable(type) ? TypeName(type) : null).ToArray();
        if (types.Contains(null))
            return null;
        var text = new System.Text.StringBuilder();
        for (int i = 0; i < variables.Count; i++)
            text.Append(BoxedVariable(types[i]!, variables[i].Identifier.ValueText, readOnly: false)).Append(' ');
        text.Append(LineBreaks(field.Declaration.Type.ToFullString()));
        for (int i = 0; i < variables.Count; i++)
        {
            var variable = variables[i];
            // An array initializer ({ 1, 2 }) is only allowed in a declaration; as an assignment it needs its type.
            text.Append(variable.Initializer is { } initializer
                ? variable.Identifier.ToFullString() + initializer.EqualsToken.ToFullString() +
                  (initializer.Value is InitializerExpressionSyntax ? $"new {types[i]} " : "") + initializer.Value.ToFullString()
                : LineBreaks(variable.ToFullString()));
            if (i < variables.SeparatorCount)
                text.Append(';').Append(variables.GetSeparator(i).TrailingTrivia.ToFullString());
        }
        return text.Append(';').ToString();
    }

    static string LineBreaks(string text) => new('\n', text.Count(c => c == '\n'));

    /// <summary>A variable as a box field and a property that returns a reference to the boxed value, so that it can
    /// be assigned, incremented and passed by <c>ref</c> as a variable can.</summary>
    static string BoxedVariable(string type, string name, bool readOnly) =>
        $"global::System.Runtime.CompilerServices.StrongBox<{type}> {BoxPrefix}{name}; " +
        $"ref {(readOnly ? "readonly " : "")}{type} {Identifier(name)} => ref ({BoxPrefix}{name} ??= new()).Value;";

    /// <summary>A new chain that continues <paramref name="chain"/>, its prelude already run with <paramref name="globals"/>;
    /// or null when this session cannot start over (it has state in a submission, a variable holds a value of a type it
    /// declared or cannot name, or the prelude does not compile), and the old chain goes on.</summary>
    public SubmissionChain? Restart(SubmissionChain chain, ScriptGlobals globals)
    {
        if (_keepsChain || _variables.Values.Any(v => v.Type is null))
            return null;
        var carried = _variables.ToArray();
        var boxes = new object[carried.Length];
        for (int i = 0; i < carried.Length; i++)
        {
            if (Box(chain, carried[i].Key) is not { } box || SubmissionChain.Declares(((IStrongBox)box).Value?.GetType()))
                return null;
            boxes[i] = box;
        }

        var fresh = new SubmissionChain(chain.Referenced);
        var script = fresh.Continue(Prelude(carried), ScriptOptionsFactory.For(null).AddReferences(chain.Referenced.Paths));
        if (script.GetCompilation().GetDiagnostics().Any(d => d.Severity == DiagnosticSeverity.Error) ||
            fresh.Run(script, globals) is not { Ran: true, Exception: null })
            return null;
        try
        {
            // A prelude that carries variables has code, so it is the chain's first submission.
            var prelude = carried.Length == 0 ? null : fresh.Submissions.Single();
            for (int i = 0; i < carried.Length; i++)
                prelude!.GetType().GetField(BoxPrefix + carried[i].Key, Fields)!.SetValue(prelude, boxes[i]);
        }
        catch (ArgumentException)
        {
            return null;  // a box of another type than the prelude names: the old chain goes on
        }
        return fresh;
    }

    const BindingFlags Fields = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static;

    /// <summary>Where variable <paramref name="name"/> of <paramref name="chain"/> lives now, as a box: the box of its
    /// latest declaration, or a new box with the value of the field that holds it; null when the chain has neither.</summary>
    static object? Box(SubmissionChain chain, string name)
    {
        foreach (var submission in chain.Submissions)
        {
            var type = submission.GetType();
            if (type.GetField(BoxPrefix + name, Fields) is { } box)
                return box.GetValue(submission) ?? Activator.CreateInstance(box.FieldType);
            if (type.GetField(name, Fields) is { } field)
                return Activator.CreateInstance(typeof(StrongBox<>).MakeGenericType(field.FieldType), field.GetValue(field.IsStatic ? null : submission));
        }
        return null;
    }

    static string Identifier(string name) => SyntaxFacts.GetKeywordKind(name) == SyntaxKind.None ? name : "@" + name;

    string Prelude(KeyValuePair<string, Variable>[] carried)
    {
        var text = new System.Text.StringBuilder();
        foreach (string u in _usings)
            text.AppendLine(u);
        foreach (var (name, variable) in carried)
            text.AppendLine(BoxedVariable(variable.Type!, name, variable.ReadOnly));
        foreach (string member in _members.Values)
            text.AppendLine(member);
        return text.ToString();
    }
}
