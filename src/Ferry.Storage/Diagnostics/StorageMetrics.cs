using System.Diagnostics.Metrics;

namespace Ferry.Storage.Diagnostics;

/// <summary>
/// The storage layer's instruments. A static meter because logs are opened by the broker, not by dependency
/// injection; the host exports every meter named <c>Ferry.*</c>.
/// </summary>
public static class StorageMetrics
{
    public const string MeterName = "Ferry.Storage";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>One group-commit round: the fsync that many writers share, so its latency is what acks=all waits on.</summary>
    internal static readonly Histogram<double> FsyncDuration = Meter.CreateHistogram<double>(
        "ferry.storage.fsync.duration", unit: "s", description: "Duration of a group-commit flush (fsync) of a log");
}
