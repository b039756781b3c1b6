using System.Collections.Concurrent;

namespace Repl.GdbStub;

// Inside the namespace, so that Machine names the class rather than the Repl.Machine namespace.
using Repl.Machine;

/// <summary>
/// The one thread that runs the machine (DESIGN: "One thread runs the machine. The shell and the GDB stub ask it to
/// run/step/stop"). Everything that touches the machine goes through <see cref="Invoke{T}"/>, in order, so a register
/// read never races a run; only <see cref="RequestStop"/> reaches in from outside, which the machine allows.
/// </summary>
public sealed class MachineHost : IDisposable
{
    readonly BlockingCollection<Action> _work = [];
    readonly Thread _thread;

    public MachineHost(Machine machine)
    {
        Machine = machine;
        _thread = new Thread(() =>
        {
            foreach (var item in _work.GetConsumingEnumerable())
                item();
        }) { IsBackground = true, Name = "machine" };
        _thread.Start();
    }

    public Machine Machine { get; }

    /// <summary>Runs <paramref name="work"/> on the machine's thread; its exception, if any, comes back in the task.</summary>
    public Task<T> Invoke<T>(Func<Machine, T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(() =>
        {
            try
            {
                done.SetResult(work(Machine));
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        });
        return done.Task;
    }

    /// <summary><see cref="Invoke{T}"/>, waiting for the result.</summary>
    public T Call<T>(Func<Machine, T> work) => Invoke(work).GetAwaiter().GetResult();

    /// <summary>Stops a run in progress within a bounded number of instructions.</summary>
    public void RequestStop() => Machine.RequestStop();

    public void Dispose()
    {
        _work.CompleteAdding();
        _thread.Join();
        _work.Dispose();
    }
}
