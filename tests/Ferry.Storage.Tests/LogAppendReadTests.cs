using Ferry.Storage.Records;

namespace Ferry.Storage.Tests;

public sealed class LogAppendReadTests
{
    [Fact]
    public async Task Append_AssignsContiguousOffsets_AndReadReturnsTheBatches()
    {
        using var dir = new TempDirectory();
        await using var log = Log.Open(dir.Path);

        var first = log.Append(Batches.Make(0, count: 3));
        var second = log.Append(Batches.Make(1, count: 2));

        Assert.Equal((0, 2), (first.BaseOffset, first.LastOffset));
        Assert.Equal((3, 4), (second.BaseOffset, second.LastOffset));
        Assert.Equal(5, log.LogEndOffset);
        var batches = Batches.ReadAll(log.Read(0, 1 << 20));
        Assert.Equal([0, 1], batches.Select(Batches.BatchId));
        Assert.Equal(3, RecordBatch.BaseOffset(batches[1]));
    }

    [Fact]
    public async Task Append_SeveralBatchesInOneCall_AreWrittenTogether()
    {
        using var dir = new TempDirectory();
        await using var log = Log.Open(dir.Path);
        byte[] both = [.. Batches.Make(0, count: 2), .. Batches.Make(1, count: 4)];

        var result = log.Append(both);

        Assert.Equal((0, 5, 2), (result.BaseOffset, result.LastOffset, result.BatchCount));
        var batches = Batches.ReadAll(log.Read(0, 1 << 20));
        Assert.Equal(2, RecordBatch.BaseOffset(batches[1]));
    }

    [Fact]
    public async Task Read_OffsetInsideABatch_ReturnsTheWholeBatchHoldingIt()
    {
        using var dir = new TempDirectory();
        await using var log = Log.Open(dir.Path);
        log.Append(Batches.Make(0, count: 5));
        log.Append(Batches.Make(1, count: 5));

        var batches = Batches.ReadAll(log.Read(7, 1 << 20));

        Assert.Single(batches);
        Assert.Equal(5, RecordBatch.BaseOffset(batches[0]));
    }

    [Fact]
    public async Task Read_ByteLimit_ReturnsOnlyWholeBatches_ButAlwaysTheFirst()
    {
        using var dir = new TempDirectory();
        await using var log = Log.Open(dir.Path);
        var batch = Batches.Make(0, count: 4, valueSize: 100);
        for (int i = 0; i < 10; i++) log.Append(Batches.Make(i, count: 4, valueSize: 100));

        var limited = Batches.ReadAll(log.Read(0, batch.Length * 3 + 10));
        var tiny = Batches.ReadAll(log.Read(0, 1));

        Assert.Equal(3, limited.Count);
        Assert.Single(tiny);
    }

    [Fact]
    public async Task Read_AtLogEnd_IsEmpty_AndBeyondOrBelow_IsOutOfRange()
    {
        using var dir = new TempDirectory();
        await using var log = Log.Open(dir.Path);
        log.Append(Batches.Make(0, count: 3));

        var atEnd = log.Read(3, 1000);
        Assert.Equal(LogReadStatus.Ok, atEnd.Status);
        Assert.True(atEnd.Slice.IsEmpty);
        Assert.Equal(LogReadStatus.OffsetOutOfRange, log.Read(4, 1000).Status);
        Assert.Equal(LogReadStatus.OffsetOutOfRange, log.Read(-1, 1000).Status);
    }

    [Fact]
    public async Task Append_CorruptBatchAmongValidOnes_WritesNothing()
    {
        using var dir = new TempDirectory();
        await using var log = Log.Open(dir.Path);
        var bad = Batches.Make(1);
        bad[^2] ^= 1;

        var result = log.Append([.. Batches.Make(0), .. bad]);

        Assert.Equal(AppendError.CorruptBatch, result.Error);
        Assert.Equal(0, log.LogEndOffset);
        Assert.Equal(0, log.SizeInBytes);
    }

    [Fact]
    public async Task Append_BatchAboveLimit_IsTooLarge_AndTrailingGarbageIsInvalid()
    {
        using var dir = new TempDirectory();
        await using var log = Log.Open(dir.Path, new LogOptions { MaxBatchBytes = 200 });

        Assert.Equal(AppendError.BatchTooLarge, log.Append(Batches.Make(0, count: 10, valueSize: 100)).Error);
        Assert.Equal(AppendError.InvalidInput, log.Append([.. Batches.Make(0, count: 1), 1, 2, 3]).Error);
        Assert.Equal(0, log.LogEndOffset);
    }

