using System.Globalization;
using Ferry.Broker.Cluster;
using Ferry.Broker.Topics;

namespace Ferry.Broker.Groups;

/// <summary>
/// The internal topic that holds every group's committed offsets, as Kafka's <c>__consumer_offsets</c>: a group
/// belongs to one of its partitions (Kafka's hash of the group id), and that partition's leader is the group's
/// coordinator. Replicated like any topic, so a new leader finds the offsets its predecessor committed.
/// </summary>
public static class OffsetsTopic
{
    public const string Name = "__consumer_offsets";

    /// <summary>
    /// Partitions when the topic is created (Kafka's <c>offsets.topic.num.partitions</c> is 50; 8 keeps the idle cost of
    /// followers' fetchers and open segments low on small machines while still spreading groups over 3 nodes).
    /// </summary>
    public const int DefaultPartitions = 8;

    /// <summary>Whether <paramref name="topic"/> is one of the broker's own topics (Metadata's <c>is_internal</c>).</summary>
    public static bool IsInternal(string topic) => string.Equals(topic, Name, StringComparison.Ordinal);

    /// <summary>The group's partition (<see cref="InternalTopicOwnership.PartitionFor"/>: Kafka's hash of the group id).</summary>
    public static int PartitionFor(string groupId, int partitions) => InternalTopicOwnership.PartitionFor(groupId, partitions);

    /// <summary>
    /// The topic's settings: commits are never deleted by age or size (expiry is decided per group and written as
    /// tombstones), segments stay small so that the log-start moves of compaction free space soon.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Configs { get; } = new Dictionary<string, string>
    {
        [TopicConfig.RetentionMs] = "-1",
        [TopicConfig.RetentionBytes] = "-1",
        [TopicConfig.SegmentBytes] = (100 * 1024 * 1024).ToString(CultureInfo.InvariantCulture),
    };
}
