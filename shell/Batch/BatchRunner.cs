using System.Diagnostics;
using Repl.Shell.Scripting;

namespace Repl.Shell.Batch;

/// <summary>How one script ended: passed, or the failures (failed Expects, a compile error, an exception), with what
/// it printed.</summary>
public sealed record ScriptResult(string Path, IReadOnlyList<string> Failures, string FailureType, string Output, TimeSpan Duration, bool FromCache)
{
    public bool Passed => Failures.Count == 0;
    public string Name => System.IO.Path.GetFileName(Path);
}

/// <summary>
/// <c>repl run</c>: each script on a fresh machine, several at once. A script fails when an <c>Expect</c> fails, when
/// it does not compile, or when it throws; its failures name the Expect, its message and the script line.
/// </summary>
public sealed class BatchRunner(ScriptCache cache, Func<TextWriter, ScriptGlobals> newGlobals, int jobs)
{
    public const string ExpectFailed = "Expect", CompileError = "CompileError", Exception = "Exception";

    /// <summary>Runs every script and reports each as it finishes (<paramref name="finished"/> is called under a lock,
    /// one script at a time); the results come back in the order of <paramref name="scripts"/>.</summary>
    public async Task<IReadOnlyList<ScriptResult>> RunAsync(IReadOnlyList<string> scripts, Action<ScriptResult> finished)
    {
        var results = new ScriptResult[scripts.Count];
        var gate = new object();
        await Parallel.ForAsync(0, scripts.Count, new ParallelOptions { MaxDegreeOfParallelism = jobs }, async (i, _) =>
        {
            // The machine runs synchronously inside the script: keep it off the loop's own thread.
            results[i] = await Task.Run(() => RunOneAsync(scripts[i]));
            lock (gate)
                finished(results[i]);
        });
        return results;
    }

    async Task<ScriptResult> RunOneAsync(string path)
    {
        var clock = Stopwatch.StartNew();
        var output = new StringWriter();
        CompiledScript compiled;
        try
        {
            compiled = cache.Load(path);
        }
        catch (IOException e)
        {
            return new(path, [$"cannot read {path}: {e.Message}"], CompileError, "", clock.Elapsed, false);
        }
        if (compiled.Run is null)
            return new(path, compiled.Errors, CompileError, "", clock.Elapsed, false);

        var globals = newGlobals(output);
        try
        {
            await compiled.Run(globals);
        }
        catch (Exception e)
        {
            var failures = globals.Failures.Select(f => f.ToString()).Append(ScriptErrors.Runtime(e)).ToList();
            return new(path, failures, Exception, output.ToString(), clock.Elapsed, compiled.FromCache);
        }
        return new(path, [.. globals.Failures.Select(f => f.ToString())], ExpectFailed, output.ToString(), clock.Elapsed, compiled.FromCache);
    }
}
