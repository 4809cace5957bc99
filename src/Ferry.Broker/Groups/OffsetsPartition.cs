using Ferry.Broker.Topics;
using Ferry.Storage.Records;

namespace Ferry.Broker.Groups;

/// <summary>
/// One partition of <c>__consumer_offsets</c> this node leads, and so coordinates the groups of: loaded from its log
/// when leadership arrives (the latest record of each key wins), written as leader, each write acknowledged once
/// committed (below the high watermark on every in-sync replica and durable here: acks=all).
/// </summary>
internal sealed class OffsetsPartition(Partition partition, int leaderEpoch)
{
    private const int BatchTargetBytes = 256 * 1024;

    public Partition Partition { get; } = partition;
    public int Index => Partition.Index;

    /// <summary>The leader epoch this node took the partition at; a write after another epoch began is refused.</summary>
    public int LeaderEpoch { get; } = leaderEpoch;

    /// <summary>False while the log is read; groups of the partition answer COORDINATOR_LOAD_IN_PROGRESS meanwhile.</summary>
    public volatile bool Loaded;

    /// <summary>Records appended since the last compaction (live ones included): what decides the next one.</summary>
    public long RecordsSinceCompaction;

    /// <summary>
    /// Reads the whole log into <paramref name="offsets"/> and the offsets of still open transactions into
    /// <paramref name="pending"/>; returns how many offset records it held.
    /// </summary>
    public long Load(Dictionary<OffsetKey, CommittedOffset> offsets,
        Dictionary<PendingOffsetsKey, Dictionary<(string Topic, int Partition), CommittedOffset>> pending)
    {
        long records = 0;
        Partition.ForEachBatch(Partition.LogStartOffset, batch => records += OffsetRecords.ReadBatch(batch, offsets, pending));
        RecordsSinceCompaction = records;
        return records;
    }

    /// <summary>
    /// Appends commits (null: delete) as the partition's leader and returns the write to wait on. The caller orders
    /// the appends of one group (it holds the group's lock), so the log's order is the order of the group's state.
    /// </summary>
    /// <exception cref="OffsetsWriteException">This node no longer leads the partition at its epoch, or too few replicas are in sync.</exception>
    public PendingWrite Append(IEnumerable<(OffsetKey Key, CommittedOffset? Value)> changes, long nowMs)
    {
        var builder = new RecordBatchBuilder();
        long last = -1;
        foreach (var (key, value) in changes)
        {
            Interlocked.Increment(ref RecordsSinceCompaction);
            builder.Add(OffsetRecords.EncodeKey(key), value is null ? [] : OffsetRecords.EncodeValue(value), nowMs);
            if (builder.Size >= BatchTargetBytes) last = Flush(builder);
        }
        if (builder.Count > 0) last = Flush(builder);
        return new PendingWrite(last < 0 ? null : this, last);
    }

    /// <summary>Appends offsets of <paramref name="key"/>'s open transaction (TxnOffsetCommit), pending until its marker.</summary>
    public PendingWrite AppendPending(PendingOffsetsKey key, IEnumerable<(string Topic, int Partition, CommittedOffset Value)> offsets, long nowMs)
    {
        var builder = new RecordBatchBuilder();
        long last = -1;
        foreach (var (topic, partition, value) in offsets)
        {
            Interlocked.Increment(ref RecordsSinceCompaction);
            builder.Add(OffsetRecords.EncodePendingKey(new OffsetKey(key.Group, topic, partition), key.ProducerId), OffsetRecords.EncodeValue(value), nowMs);
            if (builder.Size >= BatchTargetBytes) last = Flush(builder);
        }
        if (builder.Count > 0) last = Flush(builder);
        return new PendingWrite(last < 0 ? null : this, last);
    }

    /// <summary>Appends the end of <paramref name="key"/>'s transaction for the group: its pending offsets commit, or are dropped.</summary>
    public PendingWrite AppendMarker(PendingOffsetsKey key, bool commit, long nowMs)
    {
        var builder = new RecordBatchBuilder();
        Interlocked.Increment(ref RecordsSinceCompaction);
        builder.Add(OffsetRecords.EncodeMarkerKey(key), OffsetRecords.EncodeMarkerValue(commit), nowMs);
        return new PendingWrite(this, Flush(builder));
    }

    private long Flush(RecordBatchBuilder builder)
    {
        if (!Partition.IsLeader || Partition.LeaderEpoch != LeaderEpoch) throw new OffsetsWriteException(GroupError.NotCoordinator);
        // Kafka's offsets.commit.required.acks=-1: a commit needs min.insync.replicas copies, as acks=all.
        if (!Partition.HasMinInsync) throw new OffsetsWriteException(GroupError.CoordinatorNotAvailable);
        var batch = builder.ToArray();
        builder.Clear();
        var result = Partition.AppendRaw(batch);
        if (!result.Succeeded)
        {
            if (!Partition.IsLeader) throw new OffsetsWriteException(GroupError.NotCoordinator);
            throw new IOException($"Appending to {OffsetsTopic.Name}-{Index} failed: {result.Error}.");
        }
        return result.LastOffset;
    }

    /// <summary>Completes with None once the write is committed, or with the error a client gets instead.</summary>
    public static async Task<GroupError> CommitAsync(PendingWrite write)
    {
        if (write.Owner is not { } owner) return GroupError.None;
        try
        {
            await owner.Partition.WaitForCommitAsync(write.LastOffset).ConfigureAwait(false);
            return GroupError.None;
        }
        catch (PartitionCommitException e)
        {
            return e.Error == PartitionAppendError.NotLeaderOrFollower ? GroupError.NotCoordinator : GroupError.CoordinatorNotAvailable;
        }
    }
}

/// <summary>A write to an offsets partition, to wait on: nothing to wait for when <see cref="Owner"/> is null.</summary>
internal readonly record struct PendingWrite(OffsetsPartition? Owner, long LastOffset);

/// <summary>A write to <c>__consumer_offsets</c> refused before anything was appended; <see cref="Error"/> is the client's answer.</summary>
internal sealed class OffsetsWriteException(GroupError error) : Exception($"The offsets write was refused: {error}.")
{
    public GroupError Error { get; } = error;
}
