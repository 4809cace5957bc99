namespace Ferry.Broker.Cluster;

/// <summary>
/// A partition's replication state as committed by the controller (Kafka's PartitionRegistration):
/// its leader (-1 while none is eligible), the leader epoch that fences old leaders, the assigned replicas
/// (the first is the preferred leader), the in-sync replicas, and the partition epoch that every change to
/// leader or ISR bumps (the fence for AlterPartition, KIP-497).
/// </summary>
public sealed record PartitionState(int Leader, int LeaderEpoch, IReadOnlyList<int> Replicas, IReadOnlyList<int> Isr, int PartitionEpoch)
{
    public const int NoLeader = -1;

    public bool HasLeader => Leader != NoLeader;

    /// <summary>Assigned replicas that are not in the ISR (Metadata's offline replicas are those on dead nodes).</summary>
    public bool IsUnderReplicated => Isr.Count < Replicas.Count;

    /// <summary>The state of a partition on a cluster of one: this node leads at epoch 0 and is the only replica.</summary>
    public static PartitionState SingleNode(int nodeId) => new(nodeId, 0, [nodeId], [nodeId], 0);
}
