using System.Buffers.Binary;
using System.Text;
using Ferry.Storage;
using Ferry.Storage.Records;
using Microsoft.Extensions.Logging;

namespace Ferry.Broker.Groups;

/// <summary>A committed offset as stored: what OffsetFetch returns and what expiry looks at.</summary>
public sealed record CommittedOffset(long Offset, int LeaderEpoch, string? Metadata, long CommitTimestamp);

/// <summary>Names one committed offset: group, topic, partition.</summary>
public readonly record struct OffsetKey(string Group, string Topic, int Partition);

/// <summary>Names the offsets a producer's open transaction has committed for a group (TxnOffsetCommit), not yet visible.</summary>
public readonly record struct PendingOffsetsKey(string Group, long ProducerId);

/// <summary>
/// Committed offsets, durable: an append-only <see cref="Log"/> in <c>DATA/__consumer_offsets/</c>, as Kafka's
/// compacted <c>__consumer_offsets</c> topic. Each commit is a RecordBatch of records keyed by
/// (group, topic, partition); a deletion is a record with an empty value (a tombstone).
/// </summary>
/// <remarks>
/// <para>Replay at open reads the whole log, the last record of a key winning. Compaction, at open and whenever
/// the coordinator finds the log mostly dead records: the live offsets are appended again at the tail of a fresh
/// segment, fsync'd, and the log start moved past every older segment, which deletes them. A crash in the middle
/// leaves old records followed by some of the rewrite, which replay to the same state, so compaction needs no
/// other crash handling. (Kafka's log cleaner does this job for <c>__consumer_offsets</c>.)</para>
/// <para>Durability: the log takes the host's Storage:Fsync policy. With it (the default) an acknowledged
/// OffsetCommit has been fsync'd (<see cref="WaitForDurableAsync"/>, group commit shared by concurrent commits);
/// without it, the commit is in the page cache when acknowledged, as acks=1 produce.</para>
/// <para>Record key: version int16 (1) | group string16 | topic string16 | partition int32.
/// Record value: version int16 (1) | offset int64 | leader epoch int32 | metadata string16 (-1: null) |
/// commit timestamp int64. Empty value: deleted.</para>
/// <para>Transactional offsets (Kafka writes them to <c>__consumer_offsets</c> as transactional records, made visible
/// by the transaction's marker): key version 2 = the key above then producer id int64, value as above, pending until
/// a key version 3 record group string16 | producer id int64 with value version int16 | commit int8 (1 commit, 0
/// abort) applies or drops them.</para>
/// </remarks>
public sealed partial class OffsetStore : IAsyncDisposable
{
    private const short RecordVersion = 1;
    private const short PendingVersion = 2;
    private const short MarkerVersion = 3;
    private const int BatchTargetBytes = 256 * 1024;

    private readonly Log _log;
    private readonly TimeProvider _time;

    private OffsetStore(Log log, TimeProvider time)
    {
        _log = log;
        _time = time;
    }

    public static OffsetStore Open(string directory, LogOptions options, TimeProvider time, ILogger logger,
        out Dictionary<OffsetKey, CommittedOffset> offsets, out Dictionary<PendingOffsetsKey, Dictionary<(string Topic, int Partition), CommittedOffset>> pending)
    {
        // Retention must never delete commits by age: expiry is decided per group and written as tombstones.
        var log = Log.Open(directory, options with { RetentionMs = -1, RetentionBytes = -1 }, time, logger);
        offsets = [];
        pending = [];
        long records = Replay(log, offsets, pending);
        var store = new OffsetStore(log, time) { RecordsSinceCompaction = records };
        long live = offsets.Count + pending.Values.Sum(p => (long)p.Count);
        if (records > live)
        {
            long start = store.BeginCompaction();
            if (offsets.Count > 0) store.Append(offsets.Select(kv => (kv.Key, (CommittedOffset?)kv.Value)));
            foreach (var (key, values) in pending) store.AppendPending(key, values.Select(kv => (kv.Key.Topic, kv.Key.Partition, kv.Value)));
            store.EndCompaction(start, live);
        }
        Loaded(logger, offsets.Count, records);
        return store;
    }

