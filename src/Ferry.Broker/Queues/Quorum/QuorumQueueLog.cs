using System.Buffers.Binary;
using Ferry.Broker.Topics;
using Ferry.Storage.Records;

namespace Ferry.Broker.Queues.Quorum;

/// <summary>
/// A quorum queue's log as its leader writes it: one partition of the queue's own internal topic, replicated like any
/// Kafka partition (followers fetch, the high watermark is what the in-sync replicas have, leader epochs fence old
/// leaders). Publishes, settlements and returns are records in it (<see cref="MessageRecords"/>), so the next leader
/// rebuilds the exact queue by reading it (<see cref="Load"/>).
/// </summary>
/// <remarks>
/// <para>A publish is confirmed, and delivered, once committed: below the high watermark (on every in-sync replica, which
/// with min.insync.replicas = a majority is at least a majority) and fsync'd here — followers fsync before they fetch
/// further. Settlements and returns are written without waiting, as acks are on classic queues: one lost to a failover
/// only means a redelivery.</para>
/// <para>Reclaiming: once every record of the oldest segment is done with (<see cref="SettledOffsets"/>), the declaration
/// is written again at the log's end and, once that copy is committed, the log start moves past the segment (Kafka's
/// DeleteRecords, which followers follow), so the log holds what is still open plus one declaration.</para>
/// </remarks>
internal sealed class QuorumQueueLog(Partition partition, int leaderEpoch) : IQueueLog
{
    private readonly MessageRecords _writer = new();
    private readonly Dictionary<long, int> _deliveryCounts = [];
    private readonly SettledOffsets _done = new();
    private byte[]? _definition;
    private int _segmentCount;
    private long _nextSegmentBase = long.MaxValue;
    private volatile bool _reclaiming;

    public Partition Partition { get; } = partition;

    /// <summary>The leader epoch this node took the queue at; every write checks that it still leads at it.</summary>
    public int LeaderEpoch { get; } = leaderEpoch;

    public bool Replicated => true;

    public long SizeInBytes => Partition.SizeInBytes;

    public int SegmentCount => Partition.SegmentCount;

    /// <summary>Whether this node still leads the queue's partition at the epoch it took it.</summary>
    public bool Leads => Partition.IsLeader && Partition.LeaderEpoch == LeaderEpoch;

    /// <summary>
    /// Reads the whole log: the latest declaration, and the messages not settled, in log order, each with the number
    /// of times it came back. Every one of them is marked redelivered: the previous leader may have delivered it.
    /// </summary>
    public byte[]? Load(IMessageContentCodec codec, MessagePool pool, List<(RecoveredMessage Message, int DeliveryCount)> recovered)
    {
        byte[]? definition = null;
        var live = new SortedDictionary<long, RecoveredMessage>();
        var counts = _deliveryCounts;
        Partition.ForEachBatch(Partition.LogStartOffset, batch =>
        {
            var reader = new RecordReader(batch);
            while (reader.TryRead(out var record))
            {
                switch (MessageRecords.OpOf(record))
                {
                    case null:
                        live[record.Offset] = new RecoveredMessage(MessageRecords.Decode(record, codec, pool), record.Offset, record.Timestamp, true);
                        break;
                    case MessageRecords.QuorumOp.Declare:
                        definition = record.Value.ToArray();
                        break;
                    case MessageRecords.QuorumOp.Settle:
                        for (var v = record.Value; v.Length >= 8; v = v[8..])
                        {
                            long offset = BinaryPrimitives.ReadInt64BigEndian(v);
                            if (live.Remove(offset, out var settled)) settled.Message.Release();
                            counts.Remove(offset);
                        }
                        break;
                    case MessageRecords.QuorumOp.Return:
                        for (var v = record.Value; v.Length >= 8; v = v[8..])
                        {
                            long offset = BinaryPrimitives.ReadInt64BigEndian(v);
                            if (live.ContainsKey(offset)) counts[offset] = counts.GetValueOrDefault(offset) + 1;
                        }
                        break;
                }
            }
        });
        foreach (var message in live.Values) recovered.Add((message, counts.GetValueOrDefault(message.Offset)));
        // Everything that is not a live message is done with: the reclaiming low-water mark starts from there.
        long start = Partition.LogStartOffset, end = Partition.LogEndOffset;
        _done.Reset(start);
        for (long o = start; o < end; o++)
        {
            if (!live.ContainsKey(o)) _done.MarkDone(o);
        }
        _definition = definition;
        RefreshSegments();
        return definition;
    }

    /// <summary>Reads only the declaration (a follower learning what queue it holds a copy of); null while it has not arrived.</summary>
    public static byte[]? ReadDefinition(Partition partition)
    {
        byte[]? definition = null;
        partition.ForEachBatch(partition.LogStartOffset, batch =>
        {
            if (definition is not null) return;
            var reader = new RecordReader(batch);
            while (reader.TryRead(out var record))
            {
                if (MessageRecords.OpOf(record) == MessageRecords.QuorumOp.Declare) definition = record.Value.ToArray();
            }
        });
        return definition;
    }

