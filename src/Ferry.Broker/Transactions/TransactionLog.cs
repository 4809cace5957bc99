using System.Buffers.Binary;
using System.Text;
using Ferry.Broker.Topics;
using Ferry.Storage;
using Ferry.Storage.Records;
using Microsoft.Extensions.Logging;

namespace Ferry.Broker.Transactions;

/// <summary>
/// The durable transaction log, Kafka's <c>__transaction_state</c>: every transition of a transactional id is a
/// record keyed by the id, appended through a <see cref="Partition"/> of its own in <c>DATA/__transaction_state/</c>
/// (the same door every replicated log goes through) and acknowledged once committed there (fsync under the
/// Storage:Fsync policy). Replay at open reads the log, the last record of an id winning; an empty value is a
/// tombstone (the id expired).
/// </summary>
/// <remarks>
/// <para>Compaction rewrites the live states at the tail of a fresh segment and moves the log start past the older
/// ones, as the offsets log does; a crash in the middle replays to the same state.</para>
/// <para>Key: version int16 (0) | transactional id string16. Value: version int16 (0) | producer id int64 |
/// epoch int16 | last epoch int16 | timeout int32 | state int8 | start ms int64 | last update ms int64 |
/// partition count int32, each topic string16 + partition int32 | group count int32, each group string16.</para>
/// </remarks>
public sealed partial class TransactionLog : IAsyncDisposable
{
    private const short RecordVersion = 0;
    private readonly Partition _partition;
    private readonly TimeProvider _time;
    private readonly Lock _appendLock = new();

    private TransactionLog(Partition partition, TimeProvider time)
    {
        _partition = partition;
        _time = time;
    }

    /// <summary>Records appended since the last compaction (live ones included).</summary>
    public long RecordsSinceCompaction { get; private set; }

    public static TransactionLog Open(string directory, LogOptions options, TimeProvider time, ILogger logger,
        out Dictionary<string, TransactionMetadata> states)
    {
        var log = Log.Open(directory, options with { RetentionMs = -1, RetentionBytes = -1 }, time, logger);
        var partition = new Partition("__transaction_state", 0, log);
        states = new Dictionary<string, TransactionMetadata>(StringComparer.Ordinal);
        long records = 0;
        var found = states;
        log.ForEachBatch(log.LogStartOffset, batch =>
        {
            var reader = new RecordReader(batch);
            while (reader.TryRead(out var record))
            {
                records++;
                string id = ReadKey(record.Key);
                if (record.Value.IsEmpty) found.Remove(id);
                else found[id] = ReadValue(id, record.Value);
            }
        });
        var store = new TransactionLog(partition, time) { RecordsSinceCompaction = records };
        if (records > states.Count) store.Compact(states.Values);
        Loaded(logger, states.Count, records);
        return store;
    }

    /// <summary>Appends one transition (null: the id is forgotten) and completes once it is durable.</summary>
    public Task WriteAsync(string transactionalId, TransactionMetadata? state)
    {
        var builder = new RecordBatchBuilder();
        builder.Add(EncodeKey(transactionalId), state is null ? [] : EncodeValue(state), _time.GetUtcNow().ToUnixTimeMilliseconds());
        long lastOffset;
        lock (_appendLock)
        {
            var result = _partition.AppendRaw(builder.ToArray());
            if (!result.Succeeded) return Task.FromException(new IOException($"Appending to the transaction log failed: {result.Error}."));
            RecordsSinceCompaction++;
            lastOffset = result.LastOffset;
        }
        return _partition.WaitForCommitAsync(lastOffset);
    }

    /// <summary>
    /// Rewrites <paramref name="live"/> at the head of a fresh segment, then drops every older segment. The caller
    /// makes sure no id changes while it runs (at open), or rewrites each id under its own lock (see
    /// <see cref="BeginCompaction"/>).
    /// </summary>
    private void Compact(IEnumerable<TransactionMetadata> live)
    {
        long start = BeginCompaction();
        long count = 0;
        foreach (var state in live)
        {
            _ = WriteAsync(state.TransactionalId, state);
            count++;
        }
        EndCompaction(start, count);
    }

    /// <summary>Starts a compaction: a fresh segment, from whose start the caller writes every live state again.</summary>
    public long BeginCompaction()
    {
        lock (_appendLock)
        {
            _partition.Log.Roll();
            return _partition.Log.LogEndOffset;
        }
    }

    /// <summary>Once the rewritten states are on disk, every segment before <paramref name="start"/> goes.</summary>
    public void EndCompaction(long start, long live)
    {
        _partition.Log.Flush();
        _partition.DeleteRecords(start);
        RecordsSinceCompaction = live;
    }

