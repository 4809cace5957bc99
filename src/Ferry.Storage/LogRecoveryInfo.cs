namespace Ferry.Storage;

/// <summary>What opening a log had to do: tests assert on it, operators read it in the log.</summary>
public sealed class LogRecoveryInfo
{
    /// <summary>The log was closed cleanly and its marker was found and consistent.</summary>
    public bool CleanShutdown { get; init; }

    public int ScannedSegments { get; internal set; }
    public long ScannedBatches { get; internal set; }
    public int RebuiltIndexes { get; internal set; }
    public long TruncatedBytes { get; internal set; }
}
