using System.Buffers.Binary;
using System.Text;
using Ferry.Storage.Compaction;
using Ferry.Storage.Records;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ferry.Storage.Tests;

public sealed class CompactionTests
{
    private const long Now = 1_800_000_000_000;

    private static readonly LogOptions Compacted = new() { Compact = true, Delete = false, MinCleanableDirtyRatio = 0.01 };

    private static LogCleaner Cleaner(Log log, ManualTime time, long dedupeBytes = 1 << 20) =>
        new(new CleanerOptions { DedupeBufferBytes = dedupeBytes }, () => [log], time, NullLogger.Instance);

    private static byte[] Batch(long timestamp, params (string Key, string? Value)[] records)
    {
        var builder = new RecordBatchBuilder();
        foreach (var (key, value) in records)
            builder.Add(Encoding.UTF8.GetBytes(key), value is null ? default : Encoding.UTF8.GetBytes(value), timestamp, nullValue: value is null);
        return builder.ToArray();
    }

    /// <summary>Every record of the log in order: offset, key, value (null for a tombstone), decompressing as a consumer does.</summary>
    private static List<(long Offset, string Key, string? Value)> Records(Log log)
    {
        var all = new List<(long, string, string?)>();
        foreach (var stored in Batches.ReadToEnd(log))
        {
            if (RecordBatch.IsControl(stored)) continue;
            var batch = RecordBatchCompression.Decompress(stored);
            var reader = new RecordReader(batch);
            while (reader.TryRead(out var record))
                all.Add((record.Offset, Encoding.UTF8.GetString(record.Key), record.ValueIsNull ? null : Encoding.UTF8.GetString(record.Value)));
        }
        return all;
    }

    /// <summary>20 versions of each of 5 keys, one batch each, a segment every 10 batches.</summary>
    private static void WriteVersions(Log log, int versions = 20, int keys = 5, Func<byte[], byte[]>? transform = null)
    {
        int n = 0;
        for (int v = 0; v < versions; v++)
        {
            for (int k = 0; k < keys; k++)
            {
                log.Append(transform is null ? Batch(Now - 60_000, ($"key{k}", $"v{v}")) : transform(Batch(Now - 60_000, ($"key{k}", $"v{v}"))));
                if (++n % 10 == 0) log.Roll();
            }
        }
        log.Roll();
    }

    [Fact]
    public async Task Clean_ManyVersionsPerKey_KeepsTheLastOfEachWithItsOffset()
    {
        using var dir = new TempDirectory();
        var time = new ManualTime(Now);
        var log = Log.Open(dir.Path, Compacted, time);
        WriteVersions(log);
        long end = log.LogEndOffset;
        long sizeBefore = log.SizeInBytes;

        Assert.True(Cleaner(log, time).CleanOnce());

        var expected = Enumerable.Range(0, 5).Select(k => (Offset: 95L + k, Key: $"key{k}", Value: (string?)"v19")).ToList();
        Assert.Equal(expected, Records(log));
        Assert.Equal(end, log.LogEndOffset);
        Assert.True(log.SizeInBytes < sizeBefore / 10, $"{log.SizeInBytes} of {sizeBefore}");
        // A read from a compacted-away offset starts at the next record kept.
        var fromGap = Batches.ReadAll(log.Read(3, 1 << 20));
        Assert.Equal(95, RecordBatch.BaseOffset(fromGap[0]));

        // Reopened (indexes loaded from the cleaned files, then rebuilt from the data without them), the same.
        await log.DisposeAsync();
        log = Log.Open(dir.Path, Compacted, time);
        Assert.Equal(expected, Records(log));
        await log.DisposeAsync();
        foreach (var index in Directory.EnumerateFiles(dir.Path, "*.index")) File.Delete(index);
        File.Delete(Path.Combine(dir.Path, ".clean-shutdown"));
        log = Log.Open(dir.Path, Compacted, time);
        Assert.Equal(expected, Records(log));
        Assert.Equal(end, log.LogEndOffset);
        // Nothing dirty is left: another pass finds nothing to do until new records come.
        Assert.False(Cleaner(log, time).CleanOnce());
        await log.DisposeAsync();
    }

    [Theory]
    [InlineData(RecordBatchCompression.Gzip)]
    [InlineData(RecordBatchCompression.Snappy)]
    [InlineData(RecordBatchCompression.Lz4)]
    [InlineData(RecordBatchCompression.Zstd)]
    public async Task Clean_CompressedBatches_AreFilteredAndRecompressedWithTheirCodec(int codec)
    {
        using var dir = new TempDirectory();
        var time = new ManualTime(Now);
        await using var log = Log.Open(dir.Path, Compacted, time);
        for (int i = 0; i < 10; i++)
        {
            log.Append(RecordBatchCompression.Compress(Batch(Now - 60_000, ("a", $"a{i}"), ("b", $"b{i}"), ("c", i == 0 ? "c0" : null)), codec));
            log.Roll();
        }
        log.Append(RecordBatchCompression.Compress(Batch(Now - 60_000, ("a", "last")), codec));
        log.Roll();

        Assert.True(Cleaner(log, time).CleanOnce());

        // c's tombstone is younger than delete.retention.ms (a day): it stays, c0 does not.
        Assert.Equal([(28L, "b", "b9"), (29L, "c", null), (30L, "a", "last")], Records(log));
        Assert.All(Batches.ReadToEnd(log), b => Assert.Equal(codec, RecordBatch.CompressionCodec(b)));
    }

