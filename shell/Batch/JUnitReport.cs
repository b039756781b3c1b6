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
        string common = CommonDirectory(results.Select(r => Path.GetDirectoryName(Path.GetFullPath(r.Path))!));
        var suite = new XElement("testsuite",
            new XAttribute("name", "repl run"),
            new XAttribute("tests", results.Count),
            new XAttribute("failures", results.Count(r => !r.Passed)),
            new XAttribute("errors", 0),
            new XAttribute("time", Seconds(results.Aggregate(TimeSpan.Zero, (t, r) => t + r.Duration))),
            results.Select(r => TestCase(r, common)));
        return new XDocument(new XDeclaration("1.0", "utf-8", null), new XElement("testsuites", suite));
    }

    /// <summary>A script's test case is named by its path from the directory all the run's scripts share, without
    /// .csx ("fail", "d2/fail"), so that two scripts never share a name; the class is that directory's name ("scripts").</summary>
    static XElement TestCase(ScriptResult result, string common)
    {
        string relative = Path.GetRelativePath(common, Path.GetFullPath(result.Path)).Replace(Path.DirectorySeparatorChar, '/');
        var testCase = new XElement("testcase",
            new XAttribute("name", Path.ChangeExtension(relative, null)),
            new XAttribute("classname", Path.GetFileName(common) is { Length: > 0 } name ? name : "scripts"),
            new XAttribute("file", result.Path),
            new XAttribute("time", Seconds(result.Duration)));
        if (!result.Passed)
            testCase.Add(new XElement("failure",
                new XAttribute("message", XmlText(result.Failures[0])),
                new XAttribute("type", result.FailureType),
                XmlText(string.Join("\n", result.Failures))));
        if (result.Output.Length != 0)
            testCase.Add(new XElement("system-out", XmlText(result.Output)));
        return testCase;
    }

    static string CommonDirectory(IEnumerable<string> directories) =>
        directories.Aggregate((common, next) =>
        {
            while (!IsWithin(next, common))
                common = Path.GetDirectoryName(common) ?? "";
            return common;
        });

    // The root ("/") already ends in a separator; other directories get one, so that /a/bc is not within /a/b.
    static bool IsWithin(string directory, string ancestor) =>
        directory == ancestor || directory.StartsWith(Path.EndsInDirectorySeparator(ancestor) ? ancestor : ancestor + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>Text XML 1.0 can hold: a character it cannot (most controls, a lone surrogate) is written as C# would
    /// write it, \u0001, so that the report still says what the script said.</summary>
    static string XmlText(string text)
    {
        if (text.All(XmlConvert.IsXmlChar))
            return text;
        var safe = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            if (XmlConvert.IsXmlChar(text[i]))
                safe.Append(text[i]);
            else if (i + 1 < text.Length && XmlConvert.IsXmlSurrogatePair(text[i + 1], text[i]))
                safe.Append(text[i]).Append(text[++i]);
            else
                safe.Append(CultureInfo.InvariantCulture, $"\\u{(int)text[i]:x4}");
        }
        return safe.ToString();
    }

    static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture);
}
