using System.Buffers.Binary;
using System.Text;

namespace Repl.GdbStub.Tests;

/// <summary>vFile against the GDB manual's "Host I/O Packets": the image can be opened, read and stat'ed; nothing
/// else exists on the target, and nothing can be written.</summary>
public sealed class HostIoPacketTests : IDisposable
{
    /// <summary>An image with bytes the framing must escape ('$', '#', '}', '*') among the others.</summary>
    readonly byte[] _contents = [.. Enumerable.Range(0, 300).Select(i => (byte)i)];
    readonly string _image = Path.Combine(Directory.CreateTempSubdirectory("repl-hostio-").FullName, "kernel.elf");

    public HostIoPacketTests() => File.WriteAllBytes(_image, _contents);

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_image)!, recursive: true);

    InMemoryStub Stub() => new(options: new StubOptions { ExecutablePath = _image });

    static string Open(string path, int flags = 0) => $"vFile:open:{Protocol.Hex(path)},{flags:x},0";

    /// <summary>The attachment of an F reply ("Fcount;data"), unescaped, after checking the count it announces.</summary>
    static byte[] Attachment(string reply)
    {
        int semicolon = reply.IndexOf(';');
        Assert.True(reply.StartsWith('F') && semicolon > 0, reply);
        byte[] data = Protocol.UnescapeBinary(Encoding.Latin1.GetBytes(reply[(semicolon + 1)..]))!;
        Assert.Equal(Convert.ToInt32(reply[1..semicolon], 16), data.Length);
        return data;
    }

    [Fact]
    public void The_image_is_opened_read_in_parts_and_stated_as_a_read_only_regular_file()
    {
        using var stub = Stub();
        Assert.Equal("F0", stub.Request("vFile:setfs:0"));
        Assert.Equal("F0", stub.Request(Open(_image)));

        Assert.Equal(_contents[..100], Attachment(stub.Request("vFile:pread:0,64,0")));
        Assert.Equal(_contents[250..], Attachment(stub.Request("vFile:pread:0,1000,fa")));
        Assert.Empty(Attachment(stub.Request("vFile:pread:0,10,12c")));

        byte[] stat = Attachment(stub.Request("vFile:fstat:0"));
        Assert.Equal(64, stat.Length);
        Assert.Equal(0x8124u, BinaryPrimitives.ReadUInt32BigEndian(stat.AsSpan(8))); // S_IFREG, r--r--r--
        Assert.Equal(300ul, BinaryPrimitives.ReadUInt64BigEndian(stat.AsSpan(28)));
        Assert.Equal("F0", stub.Request("vFile:close:0"));
        Assert.Equal("F-1,9", stub.Request("vFile:close:0"));
        Assert.Equal("F-1,9", stub.Request("vFile:pread:0,10,0"));
    }

    [Fact]
    public void Nothing_but_the_image_exists_on_the_target_and_nothing_can_be_written()
    {
        using var stub = Stub();

        Assert.Equal("F-1,2", stub.Request(Open("/etc/passwd")));
        Assert.Equal("F-1,2", stub.Request(Open(_image + ".debug")));
        Assert.Equal("F-1,d", stub.Request(Open(_image, flags: 1))); // O_WRONLY
        Assert.Equal("F-1,d", stub.Request(Open(_image, flags: 0x202))); // O_RDWR | O_CREAT
        Assert.Equal("F-1,d", stub.Request("vFile:pwrite:0,0:x"));
        Assert.Equal("F-1,d", stub.Request($"vFile:unlink:{Protocol.Hex(_image)}"));
        Assert.Equal("F-1,16", stub.Request("vFile:open:zz,0,0"));
        Assert.Equal("F-1,9", stub.Request("vFile:fstat:7"));
    }

    [Fact]
    public void Without_an_image_there_is_no_file_to_open()
    {
        using var stub = new InMemoryStub();

        Assert.Equal("F-1,2", stub.Request(Open(_image)));
    }

    [Fact]
    public void A_client_cannot_hold_more_than_sixteen_files_open()
    {
        using var stub = Stub();
        for (int fd = 0; fd < 16; fd++)
            Assert.Equal($"F{fd:x}", stub.Request(Open(_image)));

        Assert.Equal("F-1,18", stub.Request(Open(_image))); // EMFILE
        Assert.Equal("F0", stub.Request("vFile:close:3"));
        Assert.Equal("F10", stub.Request(Open(_image)));
    }
}
