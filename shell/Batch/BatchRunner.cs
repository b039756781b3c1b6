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
/// A script that runs longer than the timeout has its machine stopped and its loops stopped at their next pass (the
/// polls Ctrl-C uses at the prompt, <see cref="ScriptInterruption"/>), and fails, so that neither a guest that never
/// stops nor a C# loop can hold up CI; C# that blocks without a loop is abandoned (its thread ends with the process).
/// </summary>
public sealed class BatchRunner(ScriptCache cache, Func<TextWriter, ScriptGlobals> newGlobals, int jobs, TimeSpan timeout)
{
    public const string ExpectFailed = "Expect", CompileError = "CompileError", Exception = "Exception", Timeout = "Timeout";

    /// <summary>
    /// How long C# may go on after the deadline stopped the machine before the script is abandoned: enough for a
    /// loaded machine to finish what the script was doing (assembling, JIT) when the stop came.
    /// </summary>
    static readonly TimeSpan Grace = TimeSpan.FromSeconds(3);

    /// <summary>Runs every script and reports each as it finishes (<paramref name="finished"/> is called under a lock,
    /// one script at a time); the results come back in the order of <paramref name="scripts"/>.</summary>
    public async Task<IReadOnlyList<ScriptResult>> RunAsync(IReadOnlyList<string> scripts, Action<ScriptResult> finished)
    {
        var results = new ScriptResult[scripts.Count];
        var gate = new object();
        await Parallel.ForAsync(0, scripts.Count, new ParallelOptions { MaxDegreeOfParallelism = jobs }, async (i, _) =>
        {
            results[i] = await RunOneAsync(scripts[i]);
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
        var interruption = new ScriptInterruption();
        bool timedOut = false;
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Every run the script starts after the deadline is stopped too: a stop request ends the run in progress.
        using var deadline = new Timer(_ =>
        {
            timedOut = true;
            interruption.Request();
            globals.Debugger.Interrupt();
            stopped.TrySetResult();
        }, null, timeout, TimeSpan.FromMilliseconds(100));
        try
        {
            // The script runs synchronously until its first await, so it starts on a thread of its own to be waited for;
            // its loops answer to this script's interruption, wherever its awaits continue.
            var run = Task.Run(() =>
            {
                interruption.Begin();
                return compiled.Run(globals);
            });
            // The grace counts from the stop itself: on a loaded host the timer's callback can come late.
            if (await Task.WhenAny(run, stopped.Task) != run)
                await run.WaitAsync(Grace);
            await run;
        }
        catch (TimeoutException)
        {
            return new(path, [$"timed out after {timeout.TotalSeconds:0.#} s in C# that does not return (raise --timeout?)"], Timeout,
                       output.ToString(), clock.Elapsed, compiled.FromCache);
        }
        catch (ScriptInterruptedException e) when (timedOut)
        {
            return new(path, [$"timed out after {timeout.TotalSeconds:0.#} s: the C# loop at {ScriptErrors.Where(e) ?? "an unknown line"} was stopped (raise --timeout?)",
                              .. globals.Failures.Select(f => f.ToString())], Timeout, output.ToString(), clock.Elapsed, compiled.FromCache);
        }
        catch (Exception e)
        {
            var failures = globals.Failures.Select(f => f.ToString()).Append(ScriptErrors.Runtime(e)).ToList();
            return new(path, failures, Exception, output.ToString(), clock.Elapsed, compiled.FromCache);
        }
        if (timedOut)
            return new(path, [$"timed out after {timeout.TotalSeconds:0.#} s: the machine was stopped (raise --timeout?)",
                              .. globals.Failures.Select(f => f.ToString())], Timeout, output.ToString(), clock.Elapsed, compiled.FromCache);
        return new(path, [.. globals.Failures.Select(f => f.ToString())], ExpectFailed, output.ToString(), clock.Elapsed, compiled.FromCache);
    }
}
