using System.Reflection;
using System.Runtime.Loader;
using System.Security.Cryptography;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Emit;
using Repl.Shell.Scripting;

namespace Repl.Shell.Batch;

/// <summary>A script ready to run: its entry point, or why it could not be compiled.</summary>
public sealed record CompiledScript(Func<ScriptGlobals, Task<object>>? Run, IReadOnlyList<string> Errors, bool FromCache);

/// <summary>
/// Compiled <c>.csx</c> scripts on disk, keyed by the SHA-256 of everything the compilation reads (the script, the
/// files it <c>#load</c>s and the assemblies it <c>#r</c>s) and of the repl build it compiles against, so an unchanged
/// script skips Roslyn on the next run and any change, or a new repl, compiles afresh.
/// </summary>
public sealed class ScriptCache(string directory)
{
    public string Directory { get; } = directory;

    /// <summary>$XDG_CACHE_HOME/repl/scripts, else ~/.cache/repl/scripts (the XDG default).</summary>
    public static string DefaultDirectory
    {
        get
        {
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            string root = string.IsNullOrEmpty(xdg)
                ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache")
                : xdg;
            return Path.Combine(root, "repl", "scripts");
        }
    }

    public CompiledScript Load(string scriptPath)
    {
        string path = Path.GetFullPath(scriptPath);
        var inputs = Inputs(path);
        foreach (string assembly in inputs.Where(i => i.IsAssembly).Select(i => i.Path))
            ReferencedAssemblies.Batch.Add(assembly);

        string dll = Path.Combine(Directory, Key(inputs) + ".dll");
        if (File.Exists(dll))
            return new(EntryPoint(dll), [], FromCache: true);

        // Its loops, and those of the files it #loads, poll for the deadline as the prompt's do for Ctrl-C (the polls go
        // on the lines they guard, so runtime errors keep their lines); compile errors are those of the files as
        // written, whose columns the polls shift.
        string source = File.ReadAllText(path);
        var compilation = ScriptOptionsFactory.Create(source, path, polled: true).GetCompilation();
        if (compilation.GetDiagnostics().Any(d => d.Severity == DiagnosticSeverity.Error))
            return new(null, [.. ScriptErrors.Compile(ScriptOptionsFactory.Create(source, path, polled: false).GetCompilation().GetDiagnostics())], FromCache: false);
        // A script of comments or usings, or nothing, has no statement or declaration, and Roslyn emits no submission
        // for it (its Emit fails, saying nothing): such a script runs, and claims nothing.
        if (compilation.SyntaxTrees.All(tree => tree.GetCompilationUnitRoot().Members.Count == 0))
            return new(_ => Task.FromResult(new object()), [], FromCache: false);
        Emit(compilation, dll);
        return new(EntryPoint(dll), [], FromCache: false);
    }

    void Emit(Compilation compilation, string dll)
    {
        System.IO.Directory.CreateDirectory(Directory);
        // Written aside and moved in, so a run in parallel never loads half a file; the PDB is embedded so that a
        // runtime exception still names its script line.
        string partial = dll + "." + Guid.NewGuid().ToString("N") + ".tmp";
        using (var stream = File.Create(partial))
        {
            var result = compilation.Emit(stream, options: new EmitOptions(debugInformationFormat: DebugInformationFormat.Embedded));
            if (!result.Success)
                throw new InvalidOperationException(string.Join("; ", ScriptErrors.Compile(result.Diagnostics)));
        }
        File.Move(partial, dll, overwrite: true);
    }

    /// <summary>The submission factory Roslyn emits for a script: <c>Submission#0.&lt;Factory&gt;(object[])</c>, which takes
    /// the globals in slot 0 and the submission's own slot after them.</summary>
    static Func<ScriptGlobals, Task<object>> EntryPoint(string dll)
    {
        var assembly = AssemblyLoadContext.Default.LoadFromAssemblyPath(dll);
        var factory = assembly.GetTypes()
            .Select(t => t.GetMethod("<Factory>", BindingFlags.Public | BindingFlags.Static))
            .Single(m => m is not null)!;
        var run = factory.CreateDelegate<Func<object?[], Task<object>>>();
        return globals => run([globals, null]);
    }

    /// <summary>The files a compilation of <paramref name="path"/> reads: the script, what it #loads (transitively)
    /// and the assembly files it #r's, each once.</summary>
    static List<(string Path, bool IsAssembly)> Inputs(string path)
    {
        var inputs = new List<(string, bool)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([path]);
        var parse = CSharpParseOptions.Default.WithKind(SourceCodeKind.Script);
        while (pending.TryPop(out string? file))
        {
            if (!seen.Add(file) || !File.Exists(file))
                continue; // a missing #load is the compiler's to report
            inputs.Add((file, false));
            var root = CSharpSyntaxTree.ParseText(File.ReadAllText(file), parse, file).GetCompilationUnitRoot();
            string directory = Path.GetDirectoryName(file)!;
            foreach (var load in root.GetLoadDirectives())
                pending.Push(Path.GetFullPath(Path.Combine(directory, load.File.ValueText)));
            foreach (var reference in root.GetReferenceDirectives())
            {
                string assembly = Path.GetFullPath(Path.Combine(directory, reference.File.ValueText));
                if (File.Exists(assembly) && seen.Add(assembly))
                    inputs.Add((assembly, true));
            }
        }
        return inputs;
    }

    static string Key(List<(string Path, bool IsAssembly)> inputs)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        // The build of the repl and of the machine the script compiles against: their module version IDs change with
        // any change to their code.
        sha.AppendData(typeof(ScriptGlobals).Assembly.ManifestModule.ModuleVersionId.ToByteArray());
        sha.AppendData(typeof(Repl.Machine.Machine).Assembly.ManifestModule.ModuleVersionId.ToByteArray());
        foreach (var (path, _) in inputs)
        {
            sha.AppendData(Encoding.UTF8.GetBytes(path + "\0"));
            sha.AppendData(File.ReadAllBytes(path));
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