    private static long Replay(Log log, Dictionary<OffsetKey, CommittedOffset> offsets,
        Dictionary<PendingOffsetsKey, Dictionary<(string Topic, int Partition), CommittedOffset>> pending)
    {
        long records = 0;
        log.ForEachBatch(log.LogStartOffset, batch =>
        {
            var reader = new RecordReader(batch);
            while (reader.TryRead(out var record))
            {
                records++;
                short version = BinaryPrimitives.ReadInt16BigEndian(record.Key);
                if (version == PendingVersion)
                {
                    var (offsetKey, producerId) = ReadPendingKey(record.Key);
                    var pendingKey = new PendingOffsetsKey(offsetKey.Group, producerId);
                    if (!pending.TryGetValue(pendingKey, out var values)) pending[pendingKey] = values = [];
                    values[(offsetKey.Topic, offsetKey.Partition)] = ReadValue(record.Value);
                    continue;
                }
                if (version == MarkerVersion)
                {
                    var pendingKey = ReadMarkerKey(record.Key);
                    if (pending.Remove(pendingKey, out var values) && record.Value.Length >= 3 && record.Value[2] == 1)
                    {
                        foreach (var (tp, value) in values) offsets[new OffsetKey(pendingKey.Group, tp.Topic, tp.Partition)] = value;
                    }
                    continue;
                }
                var key = ReadKey(record.Key);
                if (record.Value.IsEmpty) offsets.Remove(key);
                else offsets[key] = ReadValue(record.Value);
            }
        });
        return records;
    }

    /// <summary>Records appended since the last compaction (live ones included): what decides the next one.</summary>
    public long RecordsSinceCompaction { get; private set; }

    /// <summary>
    /// Starts a compaction (see remarks): a fresh segment, from whose start the caller appends every live offset
    /// again, each group under its lock, while commits go on. Returns the offset to pass to <see cref="EndCompaction"/>.
    /// </summary>
    public long BeginCompaction()
    {
        _log.Roll();
        return _log.LogEndOffset;
    }

    /// <summary>
    /// Ends a compaction: once the rewritten offsets are on disk, every segment before <paramref name="start"/>
    /// goes. A commit that raced in just below <paramref name="start"/> stays readable in the active segment and
    /// is followed by its rewrite, so replay still ends at the right value.
    /// </summary>
    public void EndCompaction(long start, long live)
    {
        _log.Flush();
        _log.AdvanceLogStart(start);
        RecordsSinceCompaction = live;
    }

