namespace Repl.Machine;

/// <summary>An image the loaders cannot load: the message is one line saying what is wrong and where.</summary>
public sealed class LoaderException(string message) : Exception(message);
