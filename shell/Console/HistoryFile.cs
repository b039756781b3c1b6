namespace Repl.Shell.Interactive;

/// <summary>
/// The line history that survives sessions: one line per entry, appended as each line is entered (so a killed
/// shell keeps what it had), read back at start. A history that cannot be read or written costs the user their
/// recall, never their session.
/// </summary>
public sealed class HistoryFile(string path)
{
    /// <summary>Entries recalled at start; older ones are dropped when the file is rewritten.</summary>
    public const int Kept = 1000;

    public string Path => path;

    /// <summary>$XDG_DATA_HOME/repl/history, or the platform's local application data folder when it is unset
    /// (~/.local/share on Linux, which is XDG's default too).</summary>
    public static string DefaultPath()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        string root = string.IsNullOrEmpty(xdg) ? Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData) : xdg;
        return System.IO.Path.Combine(root, "repl", "history");
    }

    /// <summary>The most recent <see cref="Kept"/> entries, oldest first; the file is trimmed to them.</summary>
    public IReadOnlyList<string> Load()
    {
        try
        {
            if (!File.Exists(path))
                return [];
            var lines = File.ReadAllLines(path);
            if (lines.Length <= Kept)
                return lines;
            var recent = lines[^Kept..];
            File.WriteAllLines(path, recent);
            return recent;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    public void Append(string line)
    {
        if (string.IsNullOrWhiteSpace(line))
            return;
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
            File.AppendAllText(path, line + "\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Recall is a convenience: a read-only home must not stop the shell.
        }
    }
}
