namespace Repl.Shell.Interactive;

/// <summary>The debugger side of the loop: runs command lines and says where the machine stands.</summary>
public interface ICommandRunner
{
    /// <summary>Every command name and alias, as the user types them.</summary>
    IReadOnlyCollection<string> Names { get; }

    /// <summary>Where the machine stands, for the prompt: mode, CPL, RIP as symbol+offset.</summary>
    string Prompt { get; }

    /// <summary>What Tab offers in place of <paramref name="word"/>, an argument typed after <paramref name="commandLine"/>
    /// (the command and the arguments before the word): whole replacements for the word.</summary>
    IEnumerable<string> Arguments(string commandLine, string word);

    /// <summary>Runs one command line, writing its answer to <paramref name="output"/> and its error, if it fails, to
    /// <paramref name="error"/>; false when it ends the session.</summary>
    bool Execute(string commandLine, TextWriter output, TextWriter error);

    /// <summary>What an empty line after <paramref name="commandLine"/> runs (gdb's repeat: step again, x on after the last
    /// dump), or null for nothing.</summary>
    string? Repeated(string commandLine);

    /// <summary>Asks a running command to stop the machine and return; called from another thread (Ctrl-C).</summary>
    void Interrupt();

    /// <summary>Withdraws an <see cref="Interrupt"/> the command did not take up, once it has ended.</summary>
    void CancelInterrupt();
}

/// <summary>The C# side of the loop: one persistent session.</summary>
public interface ICodeRunner
{
    /// <summary>False while more lines could still complete the submission (an open brace, an unfinished statement).</summary>
    bool IsComplete(string code);

    /// <summary>Evaluates a submission, writing its value to <paramref name="output"/> and its errors to <paramref name="error"/>.</summary>
    void Evaluate(string code, TextWriter output, TextWriter error);

    /// <summary>Asks a running submission to stop (Ctrl-C); called from another thread.</summary>
    void Interrupt();

    /// <summary>The type whose members are the session's globals (Cpu, Msr, Mem, Sym, ...), for completion.</summary>
    Type GlobalsType { get; }
}
