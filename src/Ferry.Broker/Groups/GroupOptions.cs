namespace Ferry.Broker.Groups;

/// <summary>Settings of the group coordinator (host section <c>Groups</c>), with Kafka's names and defaults unless said otherwise.</summary>
public sealed record GroupOptions
{
    /// <summary>
    /// How long a group that was empty waits for more members before its first rebalance completes, ms
    /// (group.initial.rebalance.delay.ms, 3000): consumers started together then form one generation instead of
    /// the first taking every partition and handing most of them back a moment later.
    /// </summary>
    public int InitialRebalanceDelayMs { get; init; } = 3_000;

    /// <summary>Smallest session timeout a member may ask for, ms (group.min.session.timeout.ms, 6000).</summary>
    public int MinSessionTimeoutMs { get; init; } = 6_000;

    /// <summary>Largest session timeout a member may ask for, ms (group.max.session.timeout.ms, 1800000).</summary>
    public int MaxSessionTimeoutMs { get; init; } = 1_800_000;

    /// <summary>Offsets of a group that stays empty this long are deleted, minutes (offsets.retention.minutes, 7 days).</summary>
    public long OffsetsRetentionMinutes { get; init; } = 7 * 24 * 60;

    /// <summary>How often expired offsets are looked for, ms (offsets.retention.check.interval.ms, 600000).</summary>
    public long OffsetsRetentionCheckIntervalMs { get; init; } = 600_000;

    /// <summary>
    /// Partitions of <c>__consumer_offsets</c> when it is created (offsets.topic.num.partitions; Kafka's 50, Ferry's
    /// <see cref="OffsetsTopic.DefaultPartitions"/>). Changing it later does not re-partition an existing topic.
    /// </summary>
    public int OffsetsTopicPartitions { get; init; } = OffsetsTopic.DefaultPartitions;

    /// <summary>Longest metadata string stored with a committed offset, bytes (offset.metadata.max.bytes, 4096).</summary>
    public int OffsetMetadataMaxBytes { get; init; } = 4096;
}
