using static Iced.Intel.AssemblerRegisters;

namespace Repl.Machine.Tests.Cpu;

/// <summary>No guest input ends in a host exception: each of these ends in a stop reason that says what happened.</summary>
public class BadInputTests
{
    /// <summary>A guest that jumps to itself: only the budget or a stop request ends its run.</summary>
    static Machine Spinning() => Guest.Long(a => { var self = a.CreateLabel(); a.Label(ref self); a.jmp(self); });

    [Fact]
    public void An_undefined_opcode_stops_with_UD_at_its_address()
    {
        var m = Guest.FromBytes(64, 0x90, 0x0F, 0x0B); // nop; ud2
        var stop = m.Run(10);
        Assert.Equal(StopKind.Fault, stop.Kind);
        Assert.Equal(Vector.UD, stop.Vector);
        Assert.Equal(Guest.CodeAddress + 1, stop.Rip);
    }

    [Fact]
    public void An_instruction_longer_than_fifteen_bytes_raises_UD()
    {
        var m = Guest.FromBytes(64, [.. Enumerable.Repeat((byte)0x66, 15), 0x90]);
        var stop = m.Run(10);
        Assert.Equal(Vector.UD, stop.Vector);
        Assert.Equal(Guest.CodeAddress, stop.Rip);
    }

    [Fact]
    public void Executing_from_unbacked_memory_stops_with_a_clear_reason()
    {
        var m = Machine.CreateLongMode(new MachineOptions { RamSize = 16 << 20 });
        Guest.CatchAll(m);
        m.State.Rip = 0x4000_0000; // beyond RAM: the bus answers all-ones, FF FF is an undefined opcode
        var stop = m.Run(10);
        Assert.Equal(StopKind.Fault, stop.Kind);
        Assert.Equal(Vector.UD, stop.Vector);
        Assert.Contains("no RAM or device", stop.ToString());
    }

    [Fact]
    public void A_runaway_loop_ends_when_its_budget_does()
    {
        var m = Spinning();
        var stop = m.Run(12_345);
        Assert.Equal(StopKind.InstructionBudget, stop.Kind);
        Assert.Equal(12_345UL, m.State.InstructionsRetired);
        Assert.Equal(Guest.CodeAddress, stop.Rip);
    }

    [Fact]
    public async Task A_stop_request_from_another_thread_interrupts_a_run()
    {
        var m = Spinning();
        var run = Task.Run(() => m.Run());
        // On a loaded machine the task may start late: ask again until the run has stopped, for at most 10 s.
        for (int i = 0; i < 200 && !run.IsCompleted; i++)
        {
            m.RequestStop();
            await Task.WhenAny(run, Task.Delay(50));
        }
        var stop = await run.WaitAsync(TimeSpan.FromSeconds(1));
        Assert.Equal(StopKind.Interrupted, stop.Kind);
    }

    [Fact]
    public void A_stop_request_made_between_runs_stops_the_next_one_unless_withdrawn()
    {
        var m = Spinning();
        m.RequestStop();
        Assert.Equal(StopKind.Interrupted, m.Run(100).Kind);
        Assert.Equal(0UL, m.State.InstructionsRetired);

        m.RequestStop();
        m.CancelStopRequest();

        Assert.Equal(StopKind.InstructionBudget, m.Run(100).Kind);
        Assert.Equal(100UL, m.State.InstructionsRetired);
    }

    [Fact]
    public void A_withdrawal_withdraws_only_its_requesters_request()
    {
        var m = Spinning();
        m.RequestStop(StopRequester.Remote);
        m.CancelStopRequest(StopRequester.Local);

        Assert.Equal(StopKind.Interrupted, m.Run(100).Kind);
        Assert.Equal(0UL, m.State.InstructionsRetired);
    }

    [Fact]
    public void A_stop_uses_up_every_requesters_request()
    {
        var m = Spinning();
        m.RequestStop(StopRequester.Local);
        m.RequestStop(StopRequester.Remote);

        Assert.Equal(StopKind.Interrupted, m.Run(100).Kind);
        Assert.Equal(StopKind.InstructionBudget, m.Run(100).Kind);
    }

    [Fact]
    public void A_near_jump_to_a_noncanonical_address_faults_on_the_jump()
    {
        var m = Guest.Long(a => { a.mov(rax, 0x0000_8000_0000_0000); a.jmp(rax); });
        var stop = m.Run(10);
        Assert.Equal(Vector.GP, stop.Vector);
        Assert.Equal(0u, stop.ErrorCode);
        Assert.Equal(Guest.CodeAddress + 10, stop.Rip);
    }

    [Fact]
    public void A_memory_access_at_a_noncanonical_address_is_GP_or_SS_for_the_stack()
    {
        var m = Guest.Long(a => { a.mov(rax, 0x0000_8000_0000_0000); a.mov(rbx, __qword_ptr[rax]); });
        Assert.Equal(Vector.GP, m.Run(10).Vector);
        var s = Guest.Long(a => { a.mov(rbp, 0x0000_8000_0000_0000); a.mov(rbx, __qword_ptr[rbp]); });
        var stop = s.Run(10);
        Assert.Equal(Vector.SS, stop.Vector);
        Assert.Equal(0u, stop.ErrorCode);
    }

    [Fact]
    public void An_unimplemented_instruction_raises_UD_and_is_counted()
    {
        var m = Guest.FromBytes(64, 0x0F, 0x01, 0xD0); // xgetbv: not part of the machine
        var stop = m.Run(10);
        Assert.Equal(Vector.UD, stop.Vector);
        Assert.Equal(1, m.Cpu.UnimplementedExecuted["xgetbv"]);
    }
}
