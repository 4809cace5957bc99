using System.Buffers.Binary;
using Ferry.Storage.Records;
using Ferry.Storage.Segments;

namespace Ferry.Storage.Compaction;

/// <summary>
/// What a cleaning pass must know of transactions and producers before it removes anything, from one forward scan
/// of the range it cleans (Ferry keeps no transaction index: the control batches are the truth): which batches
/// belong to aborted transactions, which markers may go, and each producer's last batch.
/// </summary>
/// <remarks>
/// A transaction runs from a producer's first transactional batch to its control batch (KIP-98). One still open at
/// the end of the range makes everything from its first batch on uncleanable: the range is cut back to the segment
/// holding that batch, and the scan repeated over the shorter range (a transaction that ended past the new end is
/// open there too).
/// </remarks>
internal sealed class TransactionScan
{
    private const short AbortMarker = 0;

    private readonly Dictionary<long, List<(long First, long Marker)>> _aborted = [];
    private readonly HashSet<long> _removableMarkers = [];
    private readonly Dictionary<long, long> _lastBatch = [];

    /// <summary>
    /// Scans batch headers only (and the first record key of control batches): a pass reads each segment's data
    /// once more in full, to clean it, not twice.
    /// </summary>
    public static TransactionScan Run(LogSegment[] segments, ref int end, long deleteHorizonMs)
    {
        while (true)
        {
            var scan = new TransactionScan();
            var open = new Dictionary<long, long>();
            for (int i = 0; i < end; i++) ForEachHeader(segments[i], header => scan.Observe(header, open, deleteHorizonMs));
            if (open.Count > 0)
            {
                long firstUnstable = open.Values.Min();
                int holder = end - 1;
                while (holder > 0 && segments[holder].BaseOffset > firstUnstable) holder--;
                if (holder < end)
                {
                    end = holder;
                    continue;
                }
            }
            // A producer that wrote again past the range has its last batch there: nothing to keep for it here.
            for (int i = end; i < segments.Length; i++) ForEachHeader(segments[i], header => scan._lastBatch.Remove(RecordBatch.ProducerId(header)));
            return scan;
        }
    }

    private void Observe(ReadOnlySpan<byte> batch, Dictionary<long, long> open, long deleteHorizonMs)
    {
        long producerId = RecordBatch.ProducerId(batch);
        long baseOffset = RecordBatch.BaseOffset(batch);
        if (RecordBatch.IsControl(batch))
        {
            bool hadData = open.Remove(producerId, out long first);
            if (hadData && ControlType(batch) == AbortMarker)
            {
                if (!_aborted.TryGetValue(producerId, out var ranges)) _aborted[producerId] = ranges = [];
                ranges.Add((first, baseOffset));
            }
            // No batch of its transaction is left to interpret: the marker goes once delete.retention.ms old.
            if (!hadData && RecordBatch.MaxTimestamp(batch) < deleteHorizonMs) _removableMarkers.Add(baseOffset);
            return;
        }
        if (producerId >= 0) _lastBatch[producerId] = baseOffset;
        if (RecordBatch.IsTransactional(batch)) open.TryAdd(producerId, baseOffset);
    }

    /// <summary>
    /// The marker type in a control batch's first record key (version int16, type int16), read from the bytes after
    /// the header: length varint | attributes int8 | timestamp delta varlong | offset delta varint | key length varint | key.
    /// -1 if unreadable.
    /// </summary>
    private static short ControlType(ReadOnlySpan<byte> batch)
    {
        if (RecordBatch.CompressionCodec(batch) != RecordBatchCompression.None || RecordBatch.RecordCount(batch) == 0) return -1;
        var rest = batch[RecordBatch.HeaderSize..];
        if (!Varint.TryReadInt(rest, out _, out int read)) return -1;
        rest = rest[read..];
        if (rest.IsEmpty) return -1;
        rest = rest[1..];
        if (!Varint.TryReadLong(rest, out _, out read)) return -1;
        rest = rest[read..];
        if (!Varint.TryReadInt(rest, out _, out read)) return -1;
        rest = rest[read..];
        if (!Varint.TryReadInt(rest, out int keyLength, out read) || keyLength < 4) return -1;
        rest = rest[read..];
        return rest.Length >= 4 ? BinaryPrimitives.ReadInt16BigEndian(rest[2..]) : (short)-1;
    }

    public bool IsAborted(ReadOnlySpan<byte> batch)
    {
        if (!RecordBatch.IsTransactional(batch) || RecordBatch.IsControl(batch)) return false;
        if (!_aborted.TryGetValue(RecordBatch.ProducerId(batch), out var ranges)) return false;
        long offset = RecordBatch.BaseOffset(batch);
        foreach (var (first, marker) in ranges)
        {
            if (offset >= first && offset < marker) return true;
        }
        return false;
    }

    public bool IsRemovableMarker(ReadOnlySpan<byte> batch) => _removableMarkers.Contains(RecordBatch.BaseOffset(batch));

    public bool IsLastBatchOfProducer(ReadOnlySpan<byte> batch) =>
        RecordBatch.ProducerId(batch) is var producerId and >= 0
        && _lastBatch.TryGetValue(producerId, out long last) && last == RecordBatch.BaseOffset(batch);

    private static void ForEachHeader(LogSegment segment, BatchAction action)
    {
        if (!segment.TryAcquire()) return;
        try
        {
            // The header and, for a control batch, its one small record.
            Span<byte> buffer = stackalloc byte[RecordBatch.HeaderSize + 64];
            long size = segment.Size;
            for (long position = 0; position + RecordBatch.HeaderSize <= size;)
            {
                int read = segment.Read(buffer[..(int)Math.Min(buffer.Length, size - position)], position);
                var header = buffer[..read];
                int total = RecordBatch.TotalSize(header);
                if (total < RecordBatch.HeaderSize) return;
                action(header[..Math.Min(read, total)]);
                position += total;
            }
        }
        finally
        {
            segment.Release();
        }
    }
}
