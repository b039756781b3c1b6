using System.Diagnostics;
using Microsoft.CodeAnalysis;

namespace Repl.Shell.Scripting;

/// <summary>How C# problems read to the user: one line each, with where. Compile errors as
/// <c>line:col: error CS0103: message</c> (with the file first for a script file or a #load-ed one); runtime
/// exceptions as the message and the script line that threw.</summary>
public static class ScriptErrors
{
    public static IEnumerable<string> Compile(IEnumerable<Diagnostic> diagnostics) =>
        diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d =>
        {
            var span = d.Location.GetMappedLineSpan();
            var start = span.StartLinePosition;
            string file = span.Path.Length == 0 ? "" : Path.GetFileName(span.Path) + ":";
            return $"{file}{start.Line + 1}:{start.Character + 1}: error {d.Id}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}";
        });

    /// <summary>"line 7: linear address 0x... is not mapped": the message (with the exception's type where the message
    /// alone does not say what went wrong) and the deepest script line on the stack.</summary>
    public static string Runtime(Exception e)
    {
        if (e is System.Reflection.TargetInvocationException { InnerException: { } inner })
            e = inner;
        string where = Where(e) is { } line ? line + ": " : "";
        return where + Message(e);
    }

    static string Message(Exception e) => e switch
    {
        // ArgumentException adds " (Parameter 'x')" to the message, which says nothing to a script's author.
        ArgumentException a when a.ParamName is { } p => a.Message.Replace($" (Parameter '{p}')", ""),
        ArgumentException or InvalidOperationException or KeyNotFoundException or Debugging.CommandException or ScriptInterruptedException => e.Message,
        _ => $"{e.GetType().Name}: {e.Message}",
    };

    /// <summary>"kernel.csx:7" (or "line 7" at the prompt): the first frame, from the throw outwards, that is script code
    /// with line information, the script's line rather than a line inside the machine or the runtime; null when none is.</summary>
    public static string? Where(Exception e)
    {
        foreach (var frame in new StackTrace(e, fNeedFileInfo: true).GetFrames())
        {
            if (frame.GetFileLineNumber() == 0 || !IsScript(frame))
                continue;
            string file = frame.GetFileName() ?? "";
            return file.Length == 0 ? $"line {frame.GetFileLineNumber()}" : $"{Path.GetFileName(file)}:{frame.GetFileLineNumber()}";
        }
        return null;
    }

    // Roslyn compiles every submission and script into a class named Submission#N.
    static bool IsScript(StackFrame frame)
    {
        var type = frame.GetMethod()?.DeclaringType;
        while (type?.DeclaringType is { } outer)
            type = outer;
        return type?.Name.StartsWith("Submission#", StringComparison.Ordinal) == true;
    }
}
