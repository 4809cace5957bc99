using Ferry.Storage.Durability;
using Ferry.Storage.Records;

namespace Ferry.Storage.Tests;

/// <summary>
/// Crashes are simulated by abandoning a log without disposing it (no marker, no index files for the active
/// segment, as after SIGKILL) and then damaging its files as a torn write or bit rot would.
/// </summary>
public sealed class RecoveryTests
{
    private static string TailFile(string dir, long baseOffset = 0) => Path.Combine(dir, $"{baseOffset:D20}.log");

    private static async Task<long[]> WriteBatchesAndCrashAsync(string dir, int batches, LogOptions? options = null)
    {
        var log = Log.Open(dir, options);
        var ends = new long[batches];
        long position = 0;
        for (int i = 0; i < batches; i++)
        {
            var batch = Batches.Make(i, count: 2, valueSize: 64);
            log.Append(batch);
            position += batch.Length;
            ends[i] = position;
        }
        // The files stay as a killed process leaves them: flushed to the page cache, never closed cleanly.
        await Task.CompletedTask;
        return ends;
    }

    [Fact]
    public async Task CleanShutdown_ReopensWithoutScanning()
    {
        using var dir = new TempDirectory();
        await using (var log = Log.Open(dir.Path, new LogOptions { SegmentBytes = 2000 }))
        {
            for (int i = 0; i < 50; i++) log.Append(Batches.Make(i));
        }

        await using var reopened = Log.Open(dir.Path, new LogOptions { SegmentBytes = 2000 });

        Assert.True(reopened.Recovery.CleanShutdown);
        Assert.Equal(0, reopened.Recovery.ScannedSegments);
        Assert.Equal(0, reopened.Recovery.ScannedBatches);
        Assert.Equal(150, reopened.LogEndOffset);
        Assert.Equal(Enumerable.Range(0, 50), Batches.ReadToEnd(reopened).Select(Batches.BatchId));
        Assert.Equal(150, reopened.Append(Batches.Make(50)).BaseOffset);
    }

    [Fact]
    public async Task Crash_WithoutMarker_ScansTheTail_AndKeepsEverything()
    {
        using var dir = new TempDirectory();
        await WriteBatchesAndCrashAsync(dir.Path, 10);

        await using var log = Log.Open(dir.Path);

        Assert.False(log.Recovery.CleanShutdown);
        Assert.Equal(1, log.Recovery.ScannedSegments);
        Assert.Equal(10, log.Recovery.ScannedBatches);
        Assert.Equal(20, log.LogEndOffset);
        Assert.Equal(Enumerable.Range(0, 10), Batches.ReadToEnd(log).Select(Batches.BatchId));
    }

    [Fact]
    public async Task Crash_InTheMiddleOfABatch_RecoversToTheLastWholeBatch()
    {
        using var dir = new TempDirectory();
        var ends = await WriteBatchesAndCrashAsync(dir.Path, 10);
        // A torn write: the file ends halfway through batch 7.
        long cut = ends[6] + (ends[7] - ends[6]) / 2;
        using (var file = File.OpenHandle(TailFile(dir.Path), FileMode.Open, FileAccess.ReadWrite))
            RandomAccess.SetLength(file, cut);

        await using var log = Log.Open(dir.Path);

        Assert.Equal(14, log.LogEndOffset);
        Assert.Equal(cut - ends[6], log.Recovery.TruncatedBytes);
        Assert.Equal(ends[6], new FileInfo(TailFile(dir.Path)).Length);
        Assert.Equal(Enumerable.Range(0, 7), Batches.ReadToEnd(log).Select(Batches.BatchId));
        Assert.Equal(14, log.Append(Batches.Make(70)).BaseOffset);
    }

    [Fact]
    public async Task FlippedByteInTail_IsDetected_TruncatedAndNeverServed()
    {
        using var dir = new TempDirectory();
        var ends = await WriteBatchesAndCrashAsync(dir.Path, 10);
        using (var file = File.OpenHandle(TailFile(dir.Path), FileMode.Open, FileAccess.ReadWrite))
        {
            // Flip one bit in the value bytes of batch 8: its length still frames it, only the CRC tells.
            long where = ends[7] + RecordBatch.HeaderSize + 20;
            var one = new byte[1];
            RandomAccess.Read(file, one, where);
            one[0] ^= 0x10;
            RandomAccess.Write(file, one, where);
        }

        await using var log = Log.Open(dir.Path);

        Assert.Equal(16, log.LogEndOffset);
        Assert.Equal(LogReadStatus.OffsetOutOfRange, log.Read(17, 1 << 20).Status);
        var served = Batches.ReadToEnd(log);
        Assert.Equal(Enumerable.Range(0, 8), served.Select(Batches.BatchId));
    }

    [Fact]
    public async Task GarbageLengthPrefixInTail_IsTruncatedWithoutAHugeAllocation()
    {
        using var dir = new TempDirectory();
        var ends = await WriteBatchesAndCrashAsync(dir.Path, 3);
        using (var file = File.OpenHandle(TailFile(dir.Path), FileMode.Open, FileAccess.ReadWrite))
        {
            var garbage = new byte[12];
            System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(garbage, 6);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(garbage.AsSpan(8), int.MaxValue);
            RandomAccess.Write(file, garbage, ends[2]);
        }

        await using var log = Log.Open(dir.Path);

        Assert.Equal(6, log.LogEndOffset);
        Assert.Equal(ends[2], new FileInfo(TailFile(dir.Path)).Length);
    }

