using System.Buffers.Binary;
using Ferry.Broker.Metadata;
using Ferry.Storage;
using Ferry.Storage.Durability;
using Ferry.Storage.Files;
using Ferry.Storage.Records;
using Microsoft.Extensions.Logging;

namespace Ferry.Broker.Queues;

/// <summary>
/// The disk side of a durable queue: a <see cref="Log"/> of its persistent messages plus a record of which
/// of them are settled.
/// </summary>
/// <remarks>
/// <para>Layout under the queue's directory:</para>
/// <code>
/// log/         the messages, one record per message, one batch per publish (offsets are contiguous):
///              key null | value body | headers "x-exchange", "x-routing-key", "x-properties" (raw flags+list)
///              | timestamp = enqueue time (Unix ms, for x-message-ttl after a restart)
/// acks         append-only: one int64 big-endian offset per settled message (ack, reject, expiry, drop, purge),
///              or per first delivery of a message with bit 62 set (<see cref="DeliveredBit"/>)
/// checkpoint   int64: every offset below it is settled, then the CRC-32C (uint32) of those 8 bytes (written
///              atomically with DurableFile; a damaged one is ignored: what it hid is redelivered, never lost)
/// </code>
/// <para>Durability: appends are fsync'd through the log's group commit before a publisher confirm. Acks
/// are written to the page cache (survives SIGKILL, not power loss) and fsync'd on clean close: an ack lost
/// to a power cut only means a redelivery, which AMQP's at-least-once allows.</para>
/// <para>Reclaiming: settled flags for [low, end) live in a ring. When the low-water mark passes the next
/// segment's base offset, the log start is advanced (whole segments deleted), the checkpoint written and
/// the ack file rewritten with the offsets at or above it. After a crash the log start may fall back to the
/// first remaining segment; the checkpoint hides what was settled below it.</para>
/// </remarks>
internal sealed partial class QueueStore : IQueueLog, IAsyncDisposable
{
    /// <summary>Marks an ack-file entry as "delivered, not yet settled" (offsets stay far below 2^62).</summary>
    private const long DeliveredBit = 1L << 62;

    private const byte Settled = 1;
    private const byte Delivered = 2;


    private readonly string _directory;
    private readonly Log _log;
    private readonly MessageRecords _writer = new();
    private CachedFile _acks;
    /// <summary>Where the next ack-file entry goes (the file is only appended to between rewrites).</summary>
    private long _acksLength;
    /// <summary>Per offset in [low, end), a ring: <see cref="Settled"/> and <see cref="Delivered"/> bits.</summary>
    private byte[] _flags = new byte[1024];
    private long _low;
    private long _nextSegmentBase = long.MaxValue;
    private int _segmentCount;

    private QueueStore(string directory, Log log, CachedFile acks, long acksLength, long low)
    {
        _directory = directory;
        _log = log;
        _acks = acks;
        _acksLength = acksLength;
        _low = low;
        RefreshSegments();
    }

    public long LogEndOffset => _log.LogEndOffset;

    public bool Replicated => false;

    public long SizeInBytes => _log.SizeInBytes;

    public int SegmentCount => _log.SegmentCount;

