namespace Repl.GdbStub.Tests;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

public class ExecutionPacketTests
{
    static readonly string Rip = $"{TargetDescription.IndexOf("rip"):x2}:";

    [Fact]
    public void The_first_stop_reply_is_SIGTRAP_for_the_one_thread()
    {
        using var stub = new InMemoryStub();

        Assert.Equal("T05thread:1;", stub.Request("?"));
    }

    [Fact]
    public void s_executes_one_instruction_and_reports_SIGTRAP_with_the_new_rip()
    {
        using var stub = new InMemoryStub();

        string reply = stub.Request("s");

        Assert.StartsWith("T05", reply);
        Assert.Contains(Rip + InMemoryStub.Hex(InMemoryStub.Code + 1, 8), reply);
        Assert.Equal(InMemoryStub.Code + 1, stub.Machine.State.Rip);
        Assert.Equal(reply, stub.Request("?"));
    }

    [Fact]
    public void c_runs_to_a_software_breakpoint_and_says_swbreak()
    {
        using var stub = new InMemoryStub();
        stub.Request($"Z0,{InMemoryStub.Code + 2:x},1");

        string reply = stub.Request("c");

        Assert.StartsWith("T05", reply);
        Assert.Contains("swbreak:;", reply);
        Assert.Equal(InMemoryStub.Code + 2, stub.Machine.State.Rip);
    }

    [Fact]
    public void A_hardware_breakpoint_stops_the_run_and_says_hwbreak_without_touching_the_guest_debug_registers()
    {
        using var stub = new InMemoryStub();
        stub.Request($"Z1,{InMemoryStub.Code + 2:x},1");

        string reply = stub.Request("vCont;c:1");

        Assert.Contains("hwbreak:;", reply);
        Assert.Equal(InMemoryStub.Code + 2, stub.Machine.State.Rip);
        Assert.Equal(0UL, stub.Machine.State.Dr[7]);
    }

    [Fact]
    public void A_removed_breakpoint_no_longer_stops_the_run()
    {
        using var stub = new InMemoryStub();
        stub.Request($"Z0,{InMemoryStub.Code + 2:x},1");
        stub.Request($"z0,{InMemoryStub.Code + 2:x},1");
        stub.Send("c");
        Assert.Equal(FrameKind.Ack, stub.NextFrame().Kind);

        stub.SendRaw([0x03]);

        Assert.StartsWith("T02", stub.Reply());
    }

    [Fact]
    public void Continuing_from_a_breakpoint_resumes_past_it()
    {
        using var stub = new InMemoryStub();
        stub.Request($"Z0,{InMemoryStub.Code:x},1");
        stub.Request($"Z0,{InMemoryStub.Code + 2:x},1");

        stub.Request("c");

        Assert.Equal(InMemoryStub.Code + 2, stub.Machine.State.Rip);
    }

    [Fact]
    public void vCont_range_stepping_steps_until_rip_leaves_the_range()
    {
        using var stub = new InMemoryStub();

        string reply = stub.Request($"vCont;r{InMemoryStub.Code:x},{InMemoryStub.Code + 5:x}:1");

        Assert.StartsWith("T05", reply);
        Assert.Equal(InMemoryStub.Loop, stub.Machine.State.Rip);
        Assert.Equal(1UL, stub.Machine.State.Gpr[(int)Gpr.Rax]);
    }

    [Fact]
    public void Range_stepping_stops_at_a_breakpoint_inside_the_range()
    {
        using var stub = new InMemoryStub();
        stub.Request($"Z0,{InMemoryStub.Code + 2:x},1");

        string reply = stub.Request($"vCont;r{InMemoryStub.Code:x},{InMemoryStub.Code + 5:x}");

        Assert.Contains("swbreak:;", reply);
        Assert.Equal(InMemoryStub.Code + 2, stub.Machine.State.Rip);
    }

    [Fact]
    public void vCont_question_lists_the_actions_range_stepping_included()
    {
        using var stub = new InMemoryStub();

        Assert.Equal("vCont;c;C;s;S;r", stub.Request("vCont?"));
    }

    [Fact]
    public void A_signal_given_with_S_is_ignored_and_the_step_happens()
    {
        using var stub = new InMemoryStub();

        Assert.StartsWith("T05", stub.Request("S0b"));
        Assert.Equal(InMemoryStub.Code + 1, stub.Machine.State.Rip);
    }

    [Fact]
    public void c_with_an_address_resumes_there()
    {
        using var stub = new InMemoryStub();
        stub.Request($"Z0,{InMemoryStub.Code + 5:x},1");

        stub.Request($"c{InMemoryStub.Code + 2:x}");

        Assert.Equal(InMemoryStub.Loop, stub.Machine.State.Rip);
        Assert.Equal(1UL, stub.Machine.State.Gpr[(int)Gpr.Rax]);
    }

    [Theory]
    [InlineData(Vector.DE, GdbSignal.Fpe)]
    [InlineData(Vector.UD, GdbSignal.Ill)]
    [InlineData(Vector.GP, GdbSignal.Segv)]
    [InlineData(Vector.PF, GdbSignal.Segv)]
    [InlineData(Vector.BP, GdbSignal.Trap)]
    [InlineData(Vector.AC, GdbSignal.Bus)]
    public void A_fault_stop_carries_the_signal_a_unix_kernel_would_send(Vector vector, GdbSignal signal)
    {
        Assert.Equal(signal, StopReplies.SignalFor(new StopReason(StopKind.Fault, 0, vector)));
    }

    [Fact]
    public void A_triple_fault_stops_with_SIGSEGV_and_an_explanation_on_the_console()
    {
        var m = Machine.CreateLongMode();
        m.WritePhysical(InMemoryStub.Code, [0x0F, 0x0B]); // UD2, with no IDT to deliver it through
        m.State.Rip = InMemoryStub.Code;
        using var stub = new InMemoryStub(m);

        Assert.StartsWith("T0b", stub.Request("c"));
        Assert.Contains("triple fault", stub.Console.ToString());
    }

    [Fact]
    public void k_ends_the_session_without_a_reply_and_leaves_the_machine_as_it_was()
    {
        using var stub = new InMemoryStub();
        stub.Request("s");

        stub.Send("k");

        Assert.Equal(SessionEnd.Killed, stub.End());
        Assert.Equal(InMemoryStub.Code + 1, stub.Machine.State.Rip);
    }
}
