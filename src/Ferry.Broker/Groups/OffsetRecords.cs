using System.Buffers.Binary;
using System.Text;
using Ferry.Storage.Records;

namespace Ferry.Broker.Groups;

/// <summary>A committed offset as stored: what OffsetFetch returns and what expiry looks at.</summary>
public sealed record CommittedOffset(long Offset, int LeaderEpoch, string? Metadata, long CommitTimestamp);

/// <summary>Names one committed offset: group, topic, partition.</summary>
public readonly record struct OffsetKey(string Group, string Topic, int Partition);

/// <summary>Names the offsets a producer's open transaction has committed for a group (TxnOffsetCommit), not yet visible.</summary>
public readonly record struct PendingOffsetsKey(string Group, long ProducerId);

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
/// <para>Transactional offsets (Kafka writes them as transactional records made visible by the transaction's
/// marker): key version 3 = the offset key's fields then producer id int64, value as above, pending until a key
/// version 4 record (group string16 | producer id int64; value version int16 | commit int8, 1 commit, 0 abort)
/// applies or drops them. Versions 3 and 4 are Ferry's own: Kafka's keys stop at 2.</para>
/// </remarks>
public static class OffsetRecords
{
    private const short OffsetKeyVersion = 1;
    private const short OffsetValueVersion = 1;
    private const short PendingKeyVersion = 3;
    private const short MarkerKeyVersion = 4;

    /// <summary>The key of an offset inside <paramref name="producerId"/>'s open transaction.</summary>
    public static byte[] EncodePendingKey(OffsetKey key, long producerId)
    {
        var bytes = EncodeKey(key, extra: 8);
        BinaryPrimitives.WriteInt16BigEndian(bytes, PendingKeyVersion);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(bytes.Length - 8), producerId);
        return bytes;
    }

    /// <summary>The key of the end of a producer's transaction for a group.</summary>
    public static byte[] EncodeMarkerKey(PendingOffsetsKey key)
    {
        var bytes = new byte[2 + 2 + Encoding.UTF8.GetByteCount(key.Group) + 8];
        BinaryPrimitives.WriteInt16BigEndian(bytes, MarkerKeyVersion);
        int p = 2 + WriteString(bytes.AsSpan(2), key.Group);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(p), key.ProducerId);
        return bytes;
    }

    public static byte[] EncodeMarkerValue(bool commit) => [0, 0, commit ? (byte)1 : (byte)0];

    public static byte[] EncodeKey(OffsetKey key) => EncodeKey(key, extra: 0);

    private static byte[] EncodeKey(OffsetKey key, int extra)
    {
        int groupLength = Encoding.UTF8.GetByteCount(key.Group), topicLength = Encoding.UTF8.GetByteCount(key.Topic);
        var bytes = new byte[2 + 2 + groupLength + 2 + topicLength + 4 + extra];
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
    public static long ReadBatch(ReadOnlySpan<byte> batch, Dictionary<OffsetKey, CommittedOffset> offsets,
        Dictionary<PendingOffsetsKey, Dictionary<(string Topic, int Partition), CommittedOffset>> pending)
    {
        long records = 0;
        var reader = new RecordReader(batch);
        while (reader.TryRead(out var record))
        {
            var keySpan = record.Key;
            short version = keySpan.Length >= 2 ? BinaryPrimitives.ReadInt16BigEndian(keySpan) : (short)-1;
            if (version == PendingKeyVersion)
            {
                records++;
                int p = 2;
                string group = ReadString(keySpan, ref p)!;
                string topic = ReadString(keySpan, ref p)!;
                int partition = BinaryPrimitives.ReadInt32BigEndian(keySpan[p..]);
                var pendingKey = new PendingOffsetsKey(group, BinaryPrimitives.ReadInt64BigEndian(keySpan[(p + 4)..]));
                if (!pending.TryGetValue(pendingKey, out var values)) pending[pendingKey] = values = [];
                values[(topic, partition)] = ReadValue(record.Value);
                continue;
            }
            if (version == MarkerKeyVersion)
            {
                records++;
                int p = 2;
                string group = ReadString(keySpan, ref p)!;
                var pendingKey = new PendingOffsetsKey(group, BinaryPrimitives.ReadInt64BigEndian(keySpan[p..]));
                if (pending.Remove(pendingKey, out var values) && record.Value.Length >= 3 && record.Value[2] == 1)
                {
                    foreach (var (tp, value) in values) offsets[new OffsetKey(group, tp.Topic, tp.Partition)] = value;
                }
                continue;
            }
            if (!TryReadKey(keySpan, out var key)) continue;
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
