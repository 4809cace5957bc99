using Ferry.Broker.Topics;

namespace Ferry.Broker.Transactions;

/// <summary>
/// One partition of <c>__transaction_state</c> this node leads, and so coordinates the transactional ids of: loaded
/// from its log when leadership arrives, written as leader, each transition acknowledged once committed (below the
/// high watermark on every in-sync replica and durable here: acks=all), so a decision survives the coordinator's death.
/// </summary>
/// <remarks>Compaction rewrites the live states at the head of a fresh segment and moves the log start past the
/// older ones, as the offsets partitions do; a crash in the middle replays to the same state.</remarks>
internal sealed class TransactionStatePartition(Partition partition, int leaderEpoch)
{
    private readonly Lock _appendLock = new();

    public Partition Partition { get; } = partition;
    public int Index => Partition.Index;

    /// <summary>The leader epoch this node took the partition at: the coordinator epoch of its markers (KIP-98).</summary>
    public int LeaderEpoch { get; } = leaderEpoch;

    /// <summary>False while the log is read; ids of the partition answer COORDINATOR_LOAD_IN_PROGRESS meanwhile.</summary>
    public volatile bool Loaded;

    /// <summary>Records appended since the last compaction (live ones included).</summary>
    public long RecordsSinceCompaction;

    /// <summary>Reads the whole log (the last record of an id wins); returns the live states.</summary>
    public Dictionary<string, TransactionMetadata> Load()
    {
        var states = new Dictionary<string, TransactionMetadata>(StringComparer.Ordinal);
        long records = 0;
        Partition.ForEachBatch(Partition.LogStartOffset, batch => records += TransactionRecords.ReadBatch(batch, states));
        RecordsSinceCompaction = records;
        return states;
    }

    /// <summary>Appends one transition (null: the id is forgotten) and completes once it is committed.</summary>
    /// <exception cref="TransactionStateWriteException">This node no longer leads the partition at its epoch, or too few replicas are in sync.</exception>
    public Task WriteAsync(string transactionalId, TransactionMetadata? state, long nowMs)
    {
        var record = TransactionRecords.Build(transactionalId, state, nowMs);
        long lastOffset;
        lock (_appendLock)
        {
            if (!Partition.IsLeader || Partition.LeaderEpoch != LeaderEpoch) throw new TransactionStateWriteException(TransactionError.NotCoordinator);
            // Kafka's transaction.state.log.min.isr: a decision needs min.insync.replicas copies, as acks=all.
            if (!Partition.HasMinInsync) throw new TransactionStateWriteException(TransactionError.CoordinatorNotAvailable);
            var result = Partition.AppendRaw(record);
            if (!result.Succeeded)
            {
                if (!Partition.IsLeader) throw new TransactionStateWriteException(TransactionError.NotCoordinator);
                return Task.FromException(new IOException($"Appending to {TransactionStateTopic.Name}-{Index} failed: {result.Error}."));
            }
            Interlocked.Increment(ref RecordsSinceCompaction);
            lastOffset = result.LastOffset;
        }
        return Partition.WaitForCommitAsync(lastOffset);
    }

    /// <summary>Starts a compaction: a fresh segment, from whose start the caller writes every live state again.</summary>
    public long BeginCompaction()
    {
        lock (_appendLock)
        {
            Partition.Roll();
            return Partition.LogEndOffset;
        }
    }

    /// <summary>Once the rewritten states are committed, every record before <paramref name="start"/> goes.</summary>
    public void EndCompaction(long start, long live)
    {
        Partition.DeleteRecords(start);
        Interlocked.Exchange(ref RecordsSinceCompaction, live);
    }
}

/// <summary>A write to <c>__transaction_state</c> refused before anything was appended; <see cref="Error"/> is the client's answer.</summary>
internal sealed class TransactionStateWriteException(TransactionError error) : Exception($"The transaction state write was refused: {error}.")
{
    public TransactionError Error { get; } = error;
}
