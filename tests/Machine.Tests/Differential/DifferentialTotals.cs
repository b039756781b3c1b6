namespace Repl.Machine.Tests.Differential;

/// <summary>
/// The run's totals over all differential families. xunit disposes a class fixture after the class's last
/// test, which is when the grand total is printed (to standard output, which `dotnet test` shows at normal
/// verbosity, as the README's command asks for).
/// </summary>
public sealed class DifferentialTotals : IDisposable
{
    readonly Lock _gate = new();
    long _cases, _mismatches;
    int _families, _failing, _skipped;

    internal long Add(long cases, long mismatches)
    {
        lock (_gate)
        {
            _families++;
            _cases += cases;
            _mismatches += mismatches;
            if (mismatches > 0)
                _failing++;
            return _cases;
        }
    }

    internal void Skipped()
    {
        lock (_gate)
            _skipped++;
    }

    public void Dispose() =>
        Console.WriteLine($"[differential] TOTAL: {_cases:N0} cases in {_families} families against the host CPU; "
                          + $"{_mismatches:N0} mismatches in {_failing} families; {_skipped} families skipped");
}
