using System.Buffers;
using Ferry.Storage.Indexes;
using Ferry.Storage.Records;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Storage.Recovery;

/// <summary>What a scan of a segment file found.</summary>
public sealed record SegmentScan(
    SegmentIndex Index,
    long ValidSize,
    long FileSize,
    long NextOffset,
    long MaxTimestamp,
    int BatchCount,
    string? StopReason)
{
    public bool IsDamaged => ValidSize < FileSize;
}

/// <summary>
/// Reads a segment file from the start, checking every batch (length, magic, CRC-32C, offsets following on
/// from the previous batch), and rebuilds its sparse index on the way. The scan stops at the first batch
/// that is torn or corrupt: everything from there on is unsafe to serve.
/// </summary>
public static class SegmentScanner
{
    private const int ChunkSize = 1 << 20;

    public static SegmentScan Scan(string path, long baseOffset, int indexIntervalBytes, int maxBatchSize)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return Scan(file, baseOffset, indexIntervalBytes, maxBatchSize);
    }

    public static SegmentScan Scan(SafeFileHandle file, long baseOffset, int indexIntervalBytes, int maxBatchSize)
    {
        long fileSize = RandomAccess.GetLength(file);
        var index = new SegmentIndex();
        long position = 0, nextOffset = baseOffset, maxTimestamp = -1;
        int batches = 0, sinceIndexEntry = indexIntervalBytes;
        string? stopReason = null;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            int filled = 0, consumed = 0;
            long bufferStart = 0;
            while (position < fileSize)
            {
                var available = buffer.AsSpan(consumed, filled - consumed);
                var check = RecordBatch.Check(available, verifyCrc: true, maxBatchSize);
                if (check == BatchCheck.Incomplete)
                {
                    if (bufferStart + filled >= fileSize)
                    {
                        stopReason = "torn batch at end of file";
                        break;
                    }
                    // Slide what is left to the front and refill; grow when one batch is larger than the buffer.
                    int needed = available.Length >= RecordBatch.LogOverhead ? RecordBatch.TotalSize(available) : RecordBatch.LogOverhead;
                    if (needed > buffer.Length)
                    {
                        var grown = ArrayPool<byte>.Shared.Rent(needed);
                        available.CopyTo(grown);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = grown;
                    }
                    else
                    {
                        available.CopyTo(buffer);
                    }
                    bufferStart = position;
                    filled = available.Length;
                    consumed = 0;
                    int read = RandomAccess.Read(file, buffer.AsSpan(filled), bufferStart + filled);
                    if (read == 0)
                    {
                        stopReason = "torn batch at end of file";
                        break;
                    }
                    filled += read;
                    continue;
                }
                if (check != BatchCheck.Valid)
                {
                    stopReason = check == BatchCheck.TooLarge ? "batch length beyond the limit" : "corrupt batch (CRC or framing)";
                    break;
                }
                var batch = available[..RecordBatch.TotalSize(available)];
                long batchBase = RecordBatch.BaseOffset(batch);
                // Offsets only go forward; a gap is what compaction leaves (records cleaned away), an overlap is damage.
                if (batchBase < nextOffset)
                {
                    stopReason = $"batch base offset {batchBase} where at least {nextOffset} was expected";
                    break;
                }
                if (sinceIndexEntry >= indexIntervalBytes)
                {
                    index.Add(new IndexEntry((int)(batchBase - baseOffset), (int)position, maxTimestamp));
                    sinceIndexEntry = 0;
                }
                sinceIndexEntry += batch.Length;
                maxTimestamp = Math.Max(maxTimestamp, RecordBatch.MaxTimestamp(batch));
                nextOffset = batchBase + RecordBatch.LastOffsetDelta(batch) + 1;
                position += batch.Length;
                consumed += batch.Length;
                batches++;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return new SegmentScan(index, position, fileSize, nextOffset, maxTimestamp, batches, stopReason);
    }
}
