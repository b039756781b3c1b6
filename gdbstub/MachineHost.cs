using System.Collections.Concurrent;

namespace Repl.GdbStub;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>
/// Who may touch the machine, and when (DESIGN: "One thread runs the machine. The shell and the GDB stub ask it to
/// run/step/stop"). Runs, which take as long as the guest wants, go to the host's own thread (<see cref="Invoke{T}"/>)
/// so that the caller stays free to watch for Ctrl-C; short work — register and memory access, a single step — runs
/// on the caller's thread (<see cref="Call{T}"/>), saving two thread switches per packet, which is most of a
/// packet's cost. Both hold the host's lock, so the machine is touched by one thread at a time and nothing reads it in
/// the middle of a run; only <see cref="RequestStop"/> reaches in without it, which the machine allows.
/// </summary>
public sealed class MachineHost : IDisposable
{
    readonly BlockingCollection<Action> _runs = [];
    readonly Thread _thread;
    readonly Lock _machine;

    /// <param name="guard">The lock the machine's owner already holds while it uses the machine itself (the shell, around
    /// each command and C# submission at its prompt), so that the owner and the stub take turns; null for a lock of
    /// the host's own.</param>
    public MachineHost(Machine machine, Lock? guard = null)
    {
        Machine = machine;
        _machine = guard ?? new Lock();
        _thread = new Thread(() =>
        {
            foreach (var run in _runs.GetConsumingEnumerable())
                run();
        }) { IsBackground = true, Name = "machine" };
        _thread.Start();
    }

    public Machine Machine { get; }

    /// <summary>Runs <paramref name="work"/> on the host's thread; its exception, if any, comes back in the task.</summary>
    public Task<T> Invoke<T>(Func<Machine, T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _runs.Add(() =>
        {
            try
            {
                done.SetResult(Call(work));
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        });
        return done.Task;
    }

    /// <summary>Runs <paramref name="work"/> on this thread once no other work touches the machine. The lock is
    /// re-entrant: work may call again (a monitor command of the shell's that reads a register).</summary>
    public T Call<T>(Func<Machine, T> work)
    {
        lock (_machine)
            return work(Machine);
    }

    /// <summary>Stops a run in progress within a bounded number of instructions. The request is the stub's own, so that
    /// the shell serving this machine, withdrawing its own leftover Ctrl-C, leaves it in place.</summary>
    public void RequestStop() => Machine.RequestStop(StopRequester.Remote);

    /// <summary>Withdraws the stub's stop request the last run did not honour, once that run is over.</summary>
    public void CancelStopRequest() => Machine.CancelStopRequest(StopRequester.Remote);

    public void Dispose()
    {
        _runs.CompleteAdding();
        _thread.Join();
        _runs.Dispose();
    }
}
