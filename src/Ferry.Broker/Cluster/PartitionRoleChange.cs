namespace Ferry.Broker.Cluster;

/// <summary>What committed metadata asks of this node for one partition.</summary>
public enum PartitionRole
{
    /// <summary>This node leads the partition at <see cref="PartitionState.LeaderEpoch"/>.</summary>
    Leader,
    /// <summary>This node is a replica that follows <see cref="PartitionState.Leader"/> (which may be -1: no leader yet).</summary>
    Follower,
    /// <summary>This node is no longer a replica of the partition, or the topic was deleted: stop serving it.</summary>
    Removed,
}

/// <summary>
/// "You are now leader of P at epoch E with ISR I", "you follow L at epoch E", "P is gone": raised on every node,
/// in commit order, when applied metadata changes this node's part in a partition.
/// </summary>
/// <param name="State">The partition's state after the change; null when <see cref="Role"/> is <see cref="PartitionRole.Removed"/> because the topic was deleted.</param>
public readonly record struct PartitionRoleChange(string Topic, int Partition, PartitionRole Role, PartitionState? State);
