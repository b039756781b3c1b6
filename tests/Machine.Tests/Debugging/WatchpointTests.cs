using Iced.Intel;
using Repl.Machine.Tests.SystemArchitecture;
using static Iced.Intel.AssemblerRegisters;
using static Repl.Machine.Tests.SystemTables;

namespace Repl.Machine.Tests.Debugging;

public class WatchpointTests
{
    const ulong Data = Guest.Data, Value = 0x1122_3344_5566_7788;

    /// <summary>The address of the <paramref name="n"/>th instruction of a program assembled at <see cref="Guest.CodeAddress"/>.</summary>
    static ulong AddressOf(Machine m, int n)
    {
        var code = new byte[256];
        m.ReadPhysical(Guest.CodeAddress, code);
        var decoder = Decoder.Create(64, code, Guest.CodeAddress);
        for (int i = 0; i < n; i++)
            decoder.Decode();
        return decoder.IP;
    }

    static void AssertWatchpointStop(StopReason stop, ulong rip, ulong dataAddress, WatchKind kind)
    {
        Assert.Equal(StopKind.Watchpoint, stop.Kind);
        Assert.Equal(rip, stop.Rip);
        Assert.Equal(dataAddress, stop.DataAddress);
        Assert.Equal(kind, stop.Watch);
    }

    /// <summary>Stores RAX to <see cref="Data"/>, loads it into RBX, then halts.</summary>
    static Machine StoreThenLoad()
    {
        var m = Guest.Long(a =>
        {
            a.mov(__qword_ptr[Data], rax);
            a.mov(rbx, __qword_ptr[Data]);
            a.hlt();
        });
        m.State.Gpr[(int)Gpr.Rax] = Value;
        return m;
    }

    [Fact]
    public void A_write_watchpoint_stops_after_the_store_with_RIP_on_the_next_instruction_and_the_new_value_in_memory()
    {
        var m = StoreThenLoad();
        m.Watchpoints.Add(Data, 8, WatchKind.Write);

        AssertWatchpointStop(m.Run(100), AddressOf(m, 1), Data, WatchKind.Write);
        Assert.Equal(Value, m.Bus.Read(Data, 8));
        Assert.Equal(1UL, m.State.InstructionsRetired);
        Guest.RunToHalt(m);
    }

    [Fact]
    public void A_read_watchpoint_lets_the_store_pass_and_stops_after_the_load()
    {
        var m = StoreThenLoad();
        m.Watchpoints.Add(Data, 8, WatchKind.Read);

        AssertWatchpointStop(m.Run(100), AddressOf(m, 2), Data, WatchKind.Read);
        Assert.Equal(Value, m.State.Gpr[(int)Gpr.Rbx]);
        Guest.RunToHalt(m);
    }

    [Fact]
    public void An_access_watchpoint_stops_after_the_store_and_again_after_the_load()
    {
        var m = StoreThenLoad();
        m.Watchpoints.Add(Data, 8, WatchKind.Access);

        AssertWatchpointStop(m.Run(100), AddressOf(m, 1), Data, WatchKind.Access);
        AssertWatchpointStop(m.Run(100), AddressOf(m, 2), Data, WatchKind.Access);
        Guest.RunToHalt(m);
    }

    [Fact]
    public void A_read_modify_write_instruction_hits_a_write_watchpoint_once()
    {
        var m = Guest.Long(a => { a.add(__qword_ptr[Data], 5); a.hlt(); });
        m.Watchpoints.Add(Data, 1, WatchKind.Write);

        AssertWatchpointStop(m.Run(100), AddressOf(m, 1), Data, WatchKind.Write);
        Assert.Equal(5UL, m.Bus.Read(Data, 8));
        Guest.RunToHalt(m);
    }

    /// <summary>The watchpoint covers bytes 4 to 11 of the data; an access of <paramref name="size"/> bytes at
    /// <paramref name="offset"/> hits it when they share a byte, and reports the first watched byte it touched.</summary>
    [Theory]
    [InlineData(0, 4, null)]
    [InlineData(12, 8, null)]
    [InlineData(0, 8, 4)]
    [InlineData(2, 4, 4)]
    [InlineData(8, 8, 8)]
    [InlineData(11, 1, 11)]
    [InlineData(6, 2, 6)]
    public void A_watchpoint_covers_its_whole_length_and_catches_accesses_that_overlap_it_partly(int offset, int size, int? reported)
    {
        var target = Data + (ulong)offset;
        var m = Guest.Long(a =>
        {
            switch (size)
            {
                case 1: a.mov(__byte_ptr[target], al); break;
                case 2: a.mov(__word_ptr[target], ax); break;
                case 4: a.mov(__dword_ptr[target], eax); break;
                default: a.mov(__qword_ptr[target], rax); break;
            }
            a.hlt();
        });
        m.Watchpoints.Add(Data + 4, 8, WatchKind.Write);

        var stop = m.Run(100);
        if (reported is { } first)
            AssertWatchpointStop(stop, AddressOf(m, 1), Data + (ulong)first, WatchKind.Write);
        else
            Assert.Equal(StopKind.Halted, stop.Kind);
    }

