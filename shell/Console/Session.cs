using System.Text;

namespace Repl.Shell.Interactive;

/// <summary>
/// The read-dispatch loop: each line goes to the debugger or to C# by <see cref="InputRule"/>; C# that is not yet a
/// complete submission gathers further lines. Nothing the user types ends the loop except end of input or a command
/// that quits: a failure of either runner is reported in one line and the prompt comes back.
/// </summary>
public sealed class Session(ICommandRunner commands, ICodeRunner code, ILineReader reader, TextWriter output, TextWriter error)
{
    /// <summary>What the runners report as errors: a line that wrote here failed (<see cref="Failed"/>).</summary>
    readonly ErrorWriter errors = new(error);

    /// <summary>Whether a line failed: a command's error, a C# compile or runtime error, a failed Expect.</summary>
    public bool Failed => errors.Written;

    /// <summary>Said at the first empty line of an unfinished submission, where a user may be stuck.</summary>
    public const string UnfinishedHint = "(unfinished C#: another empty line compiles it as it is, Ctrl-C drops it)";

    /// <summary>Set while a command or a submission runs, so that Ctrl-C stops the machine rather than the line.</summary>
    bool running;

    /// <summary>Makes a Ctrl-C either reach what runs, or be withdrawn when it ends: never left over for the next run.</summary>
    readonly Lock interrupting = new();

    public void Run()
    {
        var pending = new StringBuilder();
        // What an empty line runs: set by each command, cleared by C#, as gdb's last command is.
        string? repeat = null;
        // Empty lines in a row while a submission is unfinished.
        int emptyLines = 0;
        while (true)
        {
            string? prompt = pending.Length == 0 ? commands.Prompt : null;
            StartupTrace.Mark("prompt");
            var read = reader.Read(prompt);
            if (read.Outcome == ReadOutcome.Cleared)
            {
                pending.Clear();
                continue;
            }
            if (read.Outcome == ReadOutcome.End)
            {
                // An unfinished submission at end of input is evaluated so that its error is shown, not lost.
                if (pending.Length != 0)
                    Evaluate(pending.ToString());
                return;
            }

            if (pending.Length != 0)
            {
                emptyLines = read.Text.Trim().Length == 0 && reader.Typed ? emptyLines + 1 : 0;
                pending.Append('\n').Append(read.Text);
                // Two empty lines in a row give up on finishing the submission: the compiler then says what it lacks
                // (a stray brace or parenthesis), instead of a '...' prompt that nothing seems to end.
                // One is not enough, as a blank line inside a method being typed is ordinary.
                if (emptyLines == 1)
                    error.WriteLine(UnfinishedHint);
                if (emptyLines == 2 || Complete(pending.ToString()))
                {
                    Evaluate(pending.ToString());
                    pending.Clear();
                }
                continue;
            }
            emptyLines = 0;

            var input = InputRule.Classify(read.Text, commands.Names.Contains);
            if (input.Kind == InputKind.Empty && repeat is not null && !Execute(repeat))
                return;
            if (input.Kind != InputKind.Empty)
                repeat = input.Kind == InputKind.Command ? commands.Repeated(input.Text) : null;
            if (input.Kind == InputKind.Command && !Execute(input.Text))
                return;
            if (input.Kind == InputKind.CSharp)
            {
                if (Complete(input.Text))
                    Evaluate(input.Text);
                else
                    pending.Append(input.Text);
            }
        }
    }

    /// <summary>Ctrl-C: stops the machine under a running command or submission, and the submission's loops. False
    /// when nothing runs.</summary>
    public bool Interrupt()
    {
        lock (interrupting)
        {
            if (!running)
                return false;
            commands.Interrupt();
            code.Interrupt();
            return true;
        }
    }

    bool Execute(string commandLine)
    {
        bool more = Guarded(commandLine, () => commands.Execute(commandLine, output, errors), fallback: true);
        // The rule is the loop's, so the loop adds it to the command list that a bare help prints.
        if (commandLine == "help")
            output.WriteLine($"\nCommands or C#?\n{InputRule.Help}");
        return more;
    }

    void Evaluate(string submission) => Guarded(submission, () => { code.Evaluate(submission, output, errors); return true; }, fallback: true);

    bool Complete(string submission) => Guarded(submission, () => code.IsComplete(submission), fallback: true);

    T Guarded<T>(string line, Func<T> work, T fallback)
    {
        lock (interrupting)
            running = true;
        try
        {
            return work();
        }
        catch (Exception e)
        {
            // The runners report their users' mistakes themselves; what arrives here is a defect in the shell,
            // and one line about it is better than losing the session.
            errors.WriteLine($"repl: internal error on '{FirstLine(line)}': {e.GetType().Name}: {e.Message}");
            return fallback;
        }
        finally
        {
            // A Ctrl-C that came as the work ended (or stopped a C# loop, with the machine idle) is not for the next run.
            lock (interrupting)
            {
                running = false;
                commands.CancelInterrupt();
            }
        }
    }

    static string FirstLine(string text) => text.Split('\n')[0];

    /// <summary>The error writer, noting that something was written to it.</summary>
    sealed class ErrorWriter(TextWriter error) : TextWriter
    {
        public bool Written { get; private set; }

        public override Encoding Encoding => error.Encoding;

        public override void Write(char value)
        {
            Written = true;
            error.Write(value);
        }

        public override void Write(string? value)
        {
            Written |= !string.IsNullOrEmpty(value);
            error.Write(value);
        }

        public override void Flush() => error.Flush();
    }
}
