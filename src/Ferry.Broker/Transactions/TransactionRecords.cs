using System.Buffers.Binary;
using System.Text;
using Ferry.Storage.Records;

namespace Ferry.Broker.Transactions;

/// <summary>
/// The records of <c>__transaction_state</c>: every transition of a transactional id is a record keyed by the id, the
/// last one of an id winning; an empty value is a tombstone (the id expired).
/// </summary>
/// <remarks>
/// Key: version int16 (0) | transactional id string16. Value: version int16 (0) | producer id int64 | epoch int16 |
/// last epoch int16 | timeout int32 | state int8 | start ms int64 | last update ms int64 | partition count int32,
/// each topic string16 + partition int32 | group count int32, each group string16.
/// </remarks>
internal static class TransactionRecords
{
    private const short RecordVersion = 0;

    /// <summary>Applies every record of <paramref name="batch"/> to <paramref name="states"/>; returns how many it held.</summary>
    public static long ReadBatch(ReadOnlySpan<byte> batch, Dictionary<string, TransactionMetadata> states)
    {
        long records = 0;
        var reader = new RecordReader(batch);
        while (reader.TryRead(out var record))
        {
            records++;
            string id = ReadKey(record.Key);
            if (record.Value.IsEmpty) states.Remove(id);
            else states[id] = ReadValue(id, record.Value);
        }
        return records;
    }

    /// <summary>One record: the id's new state, or its tombstone (null).</summary>
    public static byte[] Build(string transactionalId, TransactionMetadata? state, long timestamp)
    {
        var builder = new RecordBatchBuilder();
        builder.Add(EncodeKey(transactionalId), state is null ? [] : EncodeValue(state), timestamp);
        return builder.ToArray();
    }

    public static byte[] EncodeKey(string id)
    {
        var bytes = new byte[2 + 2 + Encoding.UTF8.GetByteCount(id)];
        BinaryPrimitives.WriteInt16BigEndian(bytes, RecordVersion);
        WriteString(bytes.AsSpan(2), id);
        return bytes;
    }

    public static string ReadKey(ReadOnlySpan<byte> key)
    {
        int p = 2;
        return ReadString(key, ref p);
    }

    public static byte[] EncodeValue(TransactionMetadata state)
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

    public static TransactionMetadata ReadValue(string id, ReadOnlySpan<byte> span)
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
}
