namespace Ferry.Broker.Topics;

/// <summary>A transaction aborted in a partition: its producer, its first data offset and its abort marker's offset.</summary>
public readonly record struct AbortedTransaction(long ProducerId, long FirstOffset, long LastOffset);

/// <summary>
/// The transactions of one partition: those still open (first offset per producer, which bounds the last stable
/// offset) and those aborted (what Fetch's aborted-transactions list names, Kafka's per-segment <c>.txnindex</c>).
/// </summary>
/// <remarks>
/// <para>Built from the log itself: every data batch with the transactional bit opens its producer's transaction if
/// none is open, every control batch closes it, an abort marker adds the entry. The partition feeds it on each
/// append (leader and follower alike) and rebuilds it from the whole log at open and after a truncation, together
/// with the idempotence state, so it survives a SIGKILL exactly as the log does.</para>
/// <para>Writers hold the partition's append lock; fetches read the aborted list under <see cref="_lock"/>,
/// and read <see cref="FirstUnstableOffset"/> without any lock.</para>
/// </remarks>
public sealed class PartitionTransactions
{
    private readonly Lock _lock = new();
    private readonly Dictionary<long, long> _open = [];
    // Ordered by LastOffset: markers are appended in offset order.
    private readonly List<AbortedTransaction> _aborted = [];
    private long _firstUnstableOffset = long.MaxValue;
    private volatile int _abortedCount;

    /// <summary>The first offset of the oldest open transaction, or long.MaxValue when none is open.</summary>
    public long FirstUnstableOffset => Volatile.Read(ref _firstUnstableOffset);

    /// <summary>Whether any aborted transaction is remembered (one volatile read: the fetch path's fast test).</summary>
    public bool HasAborted => _abortedCount > 0;

    /// <summary>The open transactions: producer id → first offset (DescribeProducers, admin).</summary>
    public IReadOnlyDictionary<long, long> Open
    {
        get
        {
            lock (_lock) return new Dictionary<long, long>(_open);
        }
    }

    /// <summary>Whether the producer has a transaction open here.</summary>
    public bool IsOpen(long producerId)
    {
        lock (_lock) return _open.ContainsKey(producerId);
    }

    /// <summary>A transactional data batch at <paramref name="baseOffset"/> (under the append lock).</summary>
    public void OnData(long producerId, long baseOffset)
    {
        lock (_lock)
        {
            if (!_open.TryAdd(producerId, baseOffset)) return;
            if (baseOffset < _firstUnstableOffset) Volatile.Write(ref _firstUnstableOffset, baseOffset);
        }
    }

    /// <summary>A marker at <paramref name="markerOffset"/> ends the producer's open transaction, if it has one.</summary>
    public void OnMarker(long producerId, long markerOffset, bool commit)
    {
        lock (_lock)
        {
            if (!_open.Remove(producerId, out long first)) return;
            if (!commit)
            {
                _aborted.Add(new AbortedTransaction(producerId, first, markerOffset));
                _abortedCount = _aborted.Count;
            }
            RecomputeFirstUnstable();
        }
    }

    /// <summary>
    /// Adds to <paramref name="into"/> the aborted transactions a read from <paramref name="fetchOffset"/> up to
    /// <paramref name="upperBound"/> (exclusive) may contain records of: ended at or after the fetch offset and begun
    /// before the bound (Kafka's <c>collectAbortedTxns</c>). Returns false, without a lock, when there are none at all.
    /// </summary>
    public bool CollectAborted(long fetchOffset, long upperBound, List<AbortedTransaction> into)
    {
        if (_abortedCount == 0) return false;
        lock (_lock)
        {
            int lo = 0, hi = _aborted.Count;
            while (lo < hi)
            {
                int mid = (lo + hi) >>> 1;
                if (_aborted[mid].LastOffset < fetchOffset) lo = mid + 1;
                else hi = mid;
            }
            for (int i = lo; i < _aborted.Count; i++)
            {
                if (_aborted[i].FirstOffset < upperBound) into.Add(_aborted[i]);
            }
        }
        return into.Count > 0;
    }

    /// <summary>Forgets aborted transactions wholly below the log start (retention, DeleteRecords).</summary>
    public void TruncateFromStart(long logStart)
    {
        lock (_lock)
        {
            int gone = 0;
            while (gone < _aborted.Count && _aborted[gone].LastOffset < logStart) gone++;
            if (gone == 0) return;
            _aborted.RemoveRange(0, gone);
            _abortedCount = _aborted.Count;
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            _open.Clear();
            _aborted.Clear();
            _abortedCount = 0;
            Volatile.Write(ref _firstUnstableOffset, long.MaxValue);
        }
    }

    private void RecomputeFirstUnstable()
    {
        long first = long.MaxValue;
        foreach (long offset in _open.Values) first = Math.Min(first, offset);
        Volatile.Write(ref _firstUnstableOffset, first);
    }
}