    /// <summary>Opens (or creates) the store and returns the unsettled messages in log order.</summary>
    public static QueueStore Open(string directory, LogOptions options, TimeProvider time, ILogger logger,
        IMessageContentCodec codec, MessagePool pool, List<RecoveredMessage> recovered)
    {
        FileSync.CreateDirectory(directory);
        var log = Log.Open(Path.Combine(directory, "log"), options, time, logger);
        long low = log.LogStartOffset;
        string checkpointPath = Path.Combine(directory, "checkpoint");
        byte[]? checkpoint = DurableFile.ReadAllBytes(checkpointPath);
        // 8 bytes: written before checkpoints had a checksum. Anything else unbelieved: a flipped bit that raised it
        // would hide unsettled messages; ignoring it only redelivers settled ones, as at-least-once allows.
        if (checkpoint is { Length: 8 } || checkpoint is { Length: 12 } && BinaryPrimitives.ReadUInt32BigEndian(checkpoint.AsSpan(8)) == Crc32C.Compute(checkpoint.AsSpan(0, 8)))
            low = Math.Max(low, BinaryPrimitives.ReadInt64BigEndian(checkpoint));
        else if (checkpoint is not null)
            DamagedCheckpoint(logger, checkpointPath);
        low = Math.Min(low, log.LogEndOffset);

        var settled = new HashSet<long>();
        var delivered = new HashSet<long>();
        string acksPath = Path.Combine(directory, "acks");
        if (File.Exists(acksPath))
        {
            byte[] bytes = File.ReadAllBytes(acksPath);
            // A torn last entry (crash mid-write) is ignored: that message is merely redelivered.
            for (int i = 0; i + 8 <= bytes.Length; i += 8)
            {
                long entry = BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(i));
                long offset = entry & ~DeliveredBit;
                if (offset < low) continue;
                if ((entry & DeliveredBit) != 0) delivered.Add(offset);
                else settled.Add(offset);
            }
        }

        delivered.ExceptWith(settled);
        ReadUnsettled(log, low, settled, delivered, codec, pool, recovered);

        // Compact the ack file to what is still above the low-water mark, then append from there.
        var compact = new byte[(settled.Count + delivered.Count) * 8];
        int p = 0;
        foreach (long offset in settled)
        {
            BinaryPrimitives.WriteInt64BigEndian(compact.AsSpan(p), offset);
            p += 8;
        }

        foreach (long offset in delivered)
        {
            BinaryPrimitives.WriteInt64BigEndian(compact.AsSpan(p), offset | DeliveredBit);
            p += 8;
        }

