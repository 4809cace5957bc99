namespace Ferry.Storage.Compaction;

/// <summary>Settings of the log cleaner (host section <c>Storage</c>), named after Kafka's <c>log.cleaner.*</c>.</summary>
public sealed record CleanerOptions
{
    /// <summary>
    /// log.cleaner.dedupe.buffer.size: memory for the key-to-offset map, 24 bytes a distinct key (default 32 MiB,
    /// about 1.2 million keys per cleaning pass; Kafka's default is 128 MiB shared by its cleaner threads).
    /// </summary>
    public long DedupeBufferBytes { get; init; } = 32L << 20;

    /// <summary>log.cleaner.io.max.bytes.per.second: read and write throttle of the cleaner (default unlimited).</summary>
    public double IoMaxBytesPerSecond { get; init; } = double.MaxValue;

    /// <summary>log.cleaner.backoff.ms: the pause when no log needs cleaning (default 15 s).</summary>
    public long BackoffMs { get; init; } = 15_000;
}
