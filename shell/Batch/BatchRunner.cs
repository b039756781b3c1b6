using System.Collections.Concurrent;
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
    /// one script at a time); the results come back in the order of <paramref name="scripts"/>. While it runs, what
    /// scripts write to the console goes to their results' output.</summary>
    public async Task<IReadOnlyList<ScriptResult>> RunAsync(IReadOnlyList<string> scripts, Action<ScriptResult> finished)
    {
        var results = new ScriptResult[scripts.Count];
        ScriptConsole.Install();
        await Parallel.ForAsync(0, scripts.Count, new ParallelOptions { MaxDegreeOfParallelism = jobs },
                                async (i, _) => results[i] = await RunGuardedAsync(scripts[i], finished));
        return results;
    }

    /// <summary>Held while a script is reported finished, and when the process ends under the run (<see cref="Unfinished"/>).</summary>
    readonly Lock _gate = new();

    /// <summary>Set when the process is ending: no script is reported after the unfinished ones.</summary>
    bool _ended;

    /// <summary>A script under way: what it wrote so far, and since when it runs.</summary>
    sealed class Running(string path, Func<string> output, Stopwatch clock)
    {
        public string Path => path;
        public Func<string> Output => output;
        public Stopwatch Clock => clock;
    }

    readonly ConcurrentDictionary<Running, bool> _running = new();

    /// <summary>
    /// The results of the scripts still running when the process is ending under them: one of them called
    /// Environment.Exit(<paramref name="status"/>). The process ends on another thread than the caller's, so the caller
    /// is named only when it is the one script running (always with --jobs 1).
    /// </summary>
    public IReadOnlyList<ScriptResult> Unfinished(int status)
    {
        lock (_gate)
        {
            _ended = true;
            var running = _running.Keys.OrderBy(r => r.Path, StringComparer.Ordinal).ToList();
            string failure = running.Count == 1
                ? $"ended the process with Environment.Exit({status}), which ends every script: the run stopped here"
                : $"did not finish: one of the scripts running ({string.Join(", ", running.Select(r => r.Path))}) ended the process with Environment.Exit({status})";
            return [.. running.Select(r => new ScriptResult(r.Path, [failure], Exception, r.Output(), r.Clock.Elapsed, false))];
        }
    }

    /// <summary>A script's result whatever happens: a failure of the runner with one script is that script's failure,
    /// and the others' results are kept.</summary>
    async Task<ScriptResult> RunGuardedAsync(string path, Action<ScriptResult> finished)
    {
        var clock = Stopwatch.StartNew();
        // What the script writes, through Print and Command or to the console, in the order it wrote it.
        var log = new StringWriter();
        var output = TextWriter.Synchronized(log);
        // The synchronized writer locks itself; a script abandoned at its timeout may still be writing.
        string Output()
        {
            lock (output)
                return log.ToString();
        }
        var running = new Running(path, Output, clock);
        _running[running] = true;
        ScriptConsole.Route(output);
        ScriptResult result;
        try
        {
            result = await RunOneAsync(path, output, Output, clock);
        }
        catch (Exception e)
        {
            result = new(path, [$"internal error in repl run: {e.GetType().Name}: {e.Message} (please report it)"], Exception,
                         Output(), clock.Elapsed, false);
        }
        // One step under the gate, so that a script is always either running or reported when the process ends.
        lock (_gate)
        {
            _running.TryRemove(running, out _);
            if (!_ended)
                finished(result);
        }
        return result;
    }

    async Task<ScriptResult> RunOneAsync(string path, TextWriter output, Func<string> written, Stopwatch clock)
    {
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
                       written(), clock.Elapsed, compiled.FromCache);
        }
        catch (ScriptInterruptedException e) when (timedOut)
        {
            return new(path, [$"timed out after {timeout.TotalSeconds:0.#} s: the C# loop at {ScriptErrors.Where(e) ?? "an unknown line"} was stopped (raise --timeout?)",
                              .. globals.Failures.Select(f => f.ToString())], Timeout, written(), clock.Elapsed, compiled.FromCache);
        }
        catch (Exception e)
        {
            var failures = globals.Failures.Select(f => f.ToString()).Append(ScriptErrors.Runtime(e)).ToList();
            return new(path, failures, Exception, written(), clock.Elapsed, compiled.FromCache);
        }
        if (timedOut)
            return new(path, [$"timed out after {timeout.TotalSeconds:0.#} s: the machine was stopped (raise --timeout?)",
                              .. globals.Failures.Select(f => f.ToString())], Timeout, written(), clock.Elapsed, compiled.FromCache);
        return new(path, [.. globals.Failures.Select(f => f.ToString())], ExpectFailed, written(), clock.Elapsed, compiled.FromCache);
    }
}
