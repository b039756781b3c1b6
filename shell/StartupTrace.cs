using System.Diagnostics;
using System.Runtime;

namespace Repl.Shell;

/// <summary>
/// Where a start's time goes, for whoever measures it: with REPL_STARTUP_TRACE=1 each mark prints to stderr the
/// milliseconds since the process started (to the kernel's 10 ms clock tick), the thread, and how many methods the
/// JIT has compiled so far and in how long (what ReadyToRun images did not cover). Off, a mark costs a test.
/// </summary>
static class StartupTrace
{
    static readonly bool On = Environment.GetEnvironmentVariable("REPL_STARTUP_TRACE") == "1";
    static readonly DateTime Start = On ? Process.GetCurrentProcess().StartTime.ToUniversalTime() : default;

    public static void Mark(string what)
    {
        if (On)
            Console.Error.WriteLine($"[{(DateTime.UtcNow - Start).TotalMilliseconds,5:F0} ms] {what} (thread {Environment.CurrentManagedThreadId}, "
                                    + $"{JitInfo.GetCompiledMethodCount()} methods JIT-compiled in {JitInfo.GetCompilationTime().TotalMilliseconds:F0} ms)");
    }
}
