namespace Ferry.Storage.Tests;

public sealed class RetentionTests
{
    [Fact]
    public async Task RetentionMs_DeletesOldSegmentsOnly_AndMovesLogStart()
    {
        using var dir = new TempDirectory();
        var time = new ManualTime(10_000_000);
        await using var log = Log.Open(dir.Path, new LogOptions { RetentionMs = 60_000 }, time);
        log.Append(Batches.Make(0, timestamp: 1_000_000));
        log.Roll();
        log.Append(Batches.Make(1, timestamp: 1_000_000));
        log.Roll();
        log.Append(Batches.Make(2, timestamp: 9_990_000)); // young
        log.Roll();
        log.Append(Batches.Make(3, timestamp: 1_000_000)); // old, but after a young one
        log.Roll();
        var firstSegmentFile = Path.Combine(dir.Path, $"{0:D20}.log");

        int deleted = log.ApplyRetention();

        Assert.Equal(2, deleted);
        Assert.Equal(6, log.LogStartOffset);
        Assert.False(File.Exists(firstSegmentFile));
        Assert.Equal(LogReadStatus.OffsetOutOfRange, log.Read(0, 100).Status);
        Assert.Equal([2, 3], Batches.ReadToEnd(log).Select(Batches.BatchId));
    }

    [Fact]
    public async Task RetentionBytes_DeletesOldestUntilUnderLimit_NeverTheActiveSegment()
    {
        using var dir = new TempDirectory();
        await using var log = Log.Open(dir.Path, new LogOptions { RetentionMs = -1 });
        int batchSize = Batches.Make(0).Length;
        for (int i = 0; i < 5; i++)
        {
            log.Append(Batches.Make(i));
            log.Roll();
        }
        log.Append(Batches.Make(5));
        log.UpdateOptions(log.Options with { RetentionBytes = batchSize * 2 });

        log.ApplyRetention();

        Assert.Equal([4, 5], Batches.ReadToEnd(log).Select(Batches.BatchId));
        Assert.Equal(12, log.LogStartOffset);
        Assert.Equal(2, log.SegmentCount);
    }

    [Fact]
    public async Task Retention_ReaderHoldingADeletedSegment_StillReadsItsBytes()
    {
        using var dir = new TempDirectory();
        var time = new ManualTime(10_000_000);
        await using var log = Log.Open(dir.Path, new LogOptions { RetentionMs = 1 }, time);
        log.Append(Batches.Make(7, timestamp: 1));
        log.Roll();
        log.Append(Batches.Make(8, timestamp: 10_000_000));

        var held = log.Read(0, 1 << 20);
        Assert.Equal(1, log.ApplyRetention());

        Assert.Equal(7, Batches.BatchId(Batches.ReadAll(held).Single()));
    }

    [Fact]
    public async Task AdvanceLogStart_HidesEarlierOffsets_AndDropsWholeSegments()
    {
        using var dir = new TempDirectory();
        await using var log = Log.Open(dir.Path);
        log.Append(Batches.Make(0));
        log.Roll();
        log.Append(Batches.Make(1));

        log.AdvanceLogStart(4);

        Assert.Equal(4, log.LogStartOffset);
        Assert.Equal(1, log.SegmentCount);
        Assert.Equal(LogReadStatus.OffsetOutOfRange, log.Read(3, 100).Status);
    }
}
