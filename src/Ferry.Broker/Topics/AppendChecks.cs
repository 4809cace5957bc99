using Ferry.Storage;
using Ferry.Storage.Records;

namespace Ferry.Broker.Topics;

/// <summary>
/// What a topic's configs ask of a producer's batches before they are appended, as Kafka's LogValidator does:
/// timestamps within message.timestamp.before/after.max.ms (CreateTime topics), a key on every record of a
/// compacted topic (KIP-467 per-record errors), and the topic's compression.type (the batch recompressed when its
/// codec differs; <c>producer</c> keeps it as sent).
/// </summary>
internal static class AppendChecks
{
    /// <summary>Checks every batch; the first failure with its per-record errors, or None.</summary>
    public static PartitionAppendError Validate(ReadOnlySpan<byte> batches, LogOptions options, long nowMs, string topic, int partition,
        out List<RecordError>? errors, out string? message)
    {
        errors = null;
        message = null;
        bool checkTime = !options.UseLogAppendTime && (options.TimestampAfterMaxMs < long.MaxValue || options.TimestampBeforeMaxMs < long.MaxValue);
        if (!checkTime && !options.Compact) return PartitionAppendError.None;
        for (var rest = batches; rest.Length >= RecordBatch.HeaderSize;)
        {
            int size = RecordBatch.TotalSize(rest);
            if (size < RecordBatch.HeaderSize || size > rest.Length) break; // the log's own checks refuse it
            var batch = rest[..size];
            rest = rest[size..];
            if (RecordBatch.IsControl(batch)) continue;
            if (checkTime)
            {
                // The batch header bounds its records: MaxTimestamp exactly, BaseTimestamp the first record's (clients write them in order).
                long first = RecordBatch.BaseTimestamp(batch), max = RecordBatch.MaxTimestamp(batch);
                bool late = first >= 0 && nowMs - first > options.TimestampBeforeMaxMs;
                bool early = max >= 0 && max - nowMs > options.TimestampAfterMaxMs;
                if (late || early)
                {
                    message = $"Timestamp {(late ? first : max)} of message is out of range. The timestamp should be within " +
                        $"[{SaturatingSubtract(nowMs, options.TimestampBeforeMaxMs)}, {SaturatingAdd(nowMs, options.TimestampAfterMaxMs)}]";
                    errors = [new RecordError(0, message)];
                    return PartitionAppendError.InvalidTimestamp;
                }
            }
            if (options.Compact)
            {
                byte[] opened;
                try
                {
                    opened = RecordBatchCompression.Decompress(batch, options.MaxBatchBytes * 4L > int.MaxValue ? int.MaxValue : options.MaxBatchBytes * 4);
                }
                catch (InvalidDataException)
                {
                    return PartitionAppendError.CorruptMessage;
                }
                var reader = new RecordReader(opened);
                int index = 0;
                try
                {
                    while (reader.TryRead(out var record))
                    {
                        if (record.KeyIsNull) (errors ??= []).Add(new RecordError(index, $"Compacted topic cannot accept message without key in topic partition {topic}-{partition}."));
                        index++;
                    }
                }
                catch (InvalidDataException)
                {
                    return PartitionAppendError.CorruptMessage;
                }
                if (errors is not null)
                {
                    message = "One or more records have been rejected";
                    return PartitionAppendError.InvalidRecord;
                }
            }
        }
        return PartitionAppendError.None;
    }

    /// <summary>
    /// The batches stored with <see cref="LogOptions.CompressionCodec"/> when the topic has one and a batch is not
    /// in it already; null when every batch stays as sent.
    /// </summary>
    public static byte[]? Recompress(ReadOnlySpan<byte> batches, LogOptions options)
    {
        int target = options.CompressionCodec;
        if (target < 0) return null;
        bool differs = false;
        for (var rest = batches; rest.Length >= RecordBatch.HeaderSize && !differs;)
        {
            int size = RecordBatch.TotalSize(rest);
            if (size < RecordBatch.HeaderSize || size > rest.Length) return null;
            differs = !RecordBatch.IsControl(rest) && RecordBatch.CompressionCodec(rest) != target;
            rest = rest[size..];
        }
        if (!differs) return null;
        var output = new MemoryStream(batches.Length);
        for (var rest = batches; rest.Length >= RecordBatch.HeaderSize;)
        {
            int size = RecordBatch.TotalSize(rest);
            var batch = rest[..size];
            rest = rest[size..];
            if (RecordBatch.IsControl(batch) || RecordBatch.CompressionCodec(batch) == target) output.Write(batch);
            else output.Write(RecordBatchCompression.Compress(RecordBatchCompression.Decompress(batch), target));
        }
        return output.ToArray();
    }

    private static long SaturatingSubtract(long a, long b) => b > a - long.MinValue ? long.MinValue : a - b;

    private static long SaturatingAdd(long a, long b) => b > long.MaxValue - a ? long.MaxValue : a + b;
}

/// <summary>A record refused inside a batch (KIP-467): its index in the batch and why.</summary>
public readonly record struct RecordError(int BatchIndex, string Message);
