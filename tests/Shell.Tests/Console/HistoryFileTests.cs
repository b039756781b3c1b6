using Repl.Shell.Interactive;

namespace Repl.Shell.Tests.Interactive;

public class HistoryFileTests
{
    static string TempPath() => Path.Combine(Directory.CreateTempSubdirectory("repl-history-").FullName, "repl", "history");

    [Fact]
    public void Lines_appended_in_one_session_are_loaded_by_the_next_oldest_first_without_blank_ones()
    {
        string path = TempPath();
        var first = new HistoryFile(path);
        first.Append("step");
        first.Append("  ");
        first.Append("Cpu.Rax");

        Assert.Equal(["step", "Cpu.Rax"], new HistoryFile(path).Load());
    }

    [Fact]
    public void Only_the_most_recent_entries_are_kept()
    {
        string path = TempPath();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllLines(path, Enumerable.Range(0, HistoryFile.Kept + 5).Select(i => $"line {i}"));

        var loaded = new HistoryFile(path).Load();

        Assert.Equal(HistoryFile.Kept, loaded.Count);
        Assert.Equal("line 5", loaded[0]);
        Assert.Equal(HistoryFile.Kept, File.ReadAllLines(path).Length);
    }

    [Fact]
    public void A_history_that_cannot_be_written_or_read_is_no_error()
    {
        // A regular file where the directory should be: neither creating it nor reading through it can work.
        string blocker = Path.Combine(Directory.CreateTempSubdirectory("repl-history-").FullName, "repl");
        File.WriteAllText(blocker, "");
        var history = new HistoryFile(Path.Combine(blocker, "history"));

        history.Append("step");

        Assert.Empty(history.Load());
    }

    [Fact]
    public void The_default_place_honours_xdg_data_home()
    {
        string? saved = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        try
        {
            Environment.SetEnvironmentVariable("XDG_DATA_HOME", "/tmp/xdg-data");
            Assert.Equal("/tmp/xdg-data/repl/history", HistoryFile.DefaultPath());
        }
        finally
        {
            Environment.SetEnvironmentVariable("XDG_DATA_HOME", saved);
        }
    }
}