    [Fact]
    public async Task Clean_Tombstones_GoOnceOlderThanDeleteRetention()
    {
        using var dir = new TempDirectory();
        var time = new ManualTime(Now);
        await using var log = Log.Open(dir.Path, Compacted with { DeleteRetentionMs = 1_000 }, time);
        log.Append(Batch(Now, ("gone", "1"), ("kept", "1")));
        log.Roll();
        log.Append(Batch(Now, ("gone", null)));
        log.Roll();
        var cleaner = Cleaner(log, time);

        Assert.True(cleaner.CleanOnce());
        Assert.Equal([(1L, "kept", "1"), (2L, "gone", null)], Records(log));

        time.NowMs += 1_001;
        log.Append(Batch(time.NowMs, ("kept", "2")));
        log.Roll();
        Assert.True(cleaner.CleanOnce());
        Assert.Equal([(3L, "kept", "2")], Records(log));
    }

    [Fact]
    public async Task Clean_ActiveSegmentAndRecordsYoungerThanMinLag_AreLeftAlone()
    {
        using var dir = new TempDirectory();
        var time = new ManualTime(Now);
        await using var log = Log.Open(dir.Path, Compacted with { MinCompactionLagMs = 60_000 }, time);
        log.Append(Batch(Now - 120_000, ("k", "old")));
        log.Roll();
        log.Append(Batch(Now - 1_000, ("k", "young")));
        log.Roll();
        log.Append(Batch(Now, ("k", "active")));

        Assert.True(Cleaner(log, time).CleanOnce());
        // Only the first segment was cleanable, and no later version of k was mapped from it: nothing removed.
        Assert.Equal(["old", "young", "active"], Records(log).Select(r => r.Value));

        // The second segment is now old enough, the third (just rolled) not yet.
        time.NowMs += 59_500;
        log.Roll();
        Assert.True(Cleaner(log, time).CleanOnce());
        Assert.Equal(["young", "active"], Records(log).Select(r => r.Value));
    }

    [Fact]
    public async Task Clean_DirtyRatioBelowTheMinimum_DoesNotClean()
    {
        using var dir = new TempDirectory();
        var time = new ManualTime(Now);
        await using var log = Log.Open(dir.Path, Compacted with { MinCleanableDirtyRatio = 0.9 }, time);
        WriteVersions(log, versions: 4);
        var cleaner = Cleaner(log, time);
        Assert.True(cleaner.CleanOnce());
        log.Append(Batch(Now, ("key0", "new")));
        log.Roll();
        // One small dirty segment against the cleaned rest: under 0.9.
        Assert.False(cleaner.CleanOnce());
    }

    [Fact]
    public async Task Clean_Transactions_AbortedDataRemovedCommittedCompactedMarkersKept()
    {
        using var dir = new TempDirectory();
        var time = new ManualTime(Now);
        await using var log = Log.Open(dir.Path, Compacted, time);
        log.Append(Transactional(7, Batch(Now, ("k", "aborted"))));           // 0
        log.Append(Marker(7, commit: false));                                 // 1
        log.Append(Transactional(8, Batch(Now, ("k", "committed"), ("j", "1")))); // 2, 3
        log.Append(Marker(8, commit: true));                                  // 4
        log.Append(Batch(Now, ("j", "2")));                                   // 5
        log.Roll();
        log.Append(Transactional(9, Batch(Now, ("k", "open"))));              // 6: open transaction
        log.Roll();
        log.Append(Batch(Now, ("k", "after")));
        log.Roll();

        Assert.True(Cleaner(log, time).CleanOnce());

        var batches = Batches.ReadToEnd(log);
        // Aborted data gone (its producer's last batch kept empty for idempotence), both markers kept (their
        // transactions still had batches in this pass), the committed j superseded, the open transaction untouched.
        Assert.Equal([(2L, "k", "committed"), (5L, "j", "2"), (6L, "k", "open"), (7L, "k", "after")], Records(log));
        Assert.Equal(2, batches.Count(b => RecordBatch.IsControl(b)));
        var emptied = batches.Single(b => RecordBatch.BaseOffset(b) == 0);
        Assert.Equal(0, RecordBatch.RecordCount(emptied));
        Assert.Equal(BatchCheck.Valid, RecordBatch.Check(emptied, verifyCrc: true));
    }

