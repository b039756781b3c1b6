namespace Repl.GdbStub;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>
/// c, s, C, S and vCont (c, C, s, S, r): the machine runs (or range-steps) on the host's thread while this one
/// watches the connection for Ctrl-C (0x03), which becomes <see cref="Machine.RequestStop"/>, and for the client going
/// away, which stops the machine too; a single step runs here. A signal given with C or S is ignored: a bare machine has no signals to deliver
/// (QEMU does the same). A resume address (c ADDR) sets RIP first.
/// </summary>
public sealed partial class Session
{
    string? LegacyResume(string packet)
    {
        bool step = packet[0] is 's' or 'S';
        string arguments = packet[1..];
        // C sig[;addr] and S sig[;addr]: drop the signal.
        if (packet[0] is 'C' or 'S')
            arguments = arguments.IndexOf(';') is int semicolon and >= 0 ? arguments[(semicolon + 1)..] : "";
        if (arguments.Length != 0)
        {
            if (!Protocol.TryParseHex(arguments, out ulong address))
                return Error(Einval);
            _host.Call(m => { m.WriteRegister(Repl.Machine.Register.Rip, address); return 0; });
        }
        return step ? SingleStep() : Resume(m => m.Run());
    }

    /// <summary>One instruction ends in bounded time (a long REP string instruction retires in chunks), so it runs on
    /// this thread without the watch for Ctrl-C that a run needs. (A host's hook that runs on arrival is the user's
    /// code, which Ctrl-C does not stop in the shell's own steps either.)</summary>
    string SingleStep() => Reply(_host.Call(m => Run(m, static m => m.Step())));

    /// <summary>One run for the client: through the host when one takes part in runs (<see cref="IRunHost"/>), else
    /// straight on the machine.</summary>
    (StopReason Stop, string? Explanation) Run(Machine m, Func<Machine, StopReason> how) =>
        _options.RunHost is { } host ? host.Run(() => how(m), IsClientBreakpoint) : (how(m), null);

    /// <summary>vCont;action[:thread]...: the first action that applies to our thread is the one taken.</summary>
    string? ContinueWithActions(string actions)
    {
        foreach (string item in actions.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            int colon = item.IndexOf(':');
            if (colon >= 0 && !IsOurThread(item[(colon + 1)..]))
                continue;
            string action = colon >= 0 ? item[..colon] : item;
            if (action.Length == 0)
                return Error(Einval);
            switch (action[0])
            {
                case 'c' or 'C' when action.Length == 1 || action[0] == 'C':
                    return Resume(m => m.Run());
                case 's' or 'S' when action.Length == 1 || action[0] == 'S':
                    return SingleStep();
                case 'r':
                    int comma = action.IndexOf(',');
                    if (comma < 0 || !Protocol.TryParseHex(action.AsSpan(1, comma - 1), out ulong start) || !Protocol.TryParseHex(action.AsSpan(comma + 1), out ulong end))
                        return Error(Einval);
                    return Resume(m => StepOutOfRange(m, start, end));
                default:
                    return Error(Einval);
            }
        }
        return Error(Einval);
    }

    /// <summary>Range stepping: step while RIP stays in [start, end), as gdb's "next" over a line wants, without a
    /// round trip per instruction. Any other stop (a watchpoint, Ctrl-C) ends it early, and so does reaching a
    /// breakpoint inside the range, which each step, starting where the last one ended, would otherwise pass over.</summary>
    static StopReason StepOutOfRange(Machine m, ulong start, ulong end)
    {
        while (true)
        {
            var stop = m.Step();
            if (stop.Kind != StopKind.StepDone || stop.Rip < start || stop.Rip >= end)
                return stop;
            if (m.Cpu.Breakpoints.Contains(stop.Rip))
                return stop with { Kind = StopKind.Breakpoint };
        }
    }

    /// <summary>
    /// Runs <paramref name="how"/> on the machine's thread and answers with the stop reply. While it runs, a Ctrl-C
    /// from the client asks the machine to stop. If the client goes away, the machine is stopped and the session ends
    /// (returning null: there is nobody to reply to).
    /// </summary>
    string? Resume(Func<Machine, StopReason> how)
    {
        var run = _host.Invoke(m => Run(m, how));
        try
        {
            while (!run.IsCompleted)
            {
                var input = _connection.WaitForInputAsync();
                Task.WaitAny(run, input);
                if (!input.IsCompleted)
                    continue;
                if (!input.Result)
                {
                    if (!run.IsCompleted)
                        _host.RequestStop();
                    run.Wait();
                    Log($"the debugger went away while the machine ran; stopped at 0x{run.Result.Stop.Rip:x}");
                    _end = SessionEnd.ClientGone;
                    return null;
                }
                while (_connection.ReceiveBuffered() is { } frame)
                {
                    if (frame.Kind == FrameKind.Interrupt && !run.IsCompleted)
                        _host.RequestStop();
                    else if (frame.Kind == FrameKind.Packet)
                        _deferred.Enqueue(frame);
                }
            }
        }
        finally
        {
            // A request made as the run ended on its own (a Ctrl-C crossing a breakpoint stop) is still pending, and
            // would stop the next continue or step before its first instruction with a SIGINT nobody sent for it.
            // This thread makes every request of the run, and makes no more, so none is lost that still mattered.
            _host.CancelStopRequest();
        }
        return Reply(run.Result);
    }

    /// <summary>The stop reply, which '?' repeats, after any explanation on the console: the host's, or the stop's own.</summary>
    string Reply((StopReason Stop, string? Explanation) run)
    {
        if ((run.Explanation ?? (StopReplies.NeedsExplaining(run.Stop) ? run.Stop.ToString() : null)) is { } line)
            ConsoleOutput(line);
        _lastStop = StopReply(run.Stop);
        return _lastStop;
    }

    /// <summary>An O packet: text on the client's console, allowed while the target runs (before its stop reply).</summary>
    void ConsoleOutput(string line) => _connection.Send("O" + Protocol.Hex("repl: " + line + "\n"));

    string StopReply(StopReason stop)
    {
        if (stop.Kind == StopKind.DebugExit)
            return StopReplies.Exited(stop.ExitStatus ?? 0);
        string? reason = stop.Kind switch
        {
            StopKind.Breakpoint => BreakpointReason(stop.Rip),
            StopKind.Watchpoint => WatchReason(stop),
            _ => null,
        };
        return _host.Call(m =>
        {
            ReadOnlySpan<int> expedited = [ExpeditedRbp, ExpeditedRsp, ExpeditedRip];
            var values = new (int, string)[expedited.Length];
            for (int i = 0; i < expedited.Length; i++)
                values[i] = (expedited[i], RegisterHex(m, TargetDescription.Registers[expedited[i]]));
            return StopReplies.Stopped(StopReplies.SignalFor(stop), reason, values);
        });
    }

    static readonly int ExpeditedRbp = TargetDescription.IndexOf("rbp"), ExpeditedRsp = TargetDescription.IndexOf("rsp"),
                        ExpeditedRip = TargetDescription.IndexOf("rip");
}
