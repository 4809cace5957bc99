using Ferry.Broker.Groups;
using Ferry.Broker.Topics;
using Ferry.Broker.Transactions;

namespace Ferry.Broker.Cluster;

/// <summary>The two kinds of coordinator, numbered as FindCoordinator's <c>key_type</c>.</summary>
public enum CoordinatorKind : sbyte
{
    Group = 0,
    Transaction = 1,
}

/// <summary>
/// Kafka's rule for who coordinates a key: a group belongs to a partition of <c>__consumer_offsets</c>, a transactional
/// id to one of <c>__transaction_state</c>, the one Java's string hash of the key picks; the leader of that partition
/// is the key's coordinator, its leader epoch the coordinator epoch. FindCoordinator, the group and transaction
/// coordinators' ownership checks and the partition leaders' KIP-890 verification all ask here, so that the node a
/// client is sent to is the node that serves the key.
/// </summary>
public static class InternalTopicOwnership
{
    /// <summary>The internal topic whose partitions the keys of <paramref name="kind"/> belong to.</summary>
    public static string TopicOf(CoordinatorKind kind) => kind == CoordinatorKind.Group ? OffsetsTopic.Name : TransactionStateTopic.Name;

    /// <summary>
    /// Kafka's <c>partitionFor</c>: <c>Utils.abs(key.hashCode()) % partitions</c> with Java's string hash over UTF-16
    /// code units, so a key lands on the same partition number as on a Kafka cluster with as many partitions.
    /// </summary>
    public static int PartitionFor(string key, int partitions)
    {
        int hash = 0;
        foreach (char c in key) hash = unchecked(31 * hash + c);
        int abs = hash == int.MinValue ? 0 : Math.Abs(hash);
        return abs % partitions;
    }

    /// <summary>
    /// The key's partition of its internal topic, or -1 while that topic does not exist here (every node of a
    /// cluster holds every topic, so the answer is the same on every node that has applied the topic's creation).
    /// </summary>
    public static int PartitionOf(TopicRegistry topics, CoordinatorKind kind, string key) =>
        topics.TryGet(TopicOf(kind), out var topic) && topic.Partitions.Count > 0 ? PartitionFor(key, topic.Partitions.Count) : -1;

    /// <summary>The node that coordinates <paramref name="key"/>: its partition's leader in the cluster view; -1 while there is none.</summary>
    public static int CoordinatorOf(TopicRegistry topics, IClusterView cluster, CoordinatorKind kind, string key)
    {
        int index = PartitionOf(topics, kind, key);
        return index < 0 ? PartitionState.NoLeader : cluster.GetPartition(TopicOf(kind), index)?.Leader ?? PartitionState.NoLeader;
    }

    /// <summary>
    /// Whether this node already leads partition <paramref name="index"/> of the kind's topic. A coordinator that does
    /// not serve the partition yet although it leads it is loading it (leadership is applied before the load starts,
    /// and other nodes already name this one in FindCoordinator): the client is told to wait, not to look again.
    /// </summary>
    public static bool LeadsHere(TopicRegistry topics, CoordinatorKind kind, int index) =>
        topics.TryGet(TopicOf(kind), out var topic) && topic.TryGetPartition(index) is { IsLeader: true };
}
