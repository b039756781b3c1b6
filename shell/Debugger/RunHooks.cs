namespace Repl.Shell.Debugging;

/// <summary>
/// Code of the user's that runs while the machine runs: the scripting session's <c>On</c> (instruction hooks and
/// event handlers). The debugger consults it in every run, whatever started it (the shell's <c>continue</c>,
/// <c>step</c>, <c>next</c>, <c>until</c>, <c>finish</c>, the same calls from C#, or gdb's continue and step through
/// gdbserver), so that hooks fire alike.
/// </summary>
public interface IRunHooks
{
    /// <summary>Addresses with instruction hooks: a run stops there, runs them, and goes on unless the stop is also the user's.</summary>
    IReadOnlyCollection<ulong> Addresses { get; }

    /// <summary>Runs the hooks at <paramref name="address"/>, before its instruction executes; throws
    /// <see cref="HookException"/> when one fails.</summary>
    void RunAt(ulong address);

    /// <summary>Throws <see cref="HookException"/>, once, when an event handler failed during the last run (the
    /// failure stopped that run).</summary>
    void ThrowIfFailed();
}

/// <summary>A hook or event handler threw: the run stopped there. The message is the one line the user sees (with the
/// script line); the inner exception is what the handler threw.</summary>
public sealed class HookException(string message, Exception inner) : Exception(message, inner);
