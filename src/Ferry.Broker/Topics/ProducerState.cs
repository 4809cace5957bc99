namespace Ferry.Broker.Topics;

/// <summary>The outcome of checking an idempotent batch's sequence against what the partition has seen.</summary>
public enum SequenceCheck
{
    /// <summary>The next batch in order (or not idempotent): append it.</summary>
    Accept,
    /// <summary>A retry of a batch already appended: answer success with its original offset.</summary>
    Duplicate,
    /// <summary>A gap or a rewind: OUT_OF_ORDER_SEQUENCE_NUMBER.</summary>
    OutOfOrder,
    /// <summary>An epoch older than the producer's current one: INVALID_PRODUCER_EPOCH (fenced).</summary>
    StaleEpoch,
    /// <summary>A producer id this partition has never seen, starting past sequence 0: UNKNOWN_PRODUCER_ID.</summary>
    UnknownProducer,
}

/// <summary>
/// Idempotent-producer state of one partition: per producer id, its epoch and its last five batches
/// (Kafka keeps five because a producer may have five requests in flight, and any of them may be retried).
/// Callers hold the partition's append lock.
/// </summary>
public sealed class ProducerStateTable
{
    private const int RememberedBatches = 5;
    private readonly Dictionary<long, Entry> _producers = [];

    public SequenceCheck Check(long producerId, short epoch, int firstSequence, int lastSequence, out long duplicateBaseOffset)
    {
        duplicateBaseOffset = -1;
        if (producerId < 0) return SequenceCheck.Accept;
        if (!_producers.TryGetValue(producerId, out var entry))
            return firstSequence == 0 ? SequenceCheck.Accept : SequenceCheck.UnknownProducer;
        if (epoch < entry.Epoch) return SequenceCheck.StaleEpoch;
        if (epoch > entry.Epoch) return firstSequence == 0 ? SequenceCheck.Accept : SequenceCheck.OutOfOrder;

        foreach (var batch in entry.Batches)
        {
            if (batch.FirstSequence == firstSequence && batch.LastSequence == lastSequence)
            {
                duplicateBaseOffset = batch.BaseOffset;
                return SequenceCheck.Duplicate;
            }
        }
        int expected = entry.Batches.Count == 0 ? 0 : NextSequence(entry.Batches[^1].LastSequence);
        return firstSequence == expected ? SequenceCheck.Accept : SequenceCheck.OutOfOrder;
    }

    public void Record(long producerId, short epoch, int firstSequence, int lastSequence, long baseOffset, long timestamp = -1)
    {
        if (producerId < 0) return;
        if (!_producers.TryGetValue(producerId, out var entry) || entry.Epoch != epoch)
        {
            entry = new Entry(epoch);
            _producers[producerId] = entry;
        }
        entry.LastTimestamp = timestamp;
        entry.Batches.Add(new BatchMetadata(firstSequence, lastSequence, baseOffset));
        if (entry.Batches.Count > RememberedBatches) entry.Batches.RemoveAt(0);
    }

    /// <summary>
    /// A transaction marker of <paramref name="epoch"/>: a newer epoch (the coordinator fenced the producer, or
    /// bumped it) replaces the producer's state, so that batches of older epochs are refused from now on; the same
    /// epoch keeps its sequences, which go on across the producer's transactions.
    /// </summary>
    /// <remarks>The marker's coordinator epoch is kept (the highest seen), so that a coordinator of an older epoch,
    /// one that lost its <c>__transaction_state</c> partition, cannot write a marker after the new one did (KIP-98).</remarks>
    public void RecordMarker(long producerId, short epoch, int coordinatorEpoch)
    {
        if (producerId < 0) return;
        if (!_producers.TryGetValue(producerId, out var entry) || entry.Epoch < epoch) _producers[producerId] = entry = new Entry(epoch);
        if (coordinatorEpoch > entry.CoordinatorEpoch) entry.CoordinatorEpoch = coordinatorEpoch;
    }

    /// <summary>The highest coordinator epoch of the producer's markers here, or -1.</summary>
    public int CoordinatorEpoch(long producerId) => _producers.TryGetValue(producerId, out var entry) ? entry.CoordinatorEpoch : -1;

    /// <summary>The producer's current epoch here, or null if this partition has not seen it.</summary>
    public short? CurrentEpoch(long producerId) => _producers.TryGetValue(producerId, out var entry) ? entry.Epoch : null;

    /// <summary>Every producer as DescribeProducers shows it; <paramref name="open"/>: producer id → first offset of its open transaction.</summary>
    public IReadOnlyList<ProducerSnapshot> Snapshot(IReadOnlyDictionary<long, long> open)
    {
        var list = new List<ProducerSnapshot>(_producers.Count);
        foreach (var (id, entry) in _producers)
        {
            int last = entry.Batches.Count == 0 ? -1 : entry.Batches[^1].LastSequence;
            list.Add(new ProducerSnapshot(id, entry.Epoch, last, entry.LastTimestamp, open.TryGetValue(id, out long first) ? first : -1));
        }
        return list;
    }

    /// <summary>Forgets every producer (before a rebuild from the log).</summary>
    public void Clear() => _producers.Clear();

    /// <summary>Sequences wrap from int.MaxValue to 0, as in Kafka.</summary>
    private static int NextSequence(int sequence) => sequence == int.MaxValue ? 0 : sequence + 1;

    private sealed class Entry(short epoch)
    {
        public short Epoch { get; } = epoch;
        public long LastTimestamp { get; set; } = -1;
        public int CoordinatorEpoch { get; set; } = -1;
        public List<BatchMetadata> Batches { get; } = new(RememberedBatches + 1);
    }

    private readonly record struct BatchMetadata(int FirstSequence, int LastSequence, long BaseOffset);
}

/// <summary>One producer of a partition: its epoch, last sequence and timestamp, and where its open transaction starts (-1: none).</summary>
public readonly record struct ProducerSnapshot(long ProducerId, short Epoch, int LastSequence, long LastTimestamp, long CurrentTransactionStartOffset);
