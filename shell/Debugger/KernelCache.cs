using System.Security.Cryptography;
using System.Text;
using Repl.Machine.Kernel;
using Repl.Shell.Batch;

namespace Repl.Shell.Debugging;

/// <summary>
/// The entry kernel's ELF (symbols and DWARF lines) on disk, keyed by the SHA-256 of everything the assembly reads:
/// the embedded sources, the switches and the build of Repl.Machine that assembles them. A start with an unchanged
/// key boots the file instead of assembling some 4,700 lines; any change, or a new build, assembles afresh. The cache
/// is an optimisation only: a file that cannot be read or written is passed over, never an error.
/// <para>Every build and every set of switches adds a file, so the cache keeps the <see cref="Capacity"/> most recently
/// used kernels (a start that boots one uses it) and removes the rest whenever it stores one. Several repl processes
/// may share the directory: removal never touches a file still being written (those have their own names until they
/// are moved in), a file removed while another process reads it stays readable to that process (Unix) or is not
/// removed (Windows), and losing a race only means that some later start assembles again.</para>
/// </summary>
public static class KernelCache
{
    /// <summary>How many kernels the cache keeps: some 150 KiB each, and room for every switch set a user is likely to
    /// alternate between.</summary>
    public const int Capacity = 16;

    /// <summary>A temporary file older than this was left by a process that ended between writing and moving it in.</summary>
    static readonly TimeSpan Abandoned = TimeSpan.FromHours(1);

    /// <summary>$XDG_CACHE_HOME/repl/kernels, else ~/.cache/repl/kernels: beside the compiled scripts.</summary>
    public static string DefaultDirectory => Path.Combine(Path.GetDirectoryName(ScriptCache.DefaultDirectory)!, "kernels");

    /// <summary>The cached ELF for these switches, or null (no directory, no such file, or unreadable). A file found
    /// is marked as just used, so that pruning keeps it.</summary>
    public static byte[]? Read(string? directory, IReadOnlyDictionary<string, long> defines)
    {
        if (directory is null)
            return null;
        string path = PathOf(directory, defines);
        byte[] elf;
        try
        {
            elf = File.ReadAllBytes(path);
        }
        catch (Exception e) when (IsFileError(e))
        {
            return null;
        }
        try
        {
            // The modification time is the use: access times are often not kept (noatime, relatime).
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow);
        }
        catch (Exception e) when (IsFileError(e))
        {
            // Pruned meanwhile, or a cache we may read but not write: the bytes are read all the same.
        }
        return elf;
    }

    /// <summary>Stores <paramref name="elf"/> for these switches, written aside and moved in so that a start in
    /// parallel never reads half a file.</summary>
    public static void Write(string? directory, IReadOnlyDictionary<string, long> defines, byte[] elf)
    {
        if (directory is null)
            return;
        string path = PathOf(directory, defines);
        string partial = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            Directory.CreateDirectory(directory);
            File.WriteAllBytes(partial, elf);
            File.Move(partial, path, overwrite: true);
        }
        catch (Exception e) when (IsFileError(e))
        {
            try
            {
                File.Delete(partial);
            }
            catch (Exception again) when (again is IOException or UnauthorizedAccessException)
            {
                // Left behind in a directory we cannot write: nothing more to do.
            }
            return;
        }
        Prune(directory);
    }

    /// <summary>Removes all but the <see cref="Capacity"/> most recently used kernels, and temporary files abandoned by
    /// processes that were killed while writing.</summary>
    static void Prune(string directory)
    {
        try
        {
            var files = new DirectoryInfo(directory).GetFiles();
            var unused = files.Where(f => f.Extension == ".elf")
                              .OrderByDescending(f => f.LastWriteTimeUtc)
                              .ThenBy(f => f.Name, StringComparer.Ordinal)
                              .Skip(Capacity);
            var abandoned = files.Where(f => f.Extension == ".tmp" && DateTime.UtcNow - f.LastWriteTimeUtc > Abandoned);
            foreach (var file in unused.Concat(abandoned))
            {
                try
                {
                    file.Delete();
                }
                catch (Exception e) when (IsFileError(e))
                {
                    // Open in another process (Windows) or not ours to remove: the next prune tries again.
                }
            }
        }
        catch (Exception e) when (IsFileError(e))
        {
            // The directory went away or cannot be listed: there is nothing to keep bounded.
        }
    }

    static bool IsFileError(Exception e) => e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException;

    static string PathOf(string directory, IReadOnlyDictionary<string, long> defines) => Path.Combine(directory, Key(defines) + ".elf");

    /// <summary>Sources by name, switches by name, then the assembler's build (its module version id changes with
    /// every compile, so a fixed assembler never boots an old one's bytes). Each part is length-prefixed and each group
    /// counted, so no two inputs hash alike by moving text between parts.</summary>
    static string Key(IReadOnlyDictionary<string, long> defines)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string text)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            hash.AppendData(BitConverter.GetBytes(bytes.Length));
            hash.AppendData(bytes);
        }
        Add(EntryKernel.Sources.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var (name, text) in EntryKernel.Sources.OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            Add(name);
            Add(text);
        }
        Add(defines.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var (name, value) in defines.OrderBy(d => d.Key, StringComparer.Ordinal))
            Add($"{name}={value}");
        hash.AppendData(typeof(EntryKernel).Assembly.ManifestModule.ModuleVersionId.ToByteArray());
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
