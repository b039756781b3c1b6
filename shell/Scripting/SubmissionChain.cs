using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Emit;
using Microsoft.CodeAnalysis.Scripting;
using Microsoft.CodeAnalysis.Scripting.Hosting;

namespace Repl.Shell.Scripting;

/// <summary>
/// One chain of the C# session's submissions: Roslyn compiles each as the continuation of the one before, and the
/// chain emits it into its own collectible load context and runs it. Roslyn's own runner loads every submission
/// into a context that is never unloaded, so a long session grew by its assemblies, their JIT-compiled code and
/// their type data (about 50 KB an input) for as long as it ran. When the session starts a new chain
/// (<see cref="CarryOver"/>) and nothing holds the old one's code any more (a hook it registered, a delegate or a
/// value of a type it declared), the runtime frees all of it.
/// </summary>
sealed class SubmissionChain(ReferencedAssemblies referenced)
{
    // Not unloaded by hand: the runtime unloads a collectible context once nothing refers to it or its code.
    readonly AssemblyLoadContext _context = new Context(referenced);
    // The submissions that had code, in the order of their slots: a submission's constructor finds the ones before
    // it at their slots in the array its factory is given (slot 0 holds the globals) and puts itself in the next.
    readonly List<object> _submissions = [];

    /// <summary>The assemblies the session's <c>#r</c>s added, which every chain of the session shares.</summary>
    public ReferencedAssemblies Referenced => referenced;

    /// <summary>The last submission that ran; the next continues it. Null before the first.</summary>
    public Script<object>? Last { get; private set; }

    /// <summary>The submissions that ran, newest first.</summary>
    public IEnumerable<object> Submissions => Enumerable.Reverse(_submissions);

    // Roslyn makes an assembly loader, with a load context that is never unloaded, for each new chain it is not given
    // one for; chains never load through it, so they all share this one.
    static readonly InteractiveAssemblyLoader NeverUsed = new();

    /// <summary><paramref name="code"/> compiled (lazily, by <see cref="Script.GetCompilation"/>) as the continuation
    /// of <see cref="Last"/>. Never call <c>Compile</c> or <c>Run</c> on it: Roslyn would load it itself.</summary>
    public Script<object> Continue(string code, ScriptOptions options) =>
        Last is null ? CSharpScript.Create(code, options, typeof(ScriptGlobals), NeverUsed) : Last.ContinueWith(code, options);

    /// <summary>What running a submission gave: its value, or the exception it threw (after which what it ran before
    /// stays, as in Roslyn's runner), or the emit errors that kept it from running.</summary>
    public sealed record Outcome(object? Value, Exception? Exception, IReadOnlyList<string> EmitErrors)
    {
        /// <summary>The submission ran, to the end or to an exception: its definitions exist.</summary>
        public bool Ran => EmitErrors.Count == 0;
    }

    /// <summary>Emits, loads and runs <paramref name="script"/>, which continues <see cref="Last"/> and compiled without
    /// errors. When <paramref name="keep"/>, a submission that ran becomes the chain's last; otherwise (a breakpoint
    /// condition's lambda) the chain stays as it was.</summary>
    public Outcome Run(Script<object> script, ScriptGlobals globals, bool keep = true)
    {
        var compilation = script.GetCompilation();
        foreach (var reference in ReferenceDirectives(compilation))
            referenced.Add(reference);
        using var image = new MemoryStream();
        // The PDB goes inside the image, so that a runtime exception can name its script line.
        var emitted = compilation.Emit(image, options: new EmitOptions(debugInformationFormat: DebugInformationFormat.Embedded));
        if (!emitted.Success && emitted.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error))
            return new(null, null, [.. ScriptErrors.Compile(emitted.Diagnostics)]);
        // A submission with nothing to run (only usings, say) has no image, no slot and no value.
        if (!emitted.Success)
        {
            if (keep)
                Last = script;
            return new(null, null, []);
        }

        image.Position = 0;
        var entry = compilation.GetEntryPoint(CancellationToken.None)!;
        var factory = _context.LoadFromStream(image).GetType(entry.ContainingType.MetadataName, throwOnError: true)!
            .GetMethod(entry.MetadataName, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)!
            .CreateDelegate<Func<object?[], Task<object>>>();
        object?[] slots = [globals, .. _submissions, null];
        try
        {
            return new(factory(slots).GetAwaiter().GetResult(), null, []);
        }
        catch (Exception e)
        {
            return new(null, e, []);
        }
        finally
        {
            // Only now: a breakpoint condition compiled while this submission runs continues the one before it.
            if (keep)
            {
                Last = script;
                _submissions.Add(slots[^1]!);
            }
        }
    }

    /// <summary>Whether <paramref name="type"/> is one a submission declared, or an array or generic type over one.</summary>
    public static bool Declares(Type? type) => type switch
    {
        null => false,
        { HasElementType: true } => Declares(type.GetElementType()),
        { IsGenericType: true } when type.GetGenericArguments().Any(Declares) => true,
        _ => AssemblyLoadContext.GetLoadContext(type.Assembly) is Context,
    };

    /// <summary>The assembly files a compilation's <c>#r</c> directives added.</summary>
    static IEnumerable<string> ReferenceDirectives(Compilation compilation) =>
        compilation.SyntaxTrees.SelectMany(tree => tree.GetCompilationUnitRoot().GetReferenceDirectives())
            .Select(directive => ((CSharpCompilation)compilation).GetDirectiveReference(directive))
            .OfType<PortableExecutableReference>().Select(r => r.FilePath).OfType<string>();

    sealed class Context(ReferencedAssemblies referenced) : AssemblyLoadContext("repl C# session", isCollectible: true)
    {
        // Submissions find the ones before them in this context by name; the framework and the repl's assemblies are
        // the default context's; an assembly that #r added is the session's, the same for every chain.
        protected override Assembly? Load(AssemblyName name) => referenced.Find(name);
    }
}

/// <summary>
/// Assemblies that scripts added with <c>#r</c>, by simple name, each loaded once into a load context that is never
/// unloaded: the chains of a C# session (each session has its own), or the batch runner's scripts (the default
/// context, which runs them), find them there, and a value of one of their types keeps its type from one chain to the
/// next. Sessions keep apart, so each may add its own assembly of a given name.
/// </summary>
sealed class ReferencedAssemblies(Func<AssemblyLoadContext> context)
{
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _paths = new(StringComparer.OrdinalIgnoreCase);
    // Made at the first #r: most sessions have none.
    readonly Lazy<AssemblyLoadContext> _context = new(context);

    /// <summary>The batch runner's: its scripts run in the default context, which asks here for what it lacks.</summary>
    public static ReferencedAssemblies Batch { get; } = ForDefault();

    static ReferencedAssemblies ForDefault()
    {
        var batch = new ReferencedAssemblies(() => AssemblyLoadContext.Default);
        AssemblyLoadContext.Default.Resolving += (_, name) => batch.Find(name);
        return batch;
    }

    /// <summary>A session's: a context of its own.</summary>
    public static ReferencedAssemblies ForSession() => new(() => new AssemblyLoadContext("repl C# session #r"));

    public void Add(string path) => _paths[Path.GetFileNameWithoutExtension(path)] = path;

    /// <summary>The files added, as resolved: a new chain references them again.</summary>
    public IEnumerable<string> Paths => _paths.Values;

    public Assembly? Find(AssemblyName name) =>
        name.Name is { } simple && _paths.TryGetValue(simple, out string? path) ? _context.Value.LoadFromAssemblyPath(path) : null;
}
