using Ferry.Broker.Diagnostics;
using Ferry.Storage;
using Ferry.Storage.Records;

namespace Ferry.Broker.Topics;

/// <summary>The outcome of a produce to one partition.</summary>
public readonly record struct PartitionAppendResult(PartitionAppendError Error, long BaseOffset, long LogAppendTime, long LogStartOffset)
{
    public static PartitionAppendResult Failed(PartitionAppendError error) => new(error, -1, -1, -1);
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
    /// <summary>Transactional batches need the transaction coordinator, which Ferry does not have yet.</summary>
    TransactionsUnsupported,
}

/// <summary>
/// One partition of a topic: its log, its idempotent-producer state and the signal that wakes fetchers.
/// Leader epoch is always 0 on a single node; it is carried so that replication has a place to go.
/// </summary>
public sealed class Partition
{
    private readonly Lock _appendLock = new();
    private readonly ProducerStateTable _producers = new();

    internal Partition(string topic, int index, Log log)
    {
        Topic = topic;
        Index = index;
        Log = log;
    }

    public string Topic { get; }
    public int Index { get; }
    public Log Log { get; }
    public int LeaderEpoch => 0;
    public AppendSignal Appended { get; } = new();

    /// <summary>Messages and bytes appended and fetched (metrics and admin rates).</summary>
    public TrafficCounters Traffic { get; } = new();

    public long HighWatermark => Log.LogEndOffset;
    public long LogStartOffset => Log.LogStartOffset;

    /// <summary>With no transactions open, the last stable offset is the high watermark.</summary>
    public long LastStableOffset => Log.LogEndOffset;

    /// <summary>
    /// Appends a producer's records (one or more batches) after checking its idempotence sequence; a retried
    /// batch already in the log is answered with its original offset and not written again.
    /// </summary>
    public PartitionAppendResult Append(Span<byte> records)
    {
        if (RecordBatch.Check(records, verifyCrc: false) is var check && check != BatchCheck.Valid)
        {
            return PartitionAppendResult.Failed(check switch
            {
                BatchCheck.Incomplete => PartitionAppendError.InvalidRecord,
                _ => PartitionAppendError.CorruptMessage,
            });
        }
        if (RecordBatch.IsTransactional(records)) return PartitionAppendResult.Failed(PartitionAppendError.TransactionsUnsupported);

        long producerId = RecordBatch.ProducerId(records);
        short epoch = RecordBatch.ProducerEpoch(records);
        int firstSequence = RecordBatch.BaseSequence(records);
        int lastSequence = LastSequence(records, firstSequence);

        AppendResult appended;
        lock (_appendLock)
        {
            switch (_producers.Check(producerId, epoch, firstSequence, lastSequence, out long duplicateOffset))
            {
                case SequenceCheck.Duplicate:
                    return new PartitionAppendResult(PartitionAppendError.None, duplicateOffset, -1, Log.LogStartOffset);
                case SequenceCheck.OutOfOrder:
                    return PartitionAppendResult.Failed(PartitionAppendError.OutOfOrderSequence);
                case SequenceCheck.StaleEpoch:
                    return PartitionAppendResult.Failed(PartitionAppendError.InvalidProducerEpoch);
                case SequenceCheck.UnknownProducer:
                    return PartitionAppendResult.Failed(PartitionAppendError.UnknownProducerId);
            }
            appended = Log.Append(records);
            if (appended.Succeeded) _producers.Record(producerId, epoch, firstSequence, lastSequence, appended.BaseOffset);
        }
        if (!appended.Succeeded)
        {
            return PartitionAppendResult.Failed(appended.Error switch
            {
                AppendError.BatchTooLarge => PartitionAppendError.MessageTooLarge,
                AppendError.CorruptBatch => PartitionAppendError.CorruptMessage,
                _ => PartitionAppendError.InvalidRecord,
            });
        }
        Traffic.AddIn(appended.LastOffset - appended.BaseOffset + 1, records.Length);
        Appended.Notify();
        return new PartitionAppendResult(PartitionAppendError.None, appended.BaseOffset, appended.LogAppendTime, Log.LogStartOffset);
    }

    /// <summary>Appends the broker's own batch (AMQP, tools) with no producer checks.</summary>
    public AppendResult AppendRaw(Span<byte> batches)
    {
        var result = Log.Append(batches);
        if (result.Succeeded)
        {
            Traffic.AddIn(result.LastOffset - result.BaseOffset + 1, batches.Length);
            Appended.Notify();
        }
        return result;
    }

    private static int LastSequence(ReadOnlySpan<byte> batch, int firstSequence)
    {
        if (firstSequence < 0) return -1;
        long last = (long)firstSequence + RecordBatch.LastOffsetDelta(batch);
        return (int)(last > int.MaxValue ? last - int.MaxValue - 1 : last);
    }

    /// <summary>
    /// Rebuilds idempotence state from the batches in the log's tail, so that a producer retrying across a
    /// broker restart still gets its duplicate recognised.
    /// </summary>
    internal void RebuildProducerState() =>
        Log.ForEachBatch(Log.SegmentBaseOffsets[^1], batch =>
        {
            int first = RecordBatch.BaseSequence(batch);
            _producers.Record(RecordBatch.ProducerId(batch), RecordBatch.ProducerEpoch(batch), first,
                LastSequence(batch, first), RecordBatch.BaseOffset(batch));
        });
}