    [Fact]
    public async Task DeletedIndexOfASealedSegment_IsRebuilt()
    {
        using var dir = new TempDirectory();
        var options = new LogOptions { SegmentBytes = 1500, IndexIntervalBytes = 100 };
        await using (var log = Log.Open(dir.Path, options))
        {
            for (int i = 0; i < 40; i++) log.Append(Batches.Make(i));
        }
        File.Delete(Path.Combine(dir.Path, $"{0:D20}.index"));
        File.Delete(Path.Combine(dir.Path, $"{0:D20}.timeindex"));

        await using var reopened = Log.Open(dir.Path, options);

        Assert.Equal(1, reopened.Recovery.RebuiltIndexes);
        Assert.True(File.Exists(Path.Combine(dir.Path, $"{0:D20}.index")));
        Assert.Equal(Enumerable.Range(0, 40), Batches.ReadToEnd(reopened).Select(Batches.BatchId));
        Assert.Equal(3, RecordBatch.BaseOffset(Batches.ReadAll(reopened.Read(4, 1)).Single()));
    }

    [Fact]
    public async Task DamagedIndex_IsRebuilt_NotTrusted()
    {
        using var dir = new TempDirectory();
        var options = new LogOptions { SegmentBytes = 1500, IndexIntervalBytes = 100 };
        await using (var log = Log.Open(dir.Path, options))
        {
            for (int i = 0; i < 40; i++) log.Append(Batches.Make(i));
        }
        var index = Path.Combine(dir.Path, $"{0:D20}.index");
        var bytes = File.ReadAllBytes(index);
        bytes[13] ^= 0xFF; // a position in the middle now points somewhere else
        File.WriteAllBytes(index, bytes);

        await using var reopened = Log.Open(dir.Path, options);

        Assert.Equal(1, reopened.Recovery.RebuiltIndexes);
        Assert.Equal(Enumerable.Range(0, 40), Batches.ReadToEnd(reopened).Select(Batches.BatchId));
    }

    [Fact]
    public async Task Crash_AfterRolls_ScansOnlyTheTailSegment()
    {
        using var dir = new TempDirectory();
        var options = new LogOptions { SegmentBytes = 1500 };
        await WriteBatchesAndCrashAsync(dir.Path, 40, options);

        await using var log = Log.Open(dir.Path, options);

        Assert.True(log.SegmentCount > 3);
        Assert.Equal(1, log.Recovery.ScannedSegments);
        Assert.Equal(80, log.LogEndOffset);
        Assert.Equal(Enumerable.Range(0, 40), Batches.ReadToEnd(log).Select(Batches.BatchId));
    }

    [Fact]
    public async Task StaleMarker_WhoseSizeDisagrees_IsNotTrusted()
    {
        using var dir = new TempDirectory();
        await using (var log = Log.Open(dir.Path))
        {
            log.Append(Batches.Make(0));
        }
        var marker = Path.Combine(dir.Path, ".clean-shutdown");
        var saved = File.ReadAllText(marker);
        // Reopen, append more, crash, then put the old marker back as if its deletion had been lost.
        var crashed = Log.Open(dir.Path);
        crashed.Append(Batches.Make(1));
        File.WriteAllText(marker, saved);

        await using var reopened = Log.Open(dir.Path);

        Assert.False(reopened.Recovery.CleanShutdown && reopened.Recovery.ScannedSegments == 0);
        Assert.Equal([0, 1], Batches.ReadToEnd(reopened).Select(Batches.BatchId));
    }

    [Fact]
    public async Task Roll_SyncsTheSegmentBeforeItsSentinelIsWritten()
    {
        // The next unclean open trusts a sealed segment's sentinel without scanning: the data it covers must be on
        // disk first, or a power cut just after the roll leaves an unsynced tail unchecked. No fsync on durable writes
        // here (acks=1), so the roll's is the only one.
        using var dir = new TempDirectory();
        string firstIndex = Path.Combine(dir.Path, $"{0:D20}.index");
        var syncs = new List<(string Path, bool IndexExisted)>();
        StorageFaults.FailSync = path =>
        {
            if (path.StartsWith(dir.Path, StringComparison.Ordinal)) lock (syncs) syncs.Add((path, File.Exists(firstIndex)));
            return false;
        };
        try
        {
            await using var log = Log.Open(dir.Path, new LogOptions { SegmentBytes = 2000, FsyncOnDurableWrite = false });
            while (log.SegmentCount < 2) log.Append(Batches.Make(0));
            Assert.True(File.Exists(firstIndex));
        }
        finally
        {
            StorageFaults.FailSync = null;
        }
        lock (syncs)
        {
            var first = syncs.First(s => s.Path == TailFile(dir.Path));
            Assert.False(first.IndexExisted, "the sealed segment's index (with its sentinel) was written before its data was synced");
        }
    }
}