    [Fact]
    public void A_store_that_page_faults_does_not_trigger_the_watchpoint_on_its_bytes()
    {
        // The store straddles a mapped page and an unmapped one: both translate before either is written. The #PF
        // is delivered to a HLT handler, so a hit left over from the store would show as a watchpoint stop there.
        const ulong Mapped = 0x20_0000, Straddle = Mapped + 0x1000 - 4;
        var (m, tables) = PageTables.Machine(a => { a.mov(__qword_ptr[Straddle], rax); a.hlt(); });
        Install(m);
        foreach (ulong page in (ulong[])[Mapped, Gdt, Idt, Tss, SystemTables.Handlers])
            tables.Map(page, page, PageTables.Present | PageTables.Writable);
        m.Watchpoints.Add(Straddle, 4, WatchKind.Access);

        var stop = m.Run(100);

        Assert.Equal(StopKind.Halted, stop.Kind);
        Assert.Equal(Handler((int)Vector.PF) + 1, stop.Rip);
        Assert.Equal(Straddle + 4, m.State.Cr2);
    }

    [Fact]
    public void An_instruction_that_faults_after_a_watched_read_delivers_the_fault_and_only_its_completed_retry_stops()
    {
        // MOVSQ reads the watched source, then faults on a non-canonical destination; the #GP handler is a HLT.
        var m = Guest.Long(a => { a.movsq(); a.hlt(); });
        Install(m);
        m.State.Gpr[(int)Gpr.Rsi] = Data;
        m.State.Gpr[(int)Gpr.Rdi] = Guest.NonCanonical;
        m.Watchpoints.Add(Data, 8, WatchKind.Read);

        var stop = m.Run(100);
        Assert.Equal(StopKind.Halted, stop.Kind);
        Assert.Equal(Handler((int)Vector.GP) + 1, stop.Rip);

        m.State.Rip = Guest.CodeAddress;
        m.State.Gpr[(int)Gpr.Rdi] = Data + 0x100;
        AssertWatchpointStop(m.Run(100), AddressOf(m, 1), Data, WatchKind.Read);
    }

    [Fact]
    public void A_REP_string_instruction_stops_after_the_iteration_that_hit_and_resumes_where_it_stopped()
    {
        var m = Guest.Long(a => { a.rep.stosb(); a.hlt(); });
        m.State.Gpr[(int)Gpr.Rax] = 0xAB;
        m.State.Gpr[(int)Gpr.Rcx] = 100;
        m.State.Gpr[(int)Gpr.Rdi] = Data;
        m.Watchpoints.Add(Data + 10, 1, WatchKind.Write);

        AssertWatchpointStop(m.Run(100), Guest.CodeAddress, Data + 10, WatchKind.Write);
        Assert.Equal(89UL, m.State.Gpr[(int)Gpr.Rcx]);
        Assert.Equal(Data + 11, m.State.Gpr[(int)Gpr.Rdi]);
        Assert.Equal(0xABUL, m.Bus.Read(Data + 10, 1));
        Assert.Equal(0UL, m.Bus.Read(Data + 11, 1));

        Guest.RunToHalt(m);
        Assert.Equal(0UL, m.State.Gpr[(int)Gpr.Rcx]);
        Assert.Equal(0xABUL, m.Bus.Read(Data + 99, 1));
    }

    [Fact]
    public void A_REP_string_instruction_whose_last_iteration_hits_stops_on_the_next_instruction()
    {
        var m = Guest.Long(a => { a.rep.stosb(); a.hlt(); });
        m.State.Gpr[(int)Gpr.Rcx] = 4;
        m.State.Gpr[(int)Gpr.Rdi] = Data;
        m.Watchpoints.Add(Data + 3, 1, WatchKind.Write);

        AssertWatchpointStop(m.Run(100), AddressOf(m, 1), Data + 3, WatchKind.Write);
        Assert.Equal(0UL, m.State.Gpr[(int)Gpr.Rcx]);
    }

    [Fact]
    public void A_push_hits_a_watchpoint_on_the_stack_slot_it_writes()
    {
        var m = Guest.Long(a => { a.push(rax); a.hlt(); });
        m.State.Gpr[(int)Gpr.Rax] = Value;
        m.Watchpoints.Add(Guest.StackTop - 8, 8, WatchKind.Write);

        AssertWatchpointStop(m.Run(100), AddressOf(m, 1), Guest.StackTop - 8, WatchKind.Write);
        Assert.Equal(Value, m.Bus.Read(Guest.StackTop - 8, 8));
    }

