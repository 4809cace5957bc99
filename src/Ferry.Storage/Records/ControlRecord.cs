using System.Buffers.Binary;

namespace Ferry.Storage.Records;

/// <summary>
/// Transaction markers as Kafka writes them (its <c>EndTransactionMarker</c>): a control batch (attributes
/// transactional | control) of the producer's id and epoch, no sequence, holding one record whose key is
/// version int16 (0) | type int16 (0 abort, 1 commit) and whose value is version int16 (0) | coordinator epoch int32.
/// </summary>
public static class ControlRecord
{
    public const short AbortType = 0;
    public const short CommitType = 1;
    private const int KeySize = 4;
    private const int ValueSize = 6;

    /// <summary>A whole marker batch (base offset 0: the log assigns it).</summary>
    public static byte[] BuildMarker(long producerId, short producerEpoch, bool commit, int coordinatorEpoch, long timestamp)
    {
        Span<byte> key = stackalloc byte[KeySize];
        BinaryPrimitives.WriteInt16BigEndian(key, 0);
        BinaryPrimitives.WriteInt16BigEndian(key[2..], commit ? CommitType : AbortType);
        Span<byte> value = stackalloc byte[ValueSize];
        BinaryPrimitives.WriteInt16BigEndian(value, 0);
        BinaryPrimitives.WriteInt32BigEndian(value[2..], coordinatorEpoch);
        var builder = new RecordBatchBuilder
        {
            ProducerId = producerId,
            ProducerEpoch = producerEpoch,
            BaseSequence = -1,
            Attributes = RecordBatch.TransactionalFlag | RecordBatch.ControlFlag,
        };
        builder.Add(key, value, timestamp);
        return builder.ToArray();
    }

    /// <summary>
    /// The marker type of a control batch: true for commit, false for abort; null when the batch holds no
    /// readable marker (a control type Ferry does not write, or a damaged record).
    /// </summary>
    public static bool? ReadMarker(ReadOnlySpan<byte> batch)
    {
        if (!RecordBatch.IsControl(batch) || RecordBatch.CompressionCodec(batch) != 0) return null;
        try
        {
            var reader = new RecordReader(batch);
            if (!reader.TryRead(out var record) || record.Key.Length < KeySize) return null;
            return BinaryPrimitives.ReadInt16BigEndian(record.Key[2..]) switch
            {
                CommitType => true,
                AbortType => false,
                _ => null,
            };
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>The coordinator epoch a marker batch carries (its value), or -1 when it has none readable.</summary>
    public static int ReadCoordinatorEpoch(ReadOnlySpan<byte> batch)
    {
        if (!RecordBatch.IsControl(batch) || RecordBatch.CompressionCodec(batch) != 0) return -1;
        try
        {
            var reader = new RecordReader(batch);
            if (!reader.TryRead(out var record) || record.Value.Length < ValueSize) return -1;
            return BinaryPrimitives.ReadInt32BigEndian(record.Value[2..]);
        }
        catch (InvalidDataException)
        {
            return -1;
        }
    }
}
