using Ferry.Broker.Topics;

namespace Ferry.Broker.Cluster;

/// <summary>
/// The changes Broker asks of the controller (the metadata leader). Each returns once the change is committed and
/// applied on this node, or with the reason it was refused. On a single node the controller is local and the
/// change is durable in this node's metadata when the call returns.
/// </summary>
public interface IMetadataController
{
    /// <summary>Creates a topic; the controller places replicas unless <see cref="TopicSpec.Assignments"/> gives them.</summary>
    ValueTask<TopicResult> CreateTopicAsync(TopicSpec spec, CancellationToken cancellationToken = default);

    ValueTask<TopicResult> DeleteTopicAsync(string name, CancellationToken cancellationToken = default);

    ValueTask<TopicResult> CreatePartitionsAsync(string name, int newTotal, bool validateOnly, CancellationToken cancellationToken = default);

    /// <summary>Config changes (null value: back to the default), all or nothing.</summary>
    ValueTask<TopicResult> AlterConfigsAsync(string name, IReadOnlyList<(string Name, string? Value)> changes, bool replaceAll,
        bool validateOnly, CancellationToken cancellationToken = default);

    /// <summary>Reserves a block of producer ids no other node will ever hand out.</summary>
    ValueTask<ProducerIdBlock> AllocateProducerIdBlockAsync(CancellationToken cancellationToken = default);

    /// <summary>A partition leader asks to change the ISR (KIP-497); refused when its epochs are stale.</summary>
    ValueTask<AlterPartitionResult> AlterPartitionAsync(AlterPartitionRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Moves a partition to <paramref name="targetReplicas"/> (KIP-455), or cancels its running reassignment when that
    /// is null. Returns once the reassignment has begun: the new replicas catch up from the leader and the controller
    /// completes it when they are all in sync.
    /// </summary>
    ValueTask<TopicResult> ReassignPartitionAsync(string topic, int partition, IReadOnlyList<int>? targetReplicas, CancellationToken cancellationToken = default);
}

/// <summary>A topic to create.</summary>
/// <param name="ReplicationFactor">-1: the cluster's default.</param>
/// <param name="Assignments">Replicas of each partition chosen by the client (CreateTopics' manual assignment), or null.</param>
public sealed record TopicSpec(string Name, int Partitions, short ReplicationFactor = -1, IReadOnlyList<IReadOnlyList<int>>? Assignments = null,
    IReadOnlyDictionary<string, string>? Configs = null, bool ValidateOnly = false);

/// <summary>Producer ids [<see cref="First"/>, <see cref="First"/> + <see cref="Count"/>).</summary>
public readonly record struct ProducerIdBlock(long First, long Count)
{
    public long End => First + Count;
}

/// <param name="LeaderId">The node asking; must be the partition's leader.</param>
/// <param name="LeaderEpoch">The leader epoch the asker leads at.</param>
/// <param name="PartitionEpoch">The partition epoch the asker last saw; the change is refused if another change came in between.</param>
public sealed record AlterPartitionRequest(string Topic, int Partition, int LeaderId, int LeaderEpoch, int PartitionEpoch, IReadOnlyList<int> NewIsr);

public enum AlterPartitionError
{
    None,
    UnknownTopicOrPartition,
    /// <summary>The asker is not the leader at that leader epoch (Kafka's FENCED_LEADER_EPOCH / NOT_LEADER_OR_FOLLOWER).</summary>
    FencedLeaderEpoch,
    /// <summary>The partition epoch moved on since the asker saw it (Kafka's INVALID_UPDATE_VERSION).</summary>
    InvalidUpdateVersion,
    /// <summary>The new ISR names a node that is not a live replica, or leaves out the leader.</summary>
    InvalidRequest,
    /// <summary>No controller can be reached now; retry.</summary>
    NotController,
}

/// <param name="State">The committed state after the change (or the current one when refused), null when unknown.</param>
public readonly record struct AlterPartitionResult(AlterPartitionError Error, PartitionState? State);
