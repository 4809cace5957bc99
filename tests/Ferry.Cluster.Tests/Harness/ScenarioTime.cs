using System.Globalization;

namespace Ferry.Cluster.Tests.Harness;

/// <summary>
/// How long a fault scenario keeps its fault on: short by default (CI), longer with
/// <c>FERRY_FAULT_SECONDS=N</c> (see tests/Ferry.Cluster.Tests/README.md). Every scenario stops by itself.
/// </summary>
public static class ScenarioTime
{
    public const string Variable = "FERRY_FAULT_SECONDS";

    public static TimeSpan Fault(TimeSpan ci) =>
        int.TryParse(Environment.GetEnvironmentVariable(Variable), NumberStyles.None, CultureInfo.InvariantCulture, out int seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : ci;

    /// <summary>How many times a repeated measurement runs: <c>FERRY_FAULT_RUNS=N</c>, else <paramref name="ci"/>.</summary>
    public static int Runs(int ci) =>
        int.TryParse(Environment.GetEnvironmentVariable("FERRY_FAULT_RUNS"), NumberStyles.None, CultureInfo.InvariantCulture, out int runs) && runs > 0
            ? runs
            : ci;
}
