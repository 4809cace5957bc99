namespace Ferry.Broker.Cluster;

/// <summary>
/// The one picture of the cluster this node has: nodes, the controller, each partition's leader, replicas and ISR,
/// and so (<see cref="InternalTopicOwnership"/>) the coordinator of a group or transactional id. Metadata, FindCoordinator, DescribeCluster and the admin API all read it; on a
/// single node it is this node alone, on a cluster the metadata this node has applied from the quorum.
/// </summary>
/// <remarks>Reads are lock-free and cheap (called on every Metadata request); they see the last applied metadata.</remarks>
public interface IClusterView
{
    string ClusterId { get; }

    int LocalNodeId { get; }

    /// <summary>The node that leads the metadata quorum, or -1 while an election runs.</summary>
    int ControllerId { get; }

    /// <summary>Every registered node, alive or not, ordered by id.</summary>
    IReadOnlyList<ClusterNode> Nodes { get; }

    /// <summary>The partition's committed state, or null if this view does not know it (no such topic or partition).</summary>
    PartitionState? GetPartition(string topic, int partition);

    /// <summary>
    /// Calls <paramref name="onChange"/> for every change to this node's role in a partition, in commit order, on
    /// one thread at a time. The current roles are replayed to it first, so nothing applied before subscribing is
    /// missed. Dispose the result to stop.
    /// </summary>
    IDisposable Subscribe(Action<PartitionRoleChange> onChange);
}
