namespace Ferry.Cluster.Replication;

/// <summary>Why a leader refused a replica request (Kafka's error codes for the same cases).</summary>
public enum ReplicaError
{
    None,
    /// <summary>No such topic or partition on the leader (yet): UNKNOWN_TOPIC_OR_PARTITION.</summary>
    UnknownPartition,
    /// <summary>The asked node does not lead the partition: NOT_LEADER_OR_FOLLOWER.</summary>
    NotLeader,
    /// <summary>The follower's epoch is older than the leader's: FENCED_LEADER_EPOCH.</summary>
    FencedLeaderEpoch,
    /// <summary>The follower's epoch is newer than the leader knows: UNKNOWN_LEADER_EPOCH.</summary>
    UnknownLeaderEpoch,
    /// <summary>The fetch offset is outside the leader's log: OFFSET_OUT_OF_RANGE.</summary>
    OffsetOutOfRange,
    /// <summary>The leader could not be reached or did not answer.</summary>
    Unreachable,
}

/// <summary>A follower's fetch (Kafka's Fetch with a replica id): everything below <see cref="FetchOffset"/> is in its log.</summary>
public sealed record ReplicaFetchRequest(int ReplicaId, string Topic, int Partition, int CurrentLeaderEpoch, long FetchOffset,
    int MaxBytes, int MaxWaitMs);

/// <summary>The leader's answer: whole batches from the fetch offset, and its high watermark and log bounds.</summary>
/// <param name="Buffer">What owns the memory <see cref="Records"/> points into when the transport pooled it, or null: the follower disposes the response once it has appended the records.</param>
public sealed record ReplicaFetchResponse(ReplicaError Error, long HighWatermark, long LogStartOffset, long LogEndOffset, ReadOnlyMemory<byte> Records,
    IDisposable? Buffer = null) : IDisposable
{
    public static ReplicaFetchResponse Failed(ReplicaError error) => new(error, -1, -1, -1, ReadOnlyMemory<byte>.Empty);

    public void Dispose() => Buffer?.Dispose();
}

/// <summary>OffsetForLeaderEpoch from a follower: where does <see cref="LeaderEpoch"/> end in the leader's log?</summary>
public sealed record EpochEndRequest(int ReplicaId, string Topic, int Partition, int CurrentLeaderEpoch, int LeaderEpoch);

/// <summary>The largest epoch at or below the one asked, and its end offset in the leader's log; (-1, -1) if unknown.</summary>
public sealed record EpochEndResponse(ReplicaError Error, int LeaderEpoch, long EndOffset);
