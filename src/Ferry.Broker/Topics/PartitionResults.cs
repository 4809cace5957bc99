using Ferry.Storage;

namespace Ferry.Broker.Topics;

/// <summary>The outcome of a produce to one partition: the offsets the records got, or why they were refused.</summary>
public readonly record struct PartitionAppendResult(PartitionAppendError Error, long BaseOffset, long LastOffset, long LogAppendTime, long LogStartOffset)
{
    /// <summary>The records refused, for INVALID_RECORD and INVALID_TIMESTAMP (KIP-467); null otherwise.</summary>
    public IReadOnlyList<RecordError>? RecordErrors { get; init; }

    /// <summary>Why the batch was refused, when the records alone do not say.</summary>
    public string? Message { get; init; }

    public static PartitionAppendResult Failed(PartitionAppendError error) => new(error, -1, -1, -1, -1);
}

public enum PartitionAppendError
{
    None,
    CorruptMessage,
    MessageTooLarge,
    InvalidRecord,
    OutOfOrderSequence,
    DuplicateSequence,
    InvalidProducerEpoch,
    UnknownProducerId,
    /// <summary>This node does not lead the partition (now): NOT_LEADER_OR_FOLLOWER.</summary>
    NotLeaderOrFollower,
    /// <summary>acks=all with fewer in-sync replicas than min.insync.replicas: nothing was written.</summary>
    NotEnoughReplicas,
    /// <summary>Written, but the ISR shrank below min.insync.replicas before it was committed.</summary>
    NotEnoughReplicasAfterAppend,
    /// <summary>A CreateTime timestamp outside message.timestamp.before/after.max.ms.</summary>
    InvalidTimestamp,
    /// <summary>A transaction marker from a coordinator epoch older than one already seen for the producer (TRANSACTION_COORDINATOR_FENCED).</summary>
    TransactionCoordinatorFenced,
}

/// <summary>How a request's leader epoch compares with this replica's (KIP-320).</summary>
public enum EpochCheck
{
    Ok,
    /// <summary>This node is not the partition's leader.</summary>
    NotLeader,
    /// <summary>The client's epoch is older: FENCED_LEADER_EPOCH (it must refresh metadata).</summary>
    Fenced,
    /// <summary>The client's epoch is newer than this node knows: UNKNOWN_LEADER_EPOCH (this node lags).</summary>
    Unknown,
}

/// <summary>Who is reading: a consumer sees up to the high watermark (read_committed: the last stable offset), a follower replica up to the log end.</summary>
public enum ReadBound
{
    HighWatermark,
    /// <summary>read_committed: below the last stable offset (no open transaction's records).</summary>
    LastStable,
    LogEnd,
}

/// <summary>A read from a partition and its bounds at the time: log start, high watermark, log end.</summary>
public readonly record struct PartitionReadResult(LogReadStatus Status, LogSlice Slice, long LogStartOffset, long HighWatermark, long LogEndOffset, long LastStableOffset = -1);

/// <summary>What the leader knows of one follower: how far it has fetched and when it was last caught up.</summary>
/// <param name="LogEndOffset">The follower's fetch offset: everything below it is in its log (durable, by its policy).</param>
/// <param name="LastCaughtUpMs">The last time the follower had everything the leader had (Kafka's lastCaughtUpTimeMs).</param>
public readonly record struct FollowerProgress(int ReplicaId, long LogEndOffset, long LastFetchMs, long LastCaughtUpMs);

/// <summary>An acks=all wait that ended without the commit: the error the producer gets.</summary>
public sealed class PartitionCommitException(PartitionAppendError error)
    : Exception($"The append was not committed: {error}.")
{
    public PartitionAppendError Error { get; } = error;
}
