using System.Diagnostics;

namespace Repl.Shell.Tests.Interactive;

/// <summary>Skips a test when tmux, which gives the interactive tests a real pseudo-terminal, is missing.</summary>
public sealed class TmuxFactAttribute : FactAttribute
{
    public TmuxFactAttribute()
    {
        if (!Tmux.Installed)
            Skip = "tmux not installed (.ci/run installs it)";
    }
}

/// <summary>
/// The built repl on a tmux pseudo-terminal, as a user's terminal runs it: keys go in through send-keys and the
/// screen comes back through capture-pane. Each instance has its own tmux server, so tests run side by side and a
/// user's own tmux is never touched.
/// </summary>
sealed class Tmux : IDisposable
{
    public const int Width = 120, Height = 40;
    static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    readonly string socket = $"repl-test-{Guid.NewGuid():N}";

    public static bool Installed { get; } = Found();

    static bool Found()
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("tmux", "-V") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    /// <summary>Starts repl with <paramref name="args"/>; its history lives under <paramref name="dataHome"/>. When
    /// repl ends, the pane says so with its exit status and stays, so that the test can read it.</summary>
    public Tmux(string dataHome, params string[] args) : this(new Dictionary<string, string> { ["XDG_DATA_HOME"] = dataHome }, args)
    {
    }

    /// <summary>Starts repl with <paramref name="args"/> and these environment variables (XDG_DATA_HOME for its history).</summary>
    public Tmux(Dictionary<string, string> environment, params string[] args)
    {
        string repl = Path.Combine(AppContext.BaseDirectory, "repl.dll");
        string command = $"dotnet {repl} {string.Join(' ', args)}; echo \"[repl exited $?]\"; sleep 600";
        Run(["new-session", "-d", "-x", $"{Width}", "-y", $"{Height}", .. environment.SelectMany(v => new[] { "-e", $"{v.Key}={v.Value}" }), command]);
    }

    /// <summary>Types text literally, as keys.</summary>
    public void Type(string text) => Run("send-keys", "-l", text);

    /// <summary>Presses keys by tmux's names: Enter, Tab, Up, C-c, C-d.</summary>
    public void Press(params string[] keys) => Run(["send-keys", .. keys]);

    public string Screen() => Run("capture-pane", "-p");

    /// <summary>Waits until the screen satisfies <paramref name="condition"/>; fails showing the screen if it never does.</summary>
    public string WaitFor(Func<string, bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            string screen = Screen();
            if (condition(screen))
                return screen;
            if (clock.Elapsed > Patience)
                Assert.Fail($"the screen never showed {what}; it shows:\n{screen}");
            Thread.Sleep(50);
        }
    }

    public string WaitFor(string text) => WaitFor(s => s.Contains(text, StringComparison.Ordinal), $"'{text}'");

    /// <summary>The last non-blank line: where the prompt and the typed text are.</summary>
    public static string LastLine(string screen) => (screen.Split('\n').LastOrDefault(l => l.Trim().Length != 0) ?? "").TrimEnd();

    string Run(params string[] args)
    {
        var start = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-L");
        start.ArgumentList.Add(socket);
        foreach (var a in args)
            start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        string output = p.StandardOutput.ReadToEnd();
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"tmux {string.Join(' ', args)}: {error.Trim()}");
        return output;
    }

    public void Dispose()
    {
        try
        {
            Run("kill-server");
        }
        catch (InvalidOperationException)
        {
            // The server is already gone.
        }
    }
}