    /// <summary>
    /// Appends commits (null: delete) and returns the log end offset to wait on for durability. The caller
    /// orders appends of one group (it holds the group's lock), so the log's order is the order of the state.
    /// </summary>
    public long Append(IEnumerable<(OffsetKey Key, CommittedOffset? Value)> changes)
    {
        var builder = new RecordBatchBuilder();
        long end = _log.LogEndOffset;
        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var (key, value) in changes)
        {
            RecordsSinceCompaction++;
            builder.Add(EncodeKey(key), value is null ? [] : EncodeValue(value), now);
            if (builder.Size >= BatchTargetBytes) end = Flush(builder);
        }
        if (builder.Count > 0) end = Flush(builder);
        return end;
    }

    /// <summary>Appends a transaction's offsets for a group, pending until <see cref="AppendMarker"/>; returns the end offset to wait on.</summary>
    public long AppendPending(PendingOffsetsKey key, IEnumerable<(string Topic, int Partition, CommittedOffset Value)> offsets)
    {
        var builder = new RecordBatchBuilder();
        long end = _log.LogEndOffset;
        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var (topic, partition, value) in offsets)
        {
            RecordsSinceCompaction++;
            var offsetKey = EncodeKey(new OffsetKey(key.Group, topic, partition), extra: 8);
            BinaryPrimitives.WriteInt16BigEndian(offsetKey, PendingVersion);
            BinaryPrimitives.WriteInt64BigEndian(offsetKey.AsSpan(offsetKey.Length - 8), key.ProducerId);
            builder.Add(offsetKey, EncodeValue(value), now);
            if (builder.Size >= BatchTargetBytes) end = Flush(builder);
        }
        if (builder.Count > 0) end = Flush(builder);
        return end;
    }

    /// <summary>Appends the end of a transaction for a group: its pending offsets become committed (or are dropped).</summary>
    public long AppendMarker(PendingOffsetsKey key, bool commit)
    {
        int groupLength = Encoding.UTF8.GetByteCount(key.Group);
        var keyBytes = new byte[2 + 2 + groupLength + 8];
        BinaryPrimitives.WriteInt16BigEndian(keyBytes, MarkerVersion);
        int p = 2 + WriteString(keyBytes.AsSpan(2), key.Group);
        BinaryPrimitives.WriteInt64BigEndian(keyBytes.AsSpan(p), key.ProducerId);
        byte[] value = [0, 0, commit ? (byte)1 : (byte)0];
        var builder = new RecordBatchBuilder();
        builder.Add(keyBytes, value, _time.GetUtcNow().ToUnixTimeMilliseconds());
        RecordsSinceCompaction++;
        return Flush(builder);
    }

    private long Flush(RecordBatchBuilder builder)
    {
        var batch = builder.ToArray();
        builder.Clear();
        var result = _log.Append(batch);
        if (!result.Succeeded) throw new IOException($"Appending to the offsets log failed: {result.Error}.");
        return result.LastOffset + 1;
    }

    /// <summary>Completes once the log is durable up to <paramref name="endOffset"/> under the Storage:Fsync policy.</summary>
    public Task WaitForDurableAsync(long endOffset) => _log.WaitForDurableAsync(endOffset);

    public ValueTask DisposeAsync() => _log.DisposeAsync();

    private static byte[] EncodeKey(OffsetKey key, int extra = 0)
    {
        int groupLength = Encoding.UTF8.GetByteCount(key.Group), topicLength = Encoding.UTF8.GetByteCount(key.Topic);
        var bytes = new byte[2 + 2 + groupLength + 2 + topicLength + 4 + extra];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteInt16BigEndian(span, RecordVersion);
        int p = 2;
        p += WriteString(span[p..], key.Group);
        p += WriteString(span[p..], key.Topic);
        BinaryPrimitives.WriteInt32BigEndian(span[p..], key.Partition);
        return bytes;
    }

    private static byte[] EncodeValue(CommittedOffset value)
    {
        int metadataLength = value.Metadata is null ? 0 : Encoding.UTF8.GetByteCount(value.Metadata);
        var bytes = new byte[2 + 8 + 4 + 2 + metadataLength + 8];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteInt16BigEndian(span, RecordVersion);
        BinaryPrimitives.WriteInt64BigEndian(span[2..], value.Offset);
        BinaryPrimitives.WriteInt32BigEndian(span[10..], value.LeaderEpoch);
        int p = 14;
        if (value.Metadata is null)
        {
            BinaryPrimitives.WriteInt16BigEndian(span[p..], -1);
            p += 2;
        }
        else
        {
            p += WriteString(span[p..], value.Metadata);
        }
        BinaryPrimitives.WriteInt64BigEndian(span[p..], value.CommitTimestamp);
        return bytes;
    }

    private static int WriteString(Span<byte> span, string value)
    {
        int length = Encoding.UTF8.GetBytes(value, span[2..]);
        BinaryPrimitives.WriteInt16BigEndian(span, checked((short)length));
        return 2 + length;
    }

    private static OffsetKey ReadKey(ReadOnlySpan<byte> span)
    {
        int p = 2;
        string group = ReadString(span, ref p)!;
        string topic = ReadString(span, ref p)!;
        return new OffsetKey(group, topic, BinaryPrimitives.ReadInt32BigEndian(span[p..]));
    }

    private static (OffsetKey Key, long ProducerId) ReadPendingKey(ReadOnlySpan<byte> span)
    {
        var key = ReadKey(span);
        return (key, BinaryPrimitives.ReadInt64BigEndian(span[^8..]));
    }

    private static PendingOffsetsKey ReadMarkerKey(ReadOnlySpan<byte> span)
    {
        int p = 2;
        string group = ReadString(span, ref p)!;
        return new PendingOffsetsKey(group, BinaryPrimitives.ReadInt64BigEndian(span[p..]));
    }

    private static CommittedOffset ReadValue(ReadOnlySpan<byte> span)
    {
        long offset = BinaryPrimitives.ReadInt64BigEndian(span[2..]);
        int epoch = BinaryPrimitives.ReadInt32BigEndian(span[10..]);
        int p = 14;
        string? metadata = ReadString(span, ref p);
        return new CommittedOffset(offset, epoch, metadata, BinaryPrimitives.ReadInt64BigEndian(span[p..]));
    }

    private static string? ReadString(ReadOnlySpan<byte> span, ref int p)
    {
        short length = BinaryPrimitives.ReadInt16BigEndian(span[p..]);
        p += 2;
        if (length < 0) return null;
        string value = Encoding.UTF8.GetString(span.Slice(p, length));
        p += length;
        return value;
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Loaded {Offsets} committed offsets from {Records} records")]
    private static partial void Loaded(ILogger logger, int offsets, long records);
}
