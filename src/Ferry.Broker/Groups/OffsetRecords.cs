using System.Buffers.Binary;
using System.Text;
using Ferry.Storage.Records;

namespace Ferry.Broker.Groups;

/// <summary>A committed offset as stored: what OffsetFetch returns and what expiry looks at.</summary>
public sealed record CommittedOffset(long Offset, int LeaderEpoch, string? Metadata, long CommitTimestamp);

/// <summary>Names one committed offset: group, topic, partition.</summary>
public readonly record struct OffsetKey(string Group, string Topic, int Partition);

/// <summary>
/// The records of <c>__consumer_offsets</c>, one per committed offset, keyed by (group, topic, partition); a
/// deletion is a record with an empty value (a tombstone), so the latest record of a key is its state.
/// </summary>
/// <remarks>
/// Key: version int16 (1) | group string16 | topic string16 | partition int32 — Kafka's OffsetCommitKey v1.
/// Value: version int16 (1) | offset int64 | leader epoch int32 | metadata string16 (-1: null) | commit timestamp
/// int64 — the fields of Kafka's OffsetCommitValue v3 under Ferry's own version number (1, the format Ferry has
/// always written, so logs of earlier releases read unchanged). Keys of other versions (Kafka's GroupMetadataKey is
/// version 2) are skipped when loading.
/// </remarks>
public static class OffsetRecords
{
    private const short OffsetKeyVersion = 1;
    private const short OffsetValueVersion = 1;

    public static byte[] EncodeKey(OffsetKey key)
    {
        int groupLength = Encoding.UTF8.GetByteCount(key.Group), topicLength = Encoding.UTF8.GetByteCount(key.Topic);
        var bytes = new byte[2 + 2 + groupLength + 2 + topicLength + 4];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteInt16BigEndian(span, OffsetKeyVersion);
        int p = 2;
        p += WriteString(span[p..], key.Group);
        p += WriteString(span[p..], key.Topic);
        BinaryPrimitives.WriteInt32BigEndian(span[p..], key.Partition);
        return bytes;
    }

    public static byte[] EncodeValue(CommittedOffset value)
    {
        int metadataLength = value.Metadata is null ? 0 : Encoding.UTF8.GetByteCount(value.Metadata);
        var bytes = new byte[2 + 8 + 4 + 2 + metadataLength + 8];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteInt16BigEndian(span, OffsetValueVersion);
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

    /// <summary>The offset key of a record, or false for a key of another kind (or too short to be one).</summary>
    public static bool TryReadKey(ReadOnlySpan<byte> span, out OffsetKey key)
    {
        key = default;
        if (span.Length < 2 || BinaryPrimitives.ReadInt16BigEndian(span) is not (0 or OffsetKeyVersion)) return false;
        int p = 2;
        string group = ReadString(span, ref p)!;
        string topic = ReadString(span, ref p)!;
        key = new OffsetKey(group, topic, BinaryPrimitives.ReadInt32BigEndian(span[p..]));
        return true;
    }

    public static CommittedOffset ReadValue(ReadOnlySpan<byte> span)
    {
        long offset = BinaryPrimitives.ReadInt64BigEndian(span[2..]);
        int epoch = BinaryPrimitives.ReadInt32BigEndian(span[10..]);
        int p = 14;
        string? metadata = ReadString(span, ref p);
        return new CommittedOffset(offset, epoch, metadata, BinaryPrimitives.ReadInt64BigEndian(span[p..]));
    }

    /// <summary>Applies one batch's offset records to <paramref name="offsets"/> (a tombstone removes); returns how many it held.</summary>
    public static long ReadBatch(ReadOnlySpan<byte> batch, Dictionary<OffsetKey, CommittedOffset> offsets)
    {
        long records = 0;
        var reader = new RecordReader(batch);
        while (reader.TryRead(out var record))
        {
            if (!TryReadKey(record.Key, out var key)) continue;
            records++;
            if (record.Value.IsEmpty) offsets.Remove(key);
            else offsets[key] = ReadValue(record.Value);
        }
        return records;
    }

    private static int WriteString(Span<byte> span, string value)
    {
        int length = Encoding.UTF8.GetBytes(value, span[2..]);
        BinaryPrimitives.WriteInt16BigEndian(span, checked((short)length));
        return 2 + length;
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
}