    public ValueTask DisposeAsync() => _partition.Log.DisposeAsync();

    private static byte[] EncodeKey(string id)
    {
        var bytes = new byte[2 + 2 + Encoding.UTF8.GetByteCount(id)];
        BinaryPrimitives.WriteInt16BigEndian(bytes, RecordVersion);
        WriteString(bytes.AsSpan(2), id);
        return bytes;
    }

    private static string ReadKey(ReadOnlySpan<byte> key)
    {
        int p = 2;
        return ReadString(key, ref p);
    }

    private static byte[] EncodeValue(TransactionMetadata state)
    {
        int size = 2 + 8 + 2 + 2 + 4 + 1 + 8 + 8 + 4 + 4;
        foreach (var tp in state.Partitions) size += 2 + Encoding.UTF8.GetByteCount(tp.Topic) + 4;
        foreach (var group in state.Groups) size += 2 + Encoding.UTF8.GetByteCount(group);
        var bytes = new byte[size];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteInt16BigEndian(span, RecordVersion);
        BinaryPrimitives.WriteInt64BigEndian(span[2..], state.ProducerId);
        BinaryPrimitives.WriteInt16BigEndian(span[10..], state.ProducerEpoch);
        BinaryPrimitives.WriteInt16BigEndian(span[12..], state.LastProducerEpoch);
        BinaryPrimitives.WriteInt32BigEndian(span[14..], state.TimeoutMs);
        span[18] = (byte)state.State;
        BinaryPrimitives.WriteInt64BigEndian(span[19..], state.StartTimestampMs);
        BinaryPrimitives.WriteInt64BigEndian(span[27..], state.LastUpdateTimestampMs);
        int p = 35;
        BinaryPrimitives.WriteInt32BigEndian(span[p..], state.Partitions.Count);
        p += 4;
        foreach (var tp in state.Partitions)
        {
            p += WriteString(span[p..], tp.Topic);
            BinaryPrimitives.WriteInt32BigEndian(span[p..], tp.Partition);
            p += 4;
        }
        BinaryPrimitives.WriteInt32BigEndian(span[p..], state.Groups.Count);
        p += 4;
        foreach (var group in state.Groups) p += WriteString(span[p..], group);
        return bytes;
    }

    private static TransactionMetadata ReadValue(string id, ReadOnlySpan<byte> span)
    {
        long producerId = BinaryPrimitives.ReadInt64BigEndian(span[2..]);
        short epoch = BinaryPrimitives.ReadInt16BigEndian(span[10..]);
        short lastEpoch = BinaryPrimitives.ReadInt16BigEndian(span[12..]);
        int timeout = BinaryPrimitives.ReadInt32BigEndian(span[14..]);
        var state = (TransactionState)span[18];
        long start = BinaryPrimitives.ReadInt64BigEndian(span[19..]);
        long update = BinaryPrimitives.ReadInt64BigEndian(span[27..]);
        int p = 35;
        int partitionCount = BinaryPrimitives.ReadInt32BigEndian(span[p..]);
        p += 4;
        var partitions = new HashSet<TransactionPartition>();
        for (int i = 0; i < partitionCount; i++)
        {
            string topic = ReadString(span, ref p);
            partitions.Add(new TransactionPartition(topic, BinaryPrimitives.ReadInt32BigEndian(span[p..])));
            p += 4;
        }
        int groupCount = BinaryPrimitives.ReadInt32BigEndian(span[p..]);
        p += 4;
        var groups = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < groupCount; i++) groups.Add(ReadString(span, ref p));
        return new TransactionMetadata(id, producerId, epoch, lastEpoch, timeout, state, partitions, groups, start, update);
    }

    private static int WriteString(Span<byte> span, string value)
    {
        int length = Encoding.UTF8.GetBytes(value, span[2..]);
        BinaryPrimitives.WriteInt16BigEndian(span, checked((short)length));
        return 2 + length;
    }

    private static string ReadString(ReadOnlySpan<byte> span, ref int p)
    {
        short length = BinaryPrimitives.ReadInt16BigEndian(span[p..]);
        p += 2;
        string value = Encoding.UTF8.GetString(span.Slice(p, length));
        p += length;
        return value;
    }

    [LoggerMessage(EventId = 2401, Level = LogLevel.Information, Message = "Loaded {Transactions} transactional ids from {Records} records")]
    private static partial void Loaded(ILogger logger, int transactions, long records);
}
