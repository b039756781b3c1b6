using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Repl.GdbStub;

/// <summary>
/// vFile (GDB manual, "Host I/O Packets"): the files of the target, as gdb's default sysroot <c>target:</c> reads
/// them. gdb that was given no file asks for the image's path (qXfer:exec-file:read), then opens, stats and reads
/// the image through these packets, so it needs no copy of its own, even on another host. The target's file system
/// holds the image and nothing else: other paths do not exist (ENOENT, which gdb takes quietly when it looks for
/// separate debug files), and nothing can be written (EACCES). A client on a non-loopback address must not be able
/// to read the host's files through the stub.
/// </summary>
public sealed partial class Session
{
    /// <summary>File-I/O errno values, which the protocol fixes whatever the host's are (GDB manual, "Errno Values").</summary>
    const int Enoent = 2, Ebadf = 9, Eacces = 13, Emfile = 24, Eunknown = 9999;

    /// <summary>Open files a client may hold at once: gdb needs one; a client that keeps opening must not exhaust the
    /// host's handles.</summary>
    const int MaxOpenFiles = 16;

    /// <summary>The protocol's open flags: only reading is allowed, so anything but O_RDONLY (0) is refused.</summary>
    const ulong OpenReadOnly = 0;

    /// <summary>The size of the protocol's struct stat (GDB manual, "struct stat"): 7 four-byte fields, 3 eight-byte
    /// ones, 3 four-byte times, all big-endian.</summary>
    const int StatSize = 64;

    /// <summary>Most a pread reply carries: escaping can double the data, and the reply must fit the packet size.</summary>
    const int MaxPread = Protocol.PacketSize / 2 - 32;

    readonly Dictionary<int, SafeFileHandle> _files = [];
    int _nextFile;

    string HostIo(string packet)
    {
        int colon = packet.IndexOf(':', "vFile:".Length);
        string operation = colon < 0 ? packet["vFile:".Length..] : packet["vFile:".Length..colon];
        string[] arguments = colon < 0 ? [] : packet[(colon + 1)..].Split(',');
        return operation switch
        {
            // One machine, one file system, whichever process gdb names.
            "setfs" => "F0",
            "open" => OpenFile(arguments),
            "pread" => ReadFile(arguments),
            "fstat" => StatFile(arguments),
            "close" => CloseFile(arguments),
            "pwrite" or "unlink" => HostIoError(Eacces),
            _ => "",
        };
    }

    static string HostIoError(int errno) => $"F-1,{errno:x}";

    /// <summary>vFile:open:PATHNAME(hex),FLAGS,MODE.</summary>
    string OpenFile(string[] arguments)
    {
        if (arguments.Length != 3 || Protocol.TryDecodeHex(arguments[0]) is not { } name || !Protocol.TryParseHex(arguments[1], out ulong flags))
            return HostIoError(Einval);
        if (_options.ExecutablePath is not { } image || !SamePath(Encoding.UTF8.GetString(name), image))
            return HostIoError(Enoent);
        if (flags != OpenReadOnly)
            return HostIoError(Eacces);
        if (_files.Count >= MaxOpenFiles)
            return HostIoError(Emfile);
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(image);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log($"cannot open the image for the debugger: {e.Message}");
            return HostIoError(e is FileNotFoundException or DirectoryNotFoundException ? Enoent : Eacces);
        }
        int fd = _nextFile++;
        _files[fd] = handle;
        return $"F{fd:x}";
    }

    static bool SamePath(string requested, string image)
    {
        try
        {
            return Path.GetFullPath(requested) == Path.GetFullPath(image);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return false;
        }
    }

    /// <summary>vFile:pread:FD,COUNT,OFFSET: "F" and the count read, then the bytes, escaped; F0 at the end of the file.</summary>
    string ReadFile(string[] arguments)
    {
        if (arguments.Length != 3 || !Protocol.TryParseHex(arguments[1], out ulong count) || !Protocol.TryParseHex(arguments[2], out ulong offset)
            || offset > long.MaxValue)
            return HostIoError(Einval);
        if (OpenedFile(arguments[0]) is not { } handle)
            return HostIoError(Ebadf);
        var bytes = new byte[(int)Math.Min(count, MaxPread)];
        int read;
        try
        {
            read = RandomAccess.Read(handle, bytes, (long)offset);
        }
        catch (IOException e)
        {
            Log($"cannot read the image for the debugger: {e.Message}");
            return HostIoError(Eunknown);
        }
        return $"F{read:x};" + Encoding.Latin1.GetString(Protocol.EscapeBinary(bytes.AsSpan(0, read)));
    }

    /// <summary>vFile:fstat:FD: "F" and the size of the struct, then the struct, escaped. A read-only regular file
    /// with the image's size and modification time; the fields a host file system would add mean nothing here.</summary>
    string StatFile(string[] arguments)
    {
        if (arguments.Length != 1)
            return HostIoError(Einval);
        if (OpenedFile(arguments[0]) is not { } handle)
            return HostIoError(Ebadf);
        long size = RandomAccess.GetLength(handle);
        var modified = new DateTimeOffset(File.GetLastWriteTimeUtc(_options.ExecutablePath!)).ToUnixTimeSeconds();
        Span<byte> stat = stackalloc byte[StatSize];
        stat.Clear();
        const uint RegularFile = 0x8000, ReadableByAll = 0x124;
        BinaryPrimitives.WriteUInt32BigEndian(stat[8..], RegularFile | ReadableByAll); // st_mode
        BinaryPrimitives.WriteUInt32BigEndian(stat[12..], 1); // st_nlink
        BinaryPrimitives.WriteUInt64BigEndian(stat[28..], (ulong)size); // st_size
        BinaryPrimitives.WriteUInt64BigEndian(stat[36..], 4096); // st_blksize
        BinaryPrimitives.WriteUInt64BigEndian(stat[44..], (ulong)(size + 511) / 512); // st_blocks
        for (int time = 52; time < StatSize; time += 4) // st_atime, st_mtime, st_ctime
            BinaryPrimitives.WriteUInt32BigEndian(stat[time..], (uint)modified);
        return $"F{StatSize:x};" + Encoding.Latin1.GetString(Protocol.EscapeBinary(stat));
    }

    /// <summary>vFile:close:FD.</summary>
    string CloseFile(string[] arguments)
    {
        if (arguments.Length != 1 || !Protocol.TryParseHex(arguments[0], out ulong fd) || fd > int.MaxValue || !_files.Remove((int)fd, out var handle))
            return HostIoError(Ebadf);
        handle.Dispose();
        return "F0";
    }

    SafeFileHandle? OpenedFile(string fd) =>
        Protocol.TryParseHex(fd, out ulong n) && n <= int.MaxValue && _files.TryGetValue((int)n, out var handle) ? handle : null;

    /// <summary>Files the client left open are closed with its session.</summary>
    void CloseAllFiles()
    {
        foreach (var handle in _files.Values)
            handle.Dispose();
        _files.Clear();
    }
}
