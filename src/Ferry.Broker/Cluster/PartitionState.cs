namespace Ferry.Broker.Cluster;

/// <summary>
/// A partition's replication state as committed by the controller (Kafka's PartitionRegistration):
/// its leader (-1 while none is eligible), the leader epoch that fences old leaders, the assigned replicas
/// (the first is the preferred leader), the in-sync replicas, and the partition epoch that every change to
/// leader or ISR bumps (the fence for AlterPartition, KIP-497). While a reassignment runs (KIP-455) the replicas are
/// the target's and the original's together, <paramref name="AddingReplicas"/> those of the target that are new and
/// <paramref name="RemovingReplicas"/> those of the original that go once every adding replica is in sync.
/// </summary>
public sealed record PartitionState(int Leader, int LeaderEpoch, IReadOnlyList<int> Replicas, IReadOnlyList<int> Isr, int PartitionEpoch,
    IReadOnlyList<int>? AddingReplicas = null, IReadOnlyList<int>? RemovingReplicas = null)
{
    public const int NoLeader = -1;

    public bool HasLeader => Leader != NoLeader;

    public bool IsReassigning => AddingReplicas is { Count: > 0 } || RemovingReplicas is { Count: > 0 };

    /// <summary>The replicas the partition had before its reassignment began (all of them when none runs).</summary>
    public IReadOnlyList<int> OriginalReplicas => AddingReplicas is { Count: > 0 } adding ? [.. Replicas.Where(r => !adding.Contains(r))] : Replicas;

    /// <summary>The replicas the partition will have once its reassignment completes (all of them when none runs).</summary>
    public IReadOnlyList<int> TargetReplicas => RemovingReplicas is { Count: > 0 } removing ? [.. Replicas.Where(r => !removing.Contains(r))] : Replicas;

    /// <summary>Assigned replicas that are not in the ISR (Metadata's offline replicas are those on dead nodes).</summary>
    public bool IsUnderReplicated => Isr.Count < Replicas.Count;

    /// <summary>The state of a partition on a cluster of one: this node leads at epoch 0 and is the only replica.</summary>
    public static PartitionState SingleNode(int nodeId) => new(nodeId, 0, [nodeId], [nodeId], 0);
}
