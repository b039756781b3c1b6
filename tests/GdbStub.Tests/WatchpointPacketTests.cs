namespace Repl.GdbStub.Tests;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

public class WatchpointPacketTests
{
    const ulong Data = 0x2000;

    /// <summary>A machine about to run one instruction that accesses the dword at <see cref="Data"/>, then spin.</summary>
    static InMemoryStub Accessing(params byte[] instruction)
    {
        var m = Machine.CreateLongMode();
        m.WritePhysical(InMemoryStub.Code, [.. instruction, 0xEB, 0xFE]);
        m.State.Rip = InMemoryStub.Code;
        return new InMemoryStub(m);
    }

    // mov [0x2000], eax and mov eax, [0x2000], with a SIB byte for the absolute address.
    static readonly byte[] Store = [0x89, 0x04, 0x25, 0x00, 0x20, 0x00, 0x00], Load = [0x8B, 0x04, 0x25, 0x00, 0x20, 0x00, 0x00];

    [Fact]
    public void A_write_watchpoint_stops_after_the_store_and_reports_the_address()
    {
        using var stub = Accessing(Store);
        Assert.Equal("OK", stub.Request($"Z2,{Data:x},4"));

        string reply = stub.Request("c");

        Assert.StartsWith("T05", reply);
        Assert.Contains($"watch:{Data:x};", reply);
        Assert.Equal(InMemoryStub.Code + (ulong)Store.Length, stub.Machine.State.Rip);
    }

    [Fact]
    public void A_read_watchpoint_reports_rwatch_and_an_access_watchpoint_awatch()
    {
        using var read = Accessing(Load);
        using var access = Accessing(Load);
        read.Request($"Z3,{Data + 2:x},1");
        access.Request($"Z4,{Data:x},8");

        Assert.Contains($"rwatch:{Data + 2:x};", read.Request("c"));
        Assert.Contains($"awatch:{Data:x};", access.Request("c"));
    }

    [Fact]
    public void A_removed_watchpoint_no_longer_stops_the_run_and_none_is_left_in_the_machine()
    {
        using var stub = Accessing(Store);
        stub.Request($"Z2,{Data:x},4");
        Assert.Equal("OK", stub.Request($"z2,{Data:x},4"));
        stub.Send("c");
        Assert.Equal(FrameKind.Ack, stub.NextFrame().Kind);

        stub.SendRaw([0x03]);

        Assert.StartsWith("T02", stub.Reply());
        Assert.Empty(stub.Machine.Watchpoints);
    }

    [Fact]
    public void A_session_that_ends_takes_its_watchpoints_out_of_the_machine()
    {
        using var stub = Accessing(Store);
        stub.Request($"Z4,{Data:x},4");

        stub.Request("D");

        Assert.Equal(SessionEnd.Detached, stub.End());
        Assert.Empty(stub.Machine.Watchpoints);
    }

    [Fact]
    public void A_zero_length_watchpoint_is_refused()
    {
        using var stub = Accessing(Store);

        Assert.StartsWith("E", stub.Request($"Z2,{Data:x},0"));
    }
}