    [Fact]
    public async Task Recovery_UncommittedCleanedFiles_AreDroppedAndTheOriginalKept()
    {
        using var original = new TempDirectory();
        using var cleaned = new TempDirectory();
        var time = new ManualTime(Now);
        var expected = await PrepareAsync(original.Path, cleaned.Path, time);
        File.Copy(Path.Combine(cleaned.Path, $"{0:D20}.log"), Path.Combine(original.Path, $"{0:D20}.log.cleaned"));
        File.Copy(Path.Combine(cleaned.Path, $"{0:D20}.index"), Path.Combine(original.Path, $"{0:D20}.index.cleaned"));

        await using var log = Log.Open(original.Path, Compacted, time);

        Assert.Equal(100, Records(log).Count);
        Assert.Empty(Directory.EnumerateFiles(original.Path, "*.cleaned"));
        Assert.NotEqual(expected, Records(log));
    }

    [Fact]
    public async Task Recovery_CommittedSwap_IsFinished()
    {
        using var original = new TempDirectory();
        using var cleaned = new TempDirectory();
        var time = new ManualTime(Now);
        var expected = await PrepareAsync(original.Path, cleaned.Path, time);
        foreach (var ext in new[] { ".log", ".index", ".timeindex" })
            File.Copy(Path.Combine(cleaned.Path, $"{0:D20}{ext}"), Path.Combine(original.Path, $"{0:D20}{ext}.cleaned"));
        // Crashed just after the commit point: the marker names the replaced segments, one already deleted.
        var bases = Directory.EnumerateFiles(original.Path, "*.log").Select(p => long.Parse(Path.GetFileNameWithoutExtension(p))).Order().ToList();
        var replaced = bases.Take(bases.Count - 1).ToList();
        File.WriteAllText(Path.Combine(original.Path, "cleaner-swap"), string.Join(' ', replaced));
        File.Delete(Path.Combine(original.Path, $"{replaced[1]:D20}.log"));

        await using var log = Log.Open(original.Path, Compacted, time);

        Assert.Equal(expected, Records(log));
        Assert.Empty(Directory.EnumerateFiles(original.Path, "*.cleaned"));
        Assert.False(File.Exists(Path.Combine(original.Path, "cleaner-swap")));
    }

    /// <summary>The same log written twice; the second cleaned into one segment. Returns the cleaned records.</summary>
    private static async Task<List<(long, string, string?)>> PrepareAsync(string original, string cleaned, ManualTime time)
    {
        var big = Compacted with { SegmentBytes = 1 << 30 };
        await using (var a = Log.Open(original, big, time)) WriteVersions(a);
        await using var b = Log.Open(cleaned, big, time);
        WriteVersions(b);
        Assert.True(Cleaner(b, time).CleanOnce());
        return Records(b);
    }

    private static byte[] Transactional(long producerId, byte[] batch)
    {
        BinaryPrimitives.WriteInt64BigEndian(batch.AsSpan(RecordBatch.ProducerIdOffset), producerId);
        BinaryPrimitives.WriteInt16BigEndian(batch.AsSpan(RecordBatch.ProducerEpochOffset), 0);
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(RecordBatch.BaseSequenceOffset), 0);
        short attributes = (short)(RecordBatch.Attributes(batch) | RecordBatch.TransactionalFlag);
        BinaryPrimitives.WriteInt16BigEndian(batch.AsSpan(RecordBatch.AttributesOffset), attributes);
        RecordBatch.WriteCrc(batch);
        return batch;
    }

    /// <summary>A control batch as a transaction coordinator writes it: key version 0 + type (0 abort, 1 commit).</summary>
    private static byte[] Marker(long producerId, bool commit)
    {
        var builder = new RecordBatchBuilder();
        builder.Add([0, 0, 0, commit ? (byte)1 : (byte)0], [0, 0, 0, 0, 0, 0], Now);
        var batch = Transactional(producerId, builder.ToArray());
        short attributes = (short)(RecordBatch.Attributes(batch) | RecordBatch.ControlFlag);
        BinaryPrimitives.WriteInt16BigEndian(batch.AsSpan(RecordBatch.AttributesOffset), attributes);
        RecordBatch.WriteCrc(batch);
        return batch;
    }
}

public sealed class ReplicatedGapTests
{
    [Fact]
    public async Task AppendReplicated_GapLeftByTheLeadersCleaner_IsAccepted_OverlapIsNot()
    {
        using var dir = new TempDirectory();
        await using var log = Log.Open(dir.Path);
        log.Append(Batches.Make(0, count: 2)); // offsets 0-1
        var leaderBatch = Batches.Make(1, count: 3);
        RecordBatch.SetBaseOffset(leaderBatch, 7); // the leader's 2-6 were compacted away

        Assert.True(log.AppendReplicated(leaderBatch).Succeeded);
        Assert.Equal(10, log.LogEndOffset);
        Assert.Equal(7, RecordBatch.BaseOffset(Batches.ReadAll(log.Read(2, 1 << 20))[0]));

        var overlapping = Batches.Make(2, count: 1);
        RecordBatch.SetBaseOffset(overlapping, 9);
        Assert.Equal(AppendError.NonContiguous, log.AppendReplicated(overlapping).Error);
    }
}
