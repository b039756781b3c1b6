namespace Repl.GdbStub.Tests;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

public class ConnectionTests
{
    [Fact]
    public void A_good_packet_is_acknowledged_before_its_reply()
    {
        using var stub = new InMemoryStub();

        stub.Send("qAttached");

        Assert.Equal(FrameKind.Ack, stub.NextFrame().Kind);
        Assert.Equal("1", stub.Reply());
    }

    [Fact]
    public void A_corrupted_packet_is_NAKed_and_its_retransmission_answered()
    {
        using var stub = new InMemoryStub();

        stub.SendRaw("$qAttached#00"u8);
        Assert.Equal(FrameKind.Nak, stub.NextFrame().Kind);

        Assert.Equal("1", stub.Request("qAttached"));
    }

    [Fact]
    public void A_NAK_of_a_reply_makes_the_stub_send_it_again()
    {
        using var stub = new InMemoryStub();
        stub.Send("qC");
        Assert.Equal(FrameKind.Ack, stub.NextFrame().Kind);
        Assert.Equal("QC1", stub.NextFrame().Text);

        stub.SendRaw("-"u8);

        Assert.Equal("QC1", stub.Reply());
    }

    [Fact]
    public void After_QStartNoAckMode_packets_are_answered_without_acknowledgements()
    {
        using var stub = new InMemoryStub();
        stub.StartNoAckMode();

        stub.Send("qC");

        var first = stub.NextFrame();
        Assert.Equal((FrameKind.Packet, "QC1"), (first.Kind, first.Text));
    }

    [Fact]
    public void Ctrl_C_stops_a_running_guest_with_SIGINT()
    {
        using var stub = InMemoryStub.Announcing(running => running.SendRaw([0x03]));

        Assert.StartsWith("T02", stub.Request("c"));
        Assert.Equal(InMemoryStub.Loop, stub.Host.Call(m => m.State.Rip));
    }

    [Fact]
    public void A_stop_the_stub_asked_for_survives_a_withdrawal_by_the_program_it_runs_in()
    {
        // As the session asks on the client's Ctrl-C, then the shell serving the machine withdraws its own leftover
        // Ctrl-C (a line typed meanwhile has ended), before the run looks at its requests again.
        using var stub = InMemoryStub.Announcing(running =>
        {
            running.Host.RequestStop();
            running.Host.Machine.CancelStopRequest(StopRequester.Local);
        });

        Assert.StartsWith("T02", stub.Request("c"));
    }

    [Fact]
    public void A_Ctrl_C_that_crosses_the_end_of_a_run_does_not_stop_the_next_step()
    {
        using var stub = new InMemoryStub();
        stub.StartNoAckMode();
        Assert.Equal("OK", stub.Request($"Z0,{InMemoryStub.Code + 2:x},1"));
        // The run from Code ends at the breakpoint two instructions on, and the Ctrl-C, in the same write, reaches the
        // session as the run starts: sometimes it stops the run, sometimes the run has ended first, and sometimes it
        // lands between the run's last look at the request and its end. The step after must be a step either way.
        for (int i = 0; i < 500; i++)
        {
            stub.SendRaw([.. Protocol.Frame(System.Text.Encoding.ASCII.GetBytes($"c{InMemoryStub.Code:x}")), 0x03]);
            Assert.Matches("^T0[25]", stub.Reply());

            Assert.StartsWith("T05", stub.Request("s"));
        }
    }

    [Fact]
    public void A_client_that_vanishes_mid_run_leaves_the_machine_stopped_and_the_session_ended()
    {
        using var stub = InMemoryStub.Announcing(running => running.HangUp());
        stub.Send("c");

        Assert.Equal(SessionEnd.ClientGone, stub.End());
        // The machine's thread is free again: the run ended, at the loop.
        Assert.Equal(InMemoryStub.Loop, stub.Host.Call(m => m.State.Rip));
        Assert.Contains(stub.Logged, line => line.Contains("went away"));
    }

    [Fact]
    public void Breakpoints_of_a_session_that_ended_are_removed()
    {
        using var stub = new InMemoryStub();
        Assert.Equal("OK", stub.Request($"Z0,{InMemoryStub.Code + 2:x},1"));

        Assert.Equal("OK", stub.Request("D"));

        Assert.Equal(SessionEnd.Detached, stub.End());
        Assert.Empty(stub.Host.Call(m => m.Cpu.Breakpoints.ToList()));
    }

    [Fact]
    public void Console_output_precedes_the_stop_reply_of_an_unusual_stop()
    {
        var m = Machine.CreateLongMode();
        // mov al, 0x20; out 0xf4, al: the debug-exit port, which ends the guest with status (0x20 << 1) | 1.
        m.WritePhysical(InMemoryStub.Code, [0xB0, 0x20, 0xE6, 0xF4]);
        m.State.Rip = InMemoryStub.Code;
        using var stub = new InMemoryStub(m);

        Assert.Equal("W41", stub.Request("c"));
        Assert.Contains("debug exit with status 65", stub.Console.ToString());
    }
}
