using System.CommandLine;
using Repl.Shell.Debugging;
using Repl.Shell.Scripting;

namespace Repl.Shell.Batch;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary><c>repl run SCRIPT.csx... [--junit FILE] [--jobs N] [--image FILE] [--define NAME=VALUE] [--cpu intel|amd] [-- ARGS]</c>.</summary>
public static class RunCommand
{
    /// <summary>Every script passed; some failed; the command line or an input file was wrong.</summary>
    public const int AllPassed = 0, SomeFailed = 1, Usage = 2;

    public static Command Create(Option<CpuVendor> cpu)
    {
        var scripts = new Argument<string[]>("scripts") { Description = "The .csx scenarios to run", Arity = ArgumentArity.OneOrMore };
        var junit = new Option<string?>("--junit") { Description = "Also write the results as JUnit XML to this file" };
        var jobs = new Option<int>("--jobs", "-j")
        {
            Description = "How many scripts run at once (the default is the number of processors)",
            DefaultValueFactory = _ => Environment.ProcessorCount,
        };
        var timeout = new Option<double>("--timeout")
        {
            Description = "Seconds a script may run before its machine and its C# loops are stopped and it fails",
            DefaultValueFactory = _ => DefaultTimeout.TotalSeconds,
        };
        var image = new Option<string?>("--image")
        {
            Description = "Load each script's machine from this image: multiboot, ELF, or a .S source (default: the entry kernel)",
        };
        var define = Asm.DefinesOption("--define", "Set an entry-kernel switch (KPTI, PCID, LA57, SYSRET_CHECK, ILLUMOS) or a .S image's symbol (repeatable)");
        var command = new Command("run", "Run .csx scenarios in batch, each on a fresh machine, in parallel. A script fails when an Expect\n"
                                         + "fails, when it does not compile, or when it throws. Arguments after -- reach every script as Args.\n"
                                         + "Each machine boots the entry kernel, stopped at its first instruction, as 'repl' does. In a script,\n"
                                         + "Boot(\"SYSRET_CHECK=0\") boots it again with other switches (Boot(CpuVendor.Amd) on another profile),\n"
                                         + "and BareMachine() gives the bare long-mode machine instead, for a script that writes its own kernel.\n"
                                         + "What a script prints (Print, Command, Console) shows under its result and in the JUnit system-out.\n"
                                         + $"Exit status: {AllPassed} all passed, {SomeFailed} some failed, {Usage} usage error. A script that calls\n"
                                         + "Environment.Exit(N) ends the whole run with status N: the scripts done so far, and those cut short as\n"
                                         + "failures, are still reported and written to --junit.\n"
                                         + "Example: repl run scripts/*.csx --junit results.xml -- verbose; repl run --define KPTI=0 scripts/swapgs.csx")
        {
            scripts, junit, jobs, timeout, image, define, cpu,
        };
        command.SetAction(result =>
        {
            // Tokens after "--" are the scripts' arguments; the parser hands them to the scripts argument too.
            var tokens = result.Tokens;
            int dashes = tokens.ToList().FindIndex(t => t.Type == System.CommandLine.Parsing.TokenType.DoubleDash);
            string[] scriptArgs = dashes < 0 ? [] : [.. tokens.Skip(dashes + 1).Select(t => t.Value)];
            string[] paths = result.GetValue(scripts)!;
            return Run(new RunOptions(paths[..(paths.Length - scriptArgs.Length)], scriptArgs, result.GetValue(junit), result.GetValue(jobs),
                                      TimeSpan.FromSeconds(result.GetValue(timeout)), result.GetValue(image), result.GetValue(cpu), ScriptCache.DefaultDirectory)
                       {
                           Defines = result.GetValue(define)!,
                       },
                       Console.Out, Console.Error, interactive: !Console.IsOutputRedirected);
        });
        return command;
    }

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);

    public sealed record RunOptions(IReadOnlyList<string> Scripts, IReadOnlyList<string> Args, string? JUnit, int Jobs, TimeSpan Timeout, string? Image,
                                    CpuVendor Vendor, string CacheDirectory)
    {
        /// <summary>The entry kernel's switches, or a .S image's symbols (--define).</summary>
        public IReadOnlyDictionary<string, long> Defines { get; init; } = new Dictionary<string, long>();
    }

    public static int Run(RunOptions options, TextWriter output, TextWriter error, bool interactive)
    {
        if (options.Scripts.Count == 0)
            return Fail(error, "no scripts to run (try 'repl run scripts/*.csx')");
        if (options.Jobs < 1)
            return Fail(error, $"--jobs {options.Jobs}: give at least 1");
        if (options.Timeout <= TimeSpan.Zero)
            return Fail(error, $"--timeout {options.Timeout.TotalSeconds}: give a number of seconds above 0");
        if (options.Scripts.FirstOrDefault(s => !File.Exists(s)) is { } missing)
            // The parser hands an option it does not know to the scripts argument.
            return Fail(error, missing.StartsWith('-') ? $"no option {missing} (try 'repl run --help')" : $"no script {missing} (try 'repl run --help')");
        // Without an image, scripts get the entry kernel, as the interactive shell does (BareMachine() opts out).
        var debuggerOptions = new DebuggerOptions { Vendor = options.Vendor, Image = options.Image, Defines = options.Defines };
        try
        {
            // Build one machine here, so a bad image is one usage error rather than a failure in every script.
            Debugger.Create(debuggerOptions);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or LoaderException or CommandException)
        {
            return Fail(error, options.Image is null ? e.Message : $"cannot load {options.Image}: {e.Message}");
        }

        var runner = new BatchRunner(new ScriptCache(options.CacheDirectory), log => new ScriptGlobals(Debugger.Create(debuggerOptions), options.Args, log), options.Jobs,
                                     options.Timeout);
        var progress = new Progress(output, options.Scripts.Count, interactive);
        // Environment.Exit in a script ends the process under the run, so that the scripts that finished, the one that
        // exited and those it cut short are reported and written to the JUnit file before it goes, with its status.
        void Exiting(object? sender, EventArgs e)
        {
            foreach (var result in runner.Unfinished(Environment.ExitCode))
                progress.Finished(result);
            progress.Done();
            Report(progress.Results, options.JUnit, output, error);
        }
        AppDomain.CurrentDomain.ProcessExit += Exiting;
        IReadOnlyList<ScriptResult> results;
        try
        {
            results = runner.RunAsync(options.Scripts, progress.Finished).GetAwaiter().GetResult();
            progress.Done();
        }
        finally
        {
            AppDomain.CurrentDomain.ProcessExit -= Exiting;
        }
        return Report(results, options.JUnit, output, error);
    }

    /// <summary>The end of a run: the JUnit file if asked for, the count, and the exit status.</summary>
    static int Report(IReadOnlyList<ScriptResult> results, string? junit, TextWriter output, TextWriter error)
    {
        if (junit is not null)
        {
            try
            {
                JUnitReport.Save(results, junit);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error.WriteLine($"repl: cannot write {junit}: {e.Message}");
            }
        }
        int failed = results.Count(r => !r.Passed);
        output.WriteLine($"{results.Count - failed} passed, {failed} failed");
        output.Flush();
        return failed == 0 ? AllPassed : SomeFailed;
    }

    static int Fail(TextWriter error, string message)
    {
        error.WriteLine($"repl: {message}");
        return Usage;
    }

    /// <summary>One line per finished script; on a terminal, also a status line below them that counts what is done.</summary>
    sealed class Progress(TextWriter output, int total, bool interactive)
    {
        const string ClearLine = "\r\x1b[K";
        readonly List<ScriptResult> _results = [];

        /// <summary>The scripts reported so far, in the order they finished.</summary>
        public IReadOnlyList<ScriptResult> Results => _results;

        public void Finished(ScriptResult result)
        {
            _results.Add(result);
            if (interactive)
                output.Write(ClearLine);
            string cached = result.FromCache ? ", cached" : "";
            output.WriteLine($"{(result.Passed ? "PASS" : "FAIL")} {result.Path} ({result.Duration.TotalSeconds:0.00} s{cached})");
            foreach (string failure in result.Failures)
                output.WriteLine("  " + failure);
            // What the script printed, under it and marked as its own: scripts run in parallel.
            output.Write(string.Concat(result.Output.Split('\n').Where(l => l.Length != 0).Select(l => "  | " + l + "\n")));
            if (interactive && _results.Count < total)
                output.Write($"[{_results.Count}/{total}] running...");
            output.Flush();
        }

        public void Done()
        {
            if (interactive)
                output.Write(ClearLine);
        }
    }
}