    /// <summary>Writes the declaration; returns its offset, to wait on.</summary>
    public long AppendDeclaration(byte[] definition, long timestamp)
    {
        _definition = definition;
        long offset = AppendOrThrow(_writer.BuildDeclare(definition, timestamp));
        _done.MarkDone(offset);
        return offset;
    }

    public long Append(AmqpMessage message, long timestamp) => AppendOrThrow(_writer.Build(message, timestamp));

    private long AppendOrThrow(Span<byte> batch)
    {
        if (!Leads) throw new QueueLogUnavailableException($"This node no longer leads {Partition.Topic} at epoch {LeaderEpoch}.");
        // Raft's rule: nothing is accepted without a majority to commit it (min.insync.replicas is one).
        if (!Partition.HasMinInsync) throw new QueueLogUnavailableException($"{Partition.Topic} has fewer in-sync members than a majority.");
        var result = Partition.AppendRaw(batch);
        if (!result.Succeeded) throw new QueueLogUnavailableException($"Appending to {Partition.Topic} failed: {result.Error}.");
        return result.BaseOffset;
    }

    public async Task WaitForDurableAsync(long endOffset)
    {
        try
        {
            await Partition.WaitForCommitAsync(endOffset - 1).ConfigureAwait(false);
        }
        catch (PartitionCommitException e)
        {
            throw new QueueLogUnavailableException($"{Partition.Topic} could not commit offset {endOffset - 1}: {e.Error}.");
        }
    }

    public void Settle(ReadOnlySpan<long> offsets)
    {
        if (offsets.IsEmpty) return;
        foreach (long offset in offsets)
        {
            _deliveryCounts.Remove(offset);
            _done.MarkDone(offset);
        }
        Write(MessageRecords.QuorumOp.Settle, offsets);
        MaybeReclaim();
    }

    /// <summary>Not recorded: a new leader marks every message it recovers redelivered.</summary>
    public void MarkDelivered(ReadOnlySpan<long> offsets)
    {
    }

    public int Returned(long offset)
    {
        int count = _deliveryCounts.GetValueOrDefault(offset) + 1;
        _deliveryCounts[offset] = count;
        Write(MessageRecords.QuorumOp.Return, [offset]);
        return count;
    }

    /// <summary>The delivery count recovered for a message (0 if it never came back).</summary>
    public void SetDeliveryCount(long offset, int count)
    {
        if (count > 0) _deliveryCounts[offset] = count;
    }

    private void Write(MessageRecords.QuorumOp op, ReadOnlySpan<long> offsets)
    {
        // A settlement this node can no longer write is the next leader's to redo: it redelivers the message.
        if (!Leads) return;
        var result = Partition.AppendRaw(_writer.Build(op, offsets, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
        if (result.Succeeded) _done.MarkDone(result.BaseOffset);
    }

    private void RefreshSegments()
    {
        var bases = Partition.SegmentBaseOffsets;
        _segmentCount = bases.Count;
        _nextSegmentBase = bases.Count > 1 ? bases[1] : long.MaxValue;
    }

    /// <summary>When the oldest segment holds nothing open any more: copy the declaration forward, then drop the segment.</summary>
    private void MaybeReclaim()
    {
        if (Partition.SegmentCount != _segmentCount) RefreshSegments();
        if (_reclaiming || _definition is null || _done.Low < _nextSegmentBase || !Leads) return;
        long upTo = _done.Low;
        long copy;
        try
        {
            copy = AppendDeclaration(_definition, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        }
        catch (QueueLogUnavailableException)
        {
            return;
        }
        _reclaiming = true;
        _ = ReclaimAsync(Math.Min(upTo, copy), copy);
    }

    private async Task ReclaimAsync(long upTo, long copy)
    {
        try
        {
            // The old declaration goes only once its copy is on a majority: a new leader always finds one.
            await Partition.WaitForCommitAsync(copy).ConfigureAwait(false);
            if (Leads) Partition.DeleteRecords(upTo);
        }
        catch (Exception e) when (e is PartitionCommitException or ObjectDisposedException or IOException)
        {
            // Leadership moved or the node is closing: the next leader reclaims.
        }
        finally
        {
            _reclaiming = false;
        }
    }

    /// <summary>The partition belongs to the topic registry, which closes it.</summary>
    public ValueTask CloseAsync() => ValueTask.CompletedTask;

    /// <summary>The queue's topic is deleted through the controller (<see cref="QueueBroker"/>), which removes every replica.</summary>
    public ValueTask DeleteAsync() => ValueTask.CompletedTask;
}
