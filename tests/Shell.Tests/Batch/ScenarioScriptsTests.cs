using System.Diagnostics;

namespace Repl.Shell.Tests.Batch;

/// <summary>The starter scenarios in scripts/ are executable documentation: they must all pass in batch.</summary>
public class ScenarioScriptsTests
{
    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Repl.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Repl.sln not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public async Task Every_scenario_in_scripts_passes_under_repl_run()
    {
        string scripts = Path.Combine(RepositoryRoot(), "scripts");
        var files = Directory.GetFiles(scripts, "*.csx").Order().ToList();
        Assert.True(files.Count >= 4, $"the starter set is in {scripts}");

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["XDG_CACHE_HOME"] = Directory.CreateDirectory(Path.Combine(TemporaryCache.Directory, "scenarios")).FullName;
        foreach (string a in new[] { Path.Combine(AppContext.BaseDirectory, "repl.dll"), "run" }.Concat(files))
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.True(process.ExitCode == 0, output + await error);
        Assert.Equal($"{files.Count} passed, 0 failed", output.TrimEnd().Split('\n')[^1]);
    }
}
