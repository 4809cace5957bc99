using Ferry.Storage;

namespace Ferry.Broker;

/// <summary>What the domain needs from the host: where data lives and the defaults for every log.</summary>
public sealed class BrokerOptions
{
    /// <summary>Absolute path of the data directory (locked by the host).</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Defaults for every log; Kafka topics may override some per topic.</summary>
    public LogOptions DefaultLogOptions { get; init; } = new();

    /// <summary>How often retention runs over every log.</summary>
    public TimeSpan RetentionCheckInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The log cleaner of compacted topics.</summary>
    public Ferry.Storage.Compaction.CleanerOptions Cleaner { get; init; } = new();

    /// <summary>
    /// True on a node of a replicated cluster: partitions keep a high-watermark checkpoint
    /// (<see cref="Topics.HighWatermarkCheckpoint"/>) and start from it, not from their log end.
    /// </summary>
    public bool Replicated { get; init; }

    /// <summary>How often the high watermarks are checkpointed (Kafka's replica.high.watermark.checkpoint.interval.ms).</summary>
    public TimeSpan HighWatermarkCheckpointInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The clock; tests replace it.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
