using Ferry.Storage.Files;

namespace Ferry.Storage;

/// <summary>Per-log settings, named after the Kafka topic configs they implement.</summary>
public sealed record LogOptions
{
    /// <summary>Where segment files get their descriptors: the process's bounded cache unless a test brings its own.</summary>
    public FileHandleCache Files { get; init; } = FileHandleCache.Shared;

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

    /// <summary>cleanup.policy contains <c>delete</c>: retention by time and size applies (the default).</summary>
    public bool Delete { get; init; } = true;

    /// <summary>cleanup.policy contains <c>compact</c>: the cleaner keeps the last record of each key.</summary>
    public bool Compact { get; init; }

    /// <summary>delete.retention.ms: how long a tombstone (a null value) stays readable on a compacted log (default 1 day).</summary>
    public long DeleteRetentionMs { get; init; } = 24L * 60 * 60 * 1000;

    /// <summary>min.compaction.lag.ms: a record stays uncompacted at least this long (default 0).</summary>
    public long MinCompactionLagMs { get; init; }

    /// <summary>max.compaction.lag.ms: a record is compacted at the latest this long after it was written, dirty ratio or not.</summary>
    public long MaxCompactionLagMs { get; init; } = long.MaxValue;

    /// <summary>min.cleanable.dirty.ratio: the share of the log not yet cleaned that makes it worth cleaning (default 0.5).</summary>
    public double MinCleanableDirtyRatio { get; init; } = 0.5;

    /// <summary>
    /// compression.type: the codec batches are stored with (<see cref="Records.RecordBatchCompression"/> codes);
    /// -1 (<c>producer</c>, the default) keeps each batch as its producer compressed it.
    /// </summary>
    public int CompressionCodec { get; init; } = -1;

    /// <summary>message.timestamp.before.max.ms: a CreateTime record may be at most this much older than the broker's clock.</summary>
    public long TimestampBeforeMaxMs { get; init; } = long.MaxValue;

    /// <summary>message.timestamp.after.max.ms: a CreateTime record may be at most this much ahead of the broker's clock (default 1 hour, as Kafka 4).</summary>
    public long TimestampAfterMaxMs { get; init; } = 60L * 60 * 1000;
}
