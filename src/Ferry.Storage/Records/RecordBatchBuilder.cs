using System.Buffers;
using System.Buffers.Binary;

namespace Ferry.Storage.Records;

/// <summary>
/// Builds an uncompressed RecordBatch v2 from records: what AMQP publishes and tests write. Kafka producers
/// send batches ready-made and never come through here.
/// </summary>
/// <remarks>
/// A record: length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
/// keyLength varint | key | valueLength varint | value | headerCount varint | headers
/// (keyLength varint | key | valueLength varint | value).
/// </remarks>
public sealed class RecordBatchBuilder
{
    private readonly ArrayBufferWriter<byte> _records = new();
    private long _baseTimestamp = -1;
    private long _maxTimestamp = -1;
    private int _count;

    public long ProducerId { get; set; } = -1;
    public short ProducerEpoch { get; set; } = -1;
    public int BaseSequence { get; set; } = -1;

    /// <summary>The batch attributes (transactional, control); compression is never set: the builder writes records plain.</summary>
    public short Attributes { get; set; }

    public int Count => _count;

    public RecordBatchBuilder Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long timestamp,
        ReadOnlySpan<RecordHeader> headers = default, bool nullKey = false, bool nullValue = false)
    {
        if (_baseTimestamp < 0) _baseTimestamp = timestamp;
        _maxTimestamp = Math.Max(_maxTimestamp, timestamp);

        int bodyLength = 1 + Varint.SizeOfLong(timestamp - _baseTimestamp) + Varint.SizeOfInt(_count)
            + (nullKey ? Varint.SizeOfInt(-1) : Varint.SizeOfInt(key.Length) + key.Length)
            + (nullValue ? Varint.SizeOfInt(-1) : Varint.SizeOfInt(value.Length) + value.Length)
            + Varint.SizeOfInt(headers.Length);
        foreach (var header in headers)
        {
            bodyLength += Varint.SizeOfInt(header.Key.Length) + header.Key.Length
                + Varint.SizeOfInt(header.Value.Length) + header.Value.Length;
        }

        var span = _records.GetSpan(Varint.SizeOfInt(bodyLength) + bodyLength);
        int p = Varint.WriteInt(span, bodyLength);
        span[p++] = 0;
        p += Varint.WriteLong(span[p..], timestamp - _baseTimestamp);
        p += Varint.WriteInt(span[p..], _count);
        if (nullKey)
        {
            p += Varint.WriteInt(span[p..], -1);
        }
        else
        {
            p += Varint.WriteInt(span[p..], key.Length);
            key.CopyTo(span[p..]);
            p += key.Length;
        }
        if (nullValue)
        {
            p += Varint.WriteInt(span[p..], -1);
        }
        else
        {
            p += Varint.WriteInt(span[p..], value.Length);
            value.CopyTo(span[p..]);
            p += value.Length;
        }
        p += Varint.WriteInt(span[p..], headers.Length);
        foreach (var header in headers)
        {
            p += Varint.WriteInt(span[p..], header.Key.Length);
            header.Key.Span.CopyTo(span[p..]);
            p += header.Key.Length;
            p += Varint.WriteInt(span[p..], header.Value.Length);
            header.Value.Span.CopyTo(span[p..]);
            p += header.Value.Length;
        }
        _records.Advance(p);
        _count++;
        return this;
    }

    public int Size => RecordBatch.HeaderSize + _records.WrittenCount;

    /// <summary>Writes the batch (base offset 0, CRC set) into <paramref name="destination"/>.</summary>
    public int WriteTo(Span<byte> destination)
    {
        if (_count == 0) throw new InvalidOperationException("A batch holds at least one record.");
        var batch = destination[..Size];
        BinaryPrimitives.WriteInt64BigEndian(batch, 0);
        BinaryPrimitives.WriteInt32BigEndian(batch[RecordBatch.LengthOffset..], Size - RecordBatch.LogOverhead);
        BinaryPrimitives.WriteInt32BigEndian(batch[RecordBatch.PartitionLeaderEpochOffset..], 0);
        batch[RecordBatch.MagicOffset] = RecordBatch.CurrentMagic;
        BinaryPrimitives.WriteInt16BigEndian(batch[RecordBatch.AttributesOffset..], (short)(Attributes & ~RecordBatch.CompressionCodecMask));
        BinaryPrimitives.WriteInt32BigEndian(batch[RecordBatch.LastOffsetDeltaOffset..], _count - 1);
        BinaryPrimitives.WriteInt64BigEndian(batch[RecordBatch.BaseTimestampOffset..], _baseTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(batch[RecordBatch.MaxTimestampOffset..], _maxTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(batch[RecordBatch.ProducerIdOffset..], ProducerId);
        BinaryPrimitives.WriteInt16BigEndian(batch[RecordBatch.ProducerEpochOffset..], ProducerEpoch);
        BinaryPrimitives.WriteInt32BigEndian(batch[RecordBatch.BaseSequenceOffset..], BaseSequence);
        BinaryPrimitives.WriteInt32BigEndian(batch[RecordBatch.RecordCountOffset..], _count);
        _records.WrittenSpan.CopyTo(batch[RecordBatch.HeaderSize..]);
        RecordBatch.WriteCrc(batch);
        return batch.Length;
    }

    public byte[] ToArray()
    {
        var bytes = new byte[Size];
        WriteTo(bytes);
        return bytes;
    }

    public void Clear()
    {
        _records.ResetWrittenCount();
        _baseTimestamp = -1;
        _maxTimestamp = -1;
        _count = 0;
    }
}

public readonly record struct RecordHeader(ReadOnlyMemory<byte> Key, ReadOnlyMemory<byte> Value);
