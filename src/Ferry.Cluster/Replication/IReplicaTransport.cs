namespace Ferry.Cluster.Replication;

/// <summary>
/// How a follower reaches a partition's leader: fetch and OffsetForLeaderEpoch, by node id. The node's
/// <see cref="ReplicaServer"/> answers at the other end; an in-memory transport joins them directly in tests.
/// </summary>
/// <remarks>Failures to reach the leader are answered as <see cref="ReplicaError.Unreachable"/>, not thrown.</remarks>
public interface IReplicaTransport
{
    ValueTask<ReplicaFetchResponse> FetchAsync(int leaderId, ReplicaFetchRequest request, CancellationToken cancellationToken);

    ValueTask<EpochEndResponse> EndOffsetForEpochAsync(int leaderId, EpochEndRequest request, CancellationToken cancellationToken);
}