        DurableFile.WriteAllBytes(acksPath, compact);
        var acks = OpenAcks(acksPath);
        var store = new QueueStore(directory, log, acks, compact.Length, low);
        foreach (long offset in settled) store.Mark(offset, Settled);
        foreach (long offset in delivered) store.Mark(offset, Delivered);
        store.AdvanceLow();
        return store;
    }

    private static void ReadUnsettled(Log log, long low, HashSet<long> settled, HashSet<long> delivered, IMessageContentCodec codec,
        MessagePool pool, List<RecoveredMessage> recovered) =>
        log.ForEachBatch(low, batch =>
        {
            var reader = new RecordReader(batch);
            while (reader.TryRead(out var record))
            {
                if (record.Offset < low || settled.Contains(record.Offset)) continue;
                recovered.Add(new RecoveredMessage(MessageRecords.Decode(record, codec, pool), record.Offset, record.Timestamp, delivered.Contains(record.Offset)));
            }
        });

    /// <summary>Appends one message (caller holds the queue lock); returns its offset. Durable once
    /// <see cref="WaitForDurableAsync"/> of offset + 1 completes.</summary>
    public long Append(AmqpMessage message, long timestamp)
    {
        var result = _log.Append(_writer.Build(message, timestamp));
        if (!result.Succeeded) throw new IOException($"Queue log append failed: {result.Error}.");
        if (_log.SegmentCount != _segmentCount) RefreshSegments();
        return result.BaseOffset;
    }

    public Task WaitForDurableAsync(long endOffset) => _log.WaitForDurableAsync(endOffset);

    /// <summary>Records settled offsets (caller holds the queue lock) and reclaims whole segments.</summary>
    public void Settle(ReadOnlySpan<long> offsets)
    {
        if (offsets.IsEmpty) return;
        Record(offsets, 0, Settled);
        AdvanceLow();
    }

    /// <summary>Records first deliveries (caller holds the queue lock): page cache only, like acks. A crash
    /// loses at most the marks of the deliveries in flight; those come back not marked redelivered.</summary>
    public void MarkDelivered(ReadOnlySpan<long> offsets)
    {
        if (!offsets.IsEmpty) Record(offsets, DeliveredBit, Delivered);
    }

    /// <summary>A classic queue keeps no delivery count (RabbitMQ's classic queues do not either).</summary>
    public int Returned(long offset) => 0;

    private void Record(ReadOnlySpan<long> offsets, long entryBit, byte flag)
    {
        Span<byte> bytes = offsets.Length <= 64 ? stackalloc byte[offsets.Length * 8] : new byte[offsets.Length * 8];
        for (int i = 0; i < offsets.Length; i++)
        {
            BinaryPrimitives.WriteInt64BigEndian(bytes[(i * 8)..], offsets[i] | entryBit);
            Mark(offsets[i], flag);
        }

        using var acks = _acks.Use();
        RandomAccess.Write(acks.Handle, bytes, _acksLength);
        _acksLength += bytes.Length;
    }

    /// <summary>The ack file under the process's bound on open descriptors (10,000 queues must not hold 10,000 of them).</summary>
    private static CachedFile OpenAcks(string path) => FileHandleCache.Shared.Open(path, FileMode.Open, FileAccess.Write, FileShare.Read);

    private void Mark(long offset, byte flag)
    {
        if (offset < _low) return;
        long span = _log.LogEndOffset - _low;
        if (span > _flags.Length)
        {
            var bigger = new byte[Math.Max(_flags.Length * 2, (int)Math.Min(int.MaxValue, span * 2))];
            for (long o = _low; o < _low + _flags.Length; o++) bigger[o % bigger.Length] = _flags[o % _flags.Length];
            _flags = bigger;
        }

        _flags[offset % _flags.Length] |= flag;
    }

    private void AdvanceLow()
    {
        long end = _log.LogEndOffset;
        while (_low < end && (_flags[_low % _flags.Length] & Settled) != 0)
        {
            _flags[_low % _flags.Length] = 0;
            _low++;
        }

        if (_low >= _nextSegmentBase) Reclaim();
    }

    private void Reclaim()
    {
        _log.AdvanceLogStart(_low);
        byte[] checkpoint = new byte[12];
        BinaryPrimitives.WriteInt64BigEndian(checkpoint, _low);
        BinaryPrimitives.WriteUInt32BigEndian(checkpoint.AsSpan(8), Crc32C.Compute(checkpoint.AsSpan(0, 8)));
        DurableFile.WriteAllBytes(Path.Combine(_directory, "checkpoint"), checkpoint);
        RefreshSegments();

        // The ack file only needs the settled offsets above the new low-water mark: rewrite it so that it
        // does not grow without bound on a long-running queue.
        long end = _log.LogEndOffset;
        using var compact = new MemoryStream();
        Span<byte> entry = stackalloc byte[8];
        for (long o = _low; o < end && o - _low < _flags.Length; o++)
        {
            byte flags = _flags[o % _flags.Length];
            if (flags == 0) continue;
            BinaryPrimitives.WriteInt64BigEndian(entry, (flags & Settled) != 0 ? o : o | DeliveredBit);
            compact.Write(entry);
        }

        string acksPath = Path.Combine(_directory, "acks");
        _acks.Dispose();
        DurableFile.WriteAllBytes(acksPath, compact.GetBuffer().AsSpan(0, (int)compact.Length));
        _acks = OpenAcks(acksPath);
        _acksLength = compact.Length;
    }

    private void RefreshSegments()
    {
        var bases = _log.SegmentBaseOffsets;
        _segmentCount = bases.Count;
        _nextSegmentBase = bases.Count > 1 ? bases[1] : long.MaxValue;
    }

    public ValueTask DisposeAsync() => CloseAsync();

    public async ValueTask CloseAsync()
    {
        using (var acks = _acks.Use()) FileSync.DataSync(acks.Handle);
        _acks.Dispose();
        await _log.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DeleteAsync()
    {
        _acks.Dispose();
        await _log.DeleteAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover directory of a deleted queue is never opened again (ids are not reused).
        }
    }

    [LoggerMessage(EventId = 6009, Level = LogLevel.Warning, Message = "Queue checkpoint {Path} is damaged and is ignored: messages settled below it may be redelivered")]
    private static partial void DamagedCheckpoint(ILogger logger, string path);
}
