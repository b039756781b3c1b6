using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace Repl.Shell.Batch;

/// <summary>The JUnit XML that CI systems read: one testsuite, one testcase per script, a failure element with the
/// first failure as its message and all of them, with the script's output, as its text.</summary>
public static class JUnitReport
{
    /// <summary>Writes the report as UTF-8 without a byte-order mark, which some JUnit readers reject.</summary>
    public static void Save(IReadOnlyList<ScriptResult> results, string path)
    {
        using var writer = XmlWriter.Create(path, new XmlWriterSettings { Encoding = new UTF8Encoding(false), Indent = true });
        Build(results).Save(writer);
    }

    public static XDocument Build(IReadOnlyList<ScriptResult> results)
    {
        var suite = new XElement("testsuite",
            new XAttribute("name", "repl run"),
            new XAttribute("tests", results.Count),
            new XAttribute("failures", results.Count(r => !r.Passed)),
            new XAttribute("errors", 0),
            new XAttribute("time", Seconds(results.Aggregate(TimeSpan.Zero, (t, r) => t + r.Duration))),
            results.Select(TestCase));
        return new XDocument(new XDeclaration("1.0", "utf-8", null), new XElement("testsuites", suite));
    }

    static XElement TestCase(ScriptResult result)
    {
        var testCase = new XElement("testcase",
            new XAttribute("name", Path.GetFileNameWithoutExtension(result.Path)),
            new XAttribute("classname", "scripts"),
            new XAttribute("file", result.Path),
            new XAttribute("time", Seconds(result.Duration)));
        if (!result.Passed)
            testCase.Add(new XElement("failure",
                new XAttribute("message", result.Failures[0]),
                new XAttribute("type", result.FailureType),
                string.Join("\n", result.Failures)));
        if (result.Output.Length != 0)
            testCase.Add(new XElement("system-out", result.Output));
        return testCase;
    }

    static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture);
}
