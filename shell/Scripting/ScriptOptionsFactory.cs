using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;
using Microsoft.CodeAnalysis.Text;

namespace Repl.Shell.Scripting;

using Repl.Machine;

/// <summary>The compilation settings the interactive session and the batch runner share, so that a line typed at
/// the prompt and the same line in a <c>.csx</c> file mean the same.</summary>
static class ScriptOptionsFactory
{
    /// <summary>The namespaces a script starts with: the machine's types (StopKind, Vector, CpuMode...) and the
    /// debugger's (Breakpoint, CatchKind) need no using.</summary>
    public static readonly string[] Imports =
        ["System", "System.Linq", "System.Collections.Generic", "Repl.Machine", "Repl.Machine.Asm", "Repl.Shell.Scripting", "Repl.Shell.Debugging"];

    // One set of reference objects for every submission: a submission's compilation also binds the references of the
    // submissions before it, and fresh reference objects for each line (which Roslyn does not take for the same file)
    // made each compilation larger than the last, with two more metadata readers per line.
    static readonly ScriptOptions Base = ScriptOptions.Default
        .WithReferences(typeof(Machine).Assembly, typeof(ScriptGlobals).Assembly)
        .AddImports(Imports);

    /// <summary>Options for a script read from <paramref name="filePath"/> (null for the prompt): <c>#load</c> and
    /// <c>#r</c> resolve relative to its directory (the current one at the prompt), and debug information is emitted
    /// so that a runtime exception names its script line. <paramref name="polled"/>: the files it #loads get the polls
    /// of <see cref="ScriptInterruption"/> as the script's own text does, so that their loops stop too; without, they
    /// are compiled as written, for compile errors whose columns the polls do not shift.</summary>
    public static ScriptOptions For(string? filePath, bool polled = true)
    {
        string directory = filePath is null ? Environment.CurrentDirectory : Path.GetDirectoryName(Path.GetFullPath(filePath))!;
        var files = new SourceFileResolver([], directory);
        return Base
            .WithSourceResolver(polled ? new PolledResolver(files) : files)
            .WithMetadataResolver(new KeepingResolver(ScriptMetadataResolver.Default.WithBaseDirectory(directory)))
            .WithFilePath(filePath is null ? "" : Path.GetFullPath(filePath))
            .WithFileEncoding(Encoding.UTF8)
            .WithEmitDebugInformation(true)
            .WithOptimizationLevel(OptimizationLevel.Debug);
    }

    /// <summary>A script of <paramref name="code"/> read from <paramref name="filePath"/>; <paramref name="polled"/>: its
    /// loops, and those of the files it #loads, poll for <see cref="ScriptInterruption"/>.</summary>
    public static Script<object> Create(string code, string? filePath, bool polled) =>
        CSharpScript.Create(polled ? ScriptInterruption.Instrument(code) : code, For(filePath, polled), typeof(ScriptGlobals));

    /// <summary>Roslyn's resolver for #load, except that the text it reads gets the polls (the lines stay where they
    /// were, so runtime errors keep naming the loaded file's lines).</summary>
    sealed class PolledResolver(SourceFileResolver files) : SourceReferenceResolver
    {
        readonly SourceFileResolver _files = files;

        public override string? NormalizePath(string path, string? baseFilePath) => _files.NormalizePath(path, baseFilePath);

        public override string? ResolveReference(string path, string? baseFilePath) => _files.ResolveReference(path, baseFilePath);

        public override Stream OpenRead(string resolvedPath) => _files.OpenRead(resolvedPath);

        public override SourceText ReadText(string resolvedPath)
        {
            var text = _files.ReadText(resolvedPath);
            string written = text.ToString(), polled = ScriptInterruption.Instrument(written);
            return ReferenceEquals(polled, written) ? text : SourceText.From(polled, text.Encoding ?? Encoding.UTF8);
        }

        public override bool Equals(object? other) => other is PolledResolver polled && polled._files.Equals(_files);

        public override int GetHashCode() => _files.GetHashCode();
    }

    /// <summary>
    /// Roslyn's resolver for scripts, except that the assemblies it finds for a reference's own references
    /// (System.Runtime and the like, which repl.dll needs) are found once per process. Roslyn's reads the file again for
    /// every compilation that does not continue another, each copy held in native memory until its finalizer runs, and
    /// each new chain of the session (<see cref="CarryOver"/>) is such a compilation: they cost about 10 MB each.
    /// </summary>
    sealed class KeepingResolver(ScriptMetadataResolver resolver) : MetadataReferenceResolver
    {
        static readonly ConcurrentDictionary<(string?, string), PortableExecutableReference?> Found = new();

        readonly ScriptMetadataResolver _resolver = resolver;

        public override bool ResolveMissingAssemblies => true;

        public override PortableExecutableReference? ResolveMissingAssembly(MetadataReference definition, AssemblyIdentity referenceIdentity) =>
            Found.GetOrAdd(((definition as PortableExecutableReference)?.FilePath, referenceIdentity.GetDisplayName()),
                           _ => _resolver.ResolveMissingAssembly(definition, referenceIdentity));

        public override ImmutableArray<PortableExecutableReference> ResolveReference(string reference, string? baseFilePath, MetadataReferenceProperties properties) =>
            _resolver.ResolveReference(reference, baseFilePath, properties);

        public override bool Equals(object? other) => other is KeepingResolver keeping && keeping._resolver.Equals(_resolver);

        public override int GetHashCode() => _resolver.GetHashCode();
    }
}
