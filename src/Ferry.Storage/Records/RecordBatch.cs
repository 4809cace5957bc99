using System.Buffers.Binary;

namespace Ferry.Storage.Records;

/// <summary>
/// The Kafka RecordBatch v2 framing, Ferry's one on-disk unit for every log.
/// </summary>
/// <remarks>
/// <code>
///  0 BaseOffset int64 | 8 BatchLength int32 | 12 PartitionLeaderEpoch int32 | 16 Magic int8 (=2)
/// 17 CRC uint32 (CRC-32C of bytes 21..end) | 21 Attributes int16 | 23 LastOffsetDelta int32
/// 27 BaseTimestamp int64 | 35 MaxTimestamp int64 | 43 ProducerId int64 | 51 ProducerEpoch int16
/// 53 BaseSequence int32 | 57 RecordCount int32 | 61 Records...
/// </code>
/// BatchLength counts the bytes after itself, so a batch occupies 12 + BatchLength bytes.
/// https://kafka.apache.org/documentation/#recordbatch
/// </remarks>
public static class RecordBatch
{
    public const int BaseOffsetOffset = 0;
    public const int LengthOffset = 8;
    public const int PartitionLeaderEpochOffset = 12;
    public const int MagicOffset = 16;
    public const int CrcOffset = 17;
    public const int AttributesOffset = 21;
    public const int LastOffsetDeltaOffset = 23;
    public const int BaseTimestampOffset = 27;
    public const int MaxTimestampOffset = 35;
    public const int ProducerIdOffset = 43;
    public const int ProducerEpochOffset = 51;
    public const int BaseSequenceOffset = 53;
    public const int RecordCountOffset = 57;
    public const int HeaderSize = 61;

    /// <summary>BaseOffset and BatchLength: what must be read to learn where the next batch starts.</summary>
    public const int LogOverhead = 12;

    public const byte CurrentMagic = 2;

    public const short CompressionCodecMask = 0x07;
    public const short TimestampTypeFlag = 0x08;
    public const short TransactionalFlag = 0x10;
    public const short ControlFlag = 0x20;

    public static long BaseOffset(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt64BigEndian(batch);
    public static int BatchLength(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt32BigEndian(batch[LengthOffset..]);
    public static int TotalSize(ReadOnlySpan<byte> batch) => LogOverhead + BatchLength(batch);
    public static short Attributes(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt16BigEndian(batch[AttributesOffset..]);
    public static int LastOffsetDelta(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt32BigEndian(batch[LastOffsetDeltaOffset..]);
    public static long BaseTimestamp(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt64BigEndian(batch[BaseTimestampOffset..]);
    public static long MaxTimestamp(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt64BigEndian(batch[MaxTimestampOffset..]);
    public static long ProducerId(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt64BigEndian(batch[ProducerIdOffset..]);
    public static short ProducerEpoch(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt16BigEndian(batch[ProducerEpochOffset..]);
    public static int BaseSequence(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt32BigEndian(batch[BaseSequenceOffset..]);
    public static int RecordCount(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt32BigEndian(batch[RecordCountOffset..]);
    public static uint StoredCrc(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadUInt32BigEndian(batch[CrcOffset..]);
    public static bool IsTransactional(ReadOnlySpan<byte> batch) => (Attributes(batch) & TransactionalFlag) != 0;
    public static bool IsControl(ReadOnlySpan<byte> batch) => (Attributes(batch) & ControlFlag) != 0;
    public static int CompressionCodec(ReadOnlySpan<byte> batch) => Attributes(batch) & CompressionCodecMask;

    public static void SetBaseOffset(Span<byte> batch, long baseOffset) => BinaryPrimitives.WriteInt64BigEndian(batch, baseOffset);
    public static int PartitionLeaderEpoch(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt32BigEndian(batch[PartitionLeaderEpochOffset..]);

    public static void SetPartitionLeaderEpoch(Span<byte> batch, int epoch) =>
        BinaryPrimitives.WriteInt32BigEndian(batch[PartitionLeaderEpochOffset..], epoch);

    /// <summary>CRC-32C over attributes..end, as the v2 format defines it.</summary>
    public static uint ComputeCrc(ReadOnlySpan<byte> batch) => Crc32C.Compute(batch[AttributesOffset..]);

    public static void WriteCrc(Span<byte> batch) =>
        BinaryPrimitives.WriteUInt32BigEndian(batch[CrcOffset..], ComputeCrc(batch));

    /// <summary>
    /// Stamps LogAppendTime: the timestamp-type bit is set and MaxTimestamp carries the broker's time.
    /// Both are inside the CRC, so the CRC is recomputed.
    /// </summary>
    public static void SetLogAppendTime(Span<byte> batch, long timestamp)
    {
        short attributes = (short)(Attributes(batch) | TimestampTypeFlag);
        BinaryPrimitives.WriteInt16BigEndian(batch[AttributesOffset..], attributes);
        BinaryPrimitives.WriteInt64BigEndian(batch[MaxTimestampOffset..], timestamp);
        WriteCrc(batch);
    }

    /// <summary>
    /// Checks the framing of the batch at the start of <paramref name="buffer"/>: enough bytes for its
    /// header and its declared length, magic 2, sane counts, and (when asked) the CRC.
    /// </summary>
    public static BatchCheck Check(ReadOnlySpan<byte> buffer, bool verifyCrc, int maxBatchSize = int.MaxValue)
    {
        if (buffer.Length < LogOverhead) return BatchCheck.Incomplete;
        int length = BatchLength(buffer);
        if (length < HeaderSize - LogOverhead) return BatchCheck.Corrupt;
        if (length > maxBatchSize - LogOverhead) return BatchCheck.TooLarge;
        if (buffer.Length < LogOverhead + length) return BatchCheck.Incomplete;
        var batch = buffer[..(LogOverhead + length)];
        if (batch[MagicOffset] != CurrentMagic) return BatchCheck.Corrupt;
        if (LastOffsetDelta(batch) < 0 || RecordCount(batch) < 0) return BatchCheck.Corrupt;
        if (verifyCrc && StoredCrc(batch) != ComputeCrc(batch)) return BatchCheck.Corrupt;
        return BatchCheck.Valid;
    }
}

public enum BatchCheck
{
    Valid,
    Incomplete,
    Corrupt,
    TooLarge,
}