    [Fact]
    public void An_exception_frame_pushed_onto_a_watched_stack_stops_on_the_handler_first_instruction()
    {
        var m = Guest.Long(a => a.int3());
        Install(m);
        // A 64-bit delivery at CPL 0 stays on the current stack and pushes SS first.
        m.Watchpoints.Add(Guest.StackTop - 8, 8, WatchKind.Write);

        AssertWatchpointStop(m.Run(100), Handler((int)Vector.BP), Guest.StackTop - 8, WatchKind.Write);
        Assert.Equal(Guest.StackTop - 5 * 8, m.State.Gpr[(int)Gpr.Rsp]);
    }

    [Fact]
    public void Watchpoints_leave_the_guest_debug_registers_alone_and_raise_no_debug_exception()
    {
        var m = StoreThenLoad();
        Install(m);
        ulong dr6 = m.State.Dr[6], dr7 = m.State.Dr[7];
        m.Watchpoints.Add(Data, 8, WatchKind.Access);

        AssertWatchpointStop(m.Run(100), AddressOf(m, 1), Data, WatchKind.Access);
        AssertWatchpointStop(m.Run(100), AddressOf(m, 2), Data, WatchKind.Access);
        var stop = m.Run(100);

        Assert.Equal(StopKind.Halted, stop.Kind);
        Assert.Equal(AddressOf(m, 3), stop.Rip); // the program's own HLT, not the #DB handler's
        Assert.Equal(dr6, m.State.Dr[6]);
        Assert.Equal(dr7, m.State.Dr[7]);
        Assert.Equal(0UL, m.State.PendingDebugTraps);
    }

    [Fact]
    public void A_guest_data_breakpoint_on_the_same_bytes_still_raises_its_debug_trap_after_the_watchpoint_stop()
    {
        var m = StoreThenLoad();
        m.State.Dr[0] = Data;
        m.State.Dr[7] = 1 | 1 << 16 | 2 << 18; // L0, R/W0 = 01 (data writes), LEN0 = 10 (8 bytes)
        m.Watchpoints.Add(Data, 8, WatchKind.Write);

        AssertWatchpointStop(m.Run(100), AddressOf(m, 1), Data, WatchKind.Write);
        var stop = m.Run(100);

        Assert.Equal(StopKind.Fault, stop.Kind);
        Assert.Equal(Vector.DB, stop.Vector);
        Assert.Equal(AddressOf(m, 1), stop.Rip);
    }

    [Fact]
    public void A_removed_watchpoint_no_longer_stops_and_the_others_still_do()
    {
        var m = StoreThenLoad();
        int store = m.Watchpoints.Add(Data, 8, WatchKind.Write);
        m.Watchpoints.Add(Data, 8, WatchKind.Read);

        Assert.True(m.Watchpoints.Remove(store));
        Assert.False(m.Watchpoints.Remove(store));

        AssertWatchpointStop(m.Run(100), AddressOf(m, 2), Data, WatchKind.Read);
    }

    [Fact]
    public void Watchpoints_on_the_same_range_are_removed_by_id_one_at_a_time_and_all_at_once_by_Clear()
    {
        var m = StoreThenLoad();
        int first = m.Watchpoints.Add(Data, 8, WatchKind.Write);
        int second = m.Watchpoints.Add(Data, 8, WatchKind.Write);
        m.Watchpoints.Add(Data, 8, WatchKind.Read);

        Assert.True(m.Watchpoints.Remove(second));
        Assert.Equal([(first, WatchKind.Write), (second + 1, WatchKind.Read)], m.Watchpoints.Select(w => (w.Id, w.Kind)));

        m.Watchpoints.Clear();
        Assert.Empty(m.Watchpoints);
        Guest.RunToHalt(m);
    }

    [Fact]
    public void A_watchpoint_of_no_bytes_is_refused()
    {
        var m = StoreThenLoad();
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Watchpoints.Add(Data, 0, WatchKind.Write));
        Assert.Empty(m.Watchpoints);
    }

    [Fact]
    public void A_single_step_onto_a_watched_store_reports_the_watchpoint()
    {
        var m = StoreThenLoad();
        m.Watchpoints.Add(Data, 8, WatchKind.Write);

        AssertWatchpointStop(m.Step(), AddressOf(m, 1), Data, WatchKind.Write);
        Assert.Equal(StopKind.StepDone, m.Step().Kind);
    }

    [Fact]
    public void A_watchpoint_stop_reads_as_its_kind_the_data_address_and_RIP()
    {
        var stop = new StopReason(StopKind.Watchpoint, 0x10_0007, DataAddress: 0x20_0000, Watch: WatchKind.Access);
        Assert.Equal("watchpoint (access) 0x200000 at 0x100007", stop.ToString());
    }
}
