namespace Ferry.Storage;

/// <summary>Per-log settings, named after the Kafka topic configs they implement.</summary>
public sealed record LogOptions
{
    /// <summary>segment.bytes: roll the active segment before it would pass this size (default 1 GiB).</summary>
    public int SegmentBytes { get; init; } = 1 << 30;

    /// <summary>segment.ms: roll the active segment once it is this old (default 7 days).</summary>
    public long SegmentMs { get; init; } = 7L * 24 * 60 * 60 * 1000;

    /// <summary>retention.ms: delete segments whose newest batch is older than this; -1 keeps forever (default 7 days).</summary>
    public long RetentionMs { get; init; } = 7L * 24 * 60 * 60 * 1000;

    /// <summary>retention.bytes: delete the oldest segments while the log is larger than this; -1 for no limit.</summary>
    public long RetentionBytes { get; init; } = -1;

    /// <summary>index.interval.bytes: bytes of data between two sparse index entries (default 4 KiB).</summary>
    public int IndexIntervalBytes { get; init; } = 4096;

    /// <summary>max.message.bytes: the largest batch accepted (default 1 MiB plus the batch header, as Kafka).</summary>
    public int MaxBatchBytes { get; init; } = 1024 * 1024 + 12;

    /// <summary>
    /// Durability of acknowledged writes that ask for it (acks=all, publisher confirms): when true (the
    /// default) they are answered after an fsync shared by group commit; when false, after the page cache.
    /// </summary>
    public bool FsyncOnDurableWrite { get; init; } = true;

    /// <summary>message.timestamp.type: LogAppendTime replaces producer timestamps with the broker's clock.</summary>
    public bool UseLogAppendTime { get; init; }
}
