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
/// </summary>
static class KernelCache
{
    /// <summary>$XDG_CACHE_HOME/repl/kernels, else ~/.cache/repl/kernels: beside the compiled scripts.</summary>
    public static string DefaultDirectory => Path.Combine(Path.GetDirectoryName(ScriptCache.DefaultDirectory)!, "kernels");

    /// <summary>The cached ELF for these switches, or null (no directory, no such file, or unreadable).</summary>
    public static byte[]? Read(string? directory, IReadOnlyDictionary<string, long> defines)
    {
        if (directory is null)
            return null;
        try
        {
            return File.ReadAllBytes(PathOf(directory, defines));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            return null;
        }
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
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            try
            {
                File.Delete(partial);
            }
            catch (Exception again) when (again is IOException or UnauthorizedAccessException)
            {
                // Left behind in a directory we cannot write: nothing more to do.
            }
        }
    }

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
