using System.Text;

namespace Repl.Shell.Batch;

/// <summary>
/// Console.Out and Console.Error while scripts run in parallel. The console is one for the process, so each write
/// goes to the log of the script whose code made it: the script's log flows, as an AsyncLocal, into the threads and
/// tasks it starts (its hooks run on the thread that runs its machine). A write from elsewhere reaches the console.
/// </summary>
public sealed class ScriptConsole : TextWriter
{
    static readonly AsyncLocal<TextWriter?> Log = new();
    readonly TextWriter _console;

    ScriptConsole(TextWriter console) => _console = console;

    static readonly Lock Installing = new();
    static TextWriter? _out, _error;

    /// <summary>Routes the console, unless it is routed already. It stays so: with no script's log in the flow, a
    /// write reaches the console as before, and runs that overlap (in tests) share one router.</summary>
    public static void Install()
    {
        lock (Installing)
        {
            // Console.SetOut wraps the writer it is given in a synchronized one: that is what Console.Out returns.
            if (!ReferenceEquals(Console.Out, _out))
            {
                Console.SetOut(new ScriptConsole(Console.Out));
                _out = Console.Out;
            }
            if (!ReferenceEquals(Console.Error, _error))
            {
                Console.SetError(new ScriptConsole(Console.Error));
                _error = Console.Error;
            }
        }
    }

    /// <summary>From here on, in this async flow, the console writes to <paramref name="log"/>.</summary>
    public static void Route(TextWriter log) => Log.Value = log;

    TextWriter Target => Log.Value ?? _console;

    public override Encoding Encoding => _console.Encoding;
    public override void Write(char value) => Target.Write(value);
    public override void Write(string? value) => Target.Write(value);
    public override void Write(char[] buffer, int index, int count) => Target.Write(buffer, index, count);
    public override void Write(ReadOnlySpan<char> buffer) => Target.Write(buffer);
    public override void WriteLine(string? value) => Target.WriteLine(value);
    public override void WriteLine(ReadOnlySpan<char> buffer) => Target.WriteLine(buffer);
    public override void Flush() => Target.Flush();
}