    [Fact]
    public async Task LogAppendTime_StampsTheBatch_AndKeepsItsCrcValid()
    {
        using var dir = new TempDirectory();
        var time = new ManualTime(1_800_000_000_000);
        await using var log = Log.Open(dir.Path, new LogOptions { UseLogAppendTime = true }, time);

        var result = log.Append(Batches.Make(0));

        Assert.Equal(time.NowMs, result.LogAppendTime);
        var batch = Batches.ReadAll(log.Read(0, 1 << 20)).Single();
        Assert.Equal(time.NowMs, RecordBatch.MaxTimestamp(batch));
        Assert.NotEqual(0, RecordBatch.Attributes(batch) & RecordBatch.TimestampTypeFlag);
    }

    [Fact]
    public async Task FindOffsetByTimestamp_ReturnsFirstBatchAtOrAfter()
    {
        using var dir = new TempDirectory();
        await using var log = Log.Open(dir.Path, new LogOptions { IndexIntervalBytes = 1, SegmentBytes = 2000 });
        for (int i = 0; i < 20; i++) log.Append(Batches.Make(i, count: 2, timestamp: 1000 + i * 100));

        Assert.True(log.SegmentCount > 1);
        Assert.Equal(0, log.FindOffsetByTimestamp(0));
        Assert.Equal(10, log.FindOffsetByTimestamp(1500));  // batch 5 holds 1500 and 1501
        Assert.Equal(12, log.FindOffsetByTimestamp(1502));  // batch 6 starts at 1600
        Assert.Equal(38, log.FindOffsetByTimestamp(2901));
        Assert.Null(log.FindOffsetByTimestamp(5000));
    }

    [Fact]
    public async Task Roll_BySize_SpreadsBatchesOverSegments_AndReadsCrossThem()
    {
        using var dir = new TempDirectory();
        await using var log = Log.Open(dir.Path, new LogOptions { SegmentBytes = 1000 });
        for (int i = 0; i < 30; i++) log.Append(Batches.Make(i, count: 3, valueSize: 50));

        Assert.True(log.SegmentCount >= 5);
        Assert.Equal(Enumerable.Range(0, 30), Batches.ReadToEnd(log).Select(Batches.BatchId));
        Assert.All(log.SegmentBaseOffsets, b => Assert.True(File.Exists(Path.Combine(dir.Path, $"{b:D20}.log"))));
    }

    [Fact]
    public async Task Roll_ByAge_StartsANewSegment()
    {
        using var dir = new TempDirectory();
        var time = new ManualTime(1_000_000);
        await using var log = Log.Open(dir.Path, new LogOptions { SegmentMs = 60_000 }, time);
        log.Append(Batches.Make(0));
        time.NowMs += 30_000;
        log.Append(Batches.Make(1));
        Assert.Equal(1, log.SegmentCount);

        time.NowMs += 31_000;
        log.Append(Batches.Make(2));

        Assert.Equal([0, 6], log.SegmentBaseOffsets);
    }

    [Fact]
    public async Task TruncateTo_RemovesTheBatchHoldingTheOffsetAndAllAfter()
    {
        using var dir = new TempDirectory();
        await using var log = Log.Open(dir.Path, new LogOptions { SegmentBytes = 1000 });
        for (int i = 0; i < 20; i++) log.Append(Batches.Make(i, count: 3, valueSize: 50));

        log.TruncateTo(31); // inside batch 10 (offsets 30..32)

        Assert.Equal(30, log.LogEndOffset);
        Assert.Equal(Enumerable.Range(0, 10), Batches.ReadToEnd(log).Select(Batches.BatchId));
        var next = log.Append(Batches.Make(99));
        Assert.Equal(30, next.BaseOffset);
        Assert.Equal(99, Batches.BatchId(Batches.ReadAll(log.Read(30, 1 << 20)).Single()));
    }

    [Fact]
    public async Task TruncateTo_BelowLogStart_EmptiesAndRestartsThere()
    {
        using var dir = new TempDirectory();
        await using var log = Log.Open(dir.Path);
        log.Append(Batches.Make(0));
        log.TruncateTo(0);
        Assert.Equal(0, log.LogEndOffset);
        Assert.Equal(0, log.SizeInBytes);
        Assert.Equal(0, log.Append(Batches.Make(1)).BaseOffset);
    }

    [Fact]
    public async Task ForEachBatch_VisitsEveryBatchFromTheOneHoldingTheOffset_AcrossSegments()
    {
        using var dir = new TempDirectory();
        await using var log = Log.Open(dir.Path, new LogOptions { SegmentBytes = 1000 });
        for (int i = 0; i < 30; i++) log.Append(Batches.Make(i, count: 3, valueSize: 50));
        var seen = new List<int>();

        log.ForEachBatch(31, batch => seen.Add(Batches.BatchId(batch.ToArray())));

        Assert.True(log.SegmentCount > 3);
        Assert.Equal(Enumerable.Range(10, 20), seen);
    }
}
