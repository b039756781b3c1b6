using System.Runtime.CompilerServices;

namespace Repl.Shell.Tests;

/// <summary>
/// The tests' caches live in a directory of their own, removed when the test process ends, so that running the suite
/// leaves nothing in the user's ~/.cache/repl: the entry kernels every debugger writes (DebuggerOptions'
/// KernelCacheDirectory defaults to $XDG_CACHE_HOME/repl/kernels) and the scripts `repl run` compiles. The variable is
/// set before any test runs; the repl processes the tests start inherit it.
/// </summary>
static class TemporaryCache
{
    public static string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("repl-test-cache-").FullName;

    // Before any test, whichever runs first: a fixture would have to be remembered by every test class.
    [ModuleInitializer]
    internal static void Use()
    {
        Environment.SetEnvironmentVariable("XDG_CACHE_HOME", Directory);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A repl the tests started still writing: the system's temporary directory is cleaned in time.
            }
        };
    }
}
