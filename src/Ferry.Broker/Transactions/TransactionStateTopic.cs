using System.Globalization;
using Ferry.Broker.Cluster;
using Ferry.Broker.Topics;

namespace Ferry.Broker.Transactions;

/// <summary>
/// The internal topic that holds every transactional id's state, as Kafka's <c>__transaction_state</c> (KIP-98): an id
/// belongs to one of its partitions (Kafka's hash of the id), and that partition's leader is the id's transaction
/// coordinator, at a coordinator epoch that is the partition's leader epoch. Replicated like any topic, so a new
/// leader finds every decision its predecessor logged.
/// </summary>
public static class TransactionStateTopic
{
    public const string Name = "__transaction_state";

    /// <summary>
    /// Partitions when the topic is created (Kafka's <c>transaction.state.log.num.partitions</c> is 50; 8, as for
    /// <c>__consumer_offsets</c>, keeps followers' fetchers and open segments few on small machines while still
    /// spreading coordinators over 3 nodes).
    /// </summary>
    public const int DefaultPartitions = 8;

    /// <summary>The id's partition (<see cref="InternalTopicOwnership.PartitionFor"/>: the same Java string hash as for groups).</summary>
    public static int PartitionFor(string transactionalId, int partitions) => InternalTopicOwnership.PartitionFor(transactionalId, partitions);

    /// <summary>States are never deleted by age or size (expiry writes tombstones); small segments let compaction free space soon.</summary>
    public static IReadOnlyDictionary<string, string> Configs { get; } = new Dictionary<string, string>
    {
        [TopicConfig.RetentionMs] = "-1",
        [TopicConfig.RetentionBytes] = "-1",
        [TopicConfig.SegmentBytes] = (100 * 1024 * 1024).ToString(CultureInfo.InvariantCulture),
    };
}
