namespace Repl.Shell.Debugging;

/// <summary>A command the user typed cannot be done: the message is the one line they see (what went wrong, and a hint).</summary>
public sealed class CommandException(string message) : Exception(message);
