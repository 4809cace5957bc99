using Ferry.Storage.Records;

namespace Ferry.Storage.Tests;

public sealed class ConcurrencyTests
{
    [Fact]
    public async Task ReadersBesideAWriter_SeeOnlyWholeValidBatches_InOrder()
    {
        using var dir = new TempDirectory();
        await using var log = Log.Open(dir.Path, new LogOptions { SegmentBytes = 64 * 1024 });
        const int total = 3000;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var writer = Task.Run(() =>
        {
            for (int i = 0; i < total; i++) log.Append(Batches.Make(i, count: 1 + i % 5, valueSize: 10 + i % 200));
        });
        var readers = Enumerable.Range(0, 3).Select(_ => Task.Run(() =>
        {
            long offset = 0;
            int expected = 0;
            while (expected < total)
            {
                stop.Token.ThrowIfCancellationRequested();
                var result = log.Read(offset, 8192);
                Assert.Equal(LogReadStatus.Ok, result.Status);
                foreach (var batch in Batches.ReadAll(result)) // asserts framing and CRC of each
                {
                    Assert.Equal(expected, Batches.BatchId(batch));
                    Assert.Equal(offset, RecordBatch.BaseOffset(batch));
                    offset = RecordBatch.BaseOffset(batch) + RecordBatch.LastOffsetDelta(batch) + 1;
                    expected++;
                }
            }
        })).ToArray();

        await writer;
        await Task.WhenAll(readers);
        Assert.True(log.SegmentCount > 5);
    }

    [Fact]
    public async Task GroupCommit_ManyWritersShareFsyncs_AndAreAllDurable()
    {
        using var dir = new TempDirectory();
        await using var log = Log.Open(dir.Path);
        const int writers = 64, perWriter = 20;

        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < perWriter; i++)
            {
                var result = log.Append(Batches.Make(w * 1000 + i));
                await log.WaitForDurableAsync(result.LastOffset + 1);
                Assert.True(log.DurableOffset > result.LastOffset);
            }
        })));

        Assert.Equal(writers * perWriter * 3, log.DurableOffset);
        Assert.True(log.FsyncRounds < writers * perWriter / 2, $"{log.FsyncRounds} fsync rounds for {writers * perWriter} appends");
    }

    [Fact]
    public async Task WaitForDurable_WithFsyncOff_CompletesAtOnce()
    {
        using var dir = new TempDirectory();
        await using var log = Log.Open(dir.Path, new LogOptions { FsyncOnDurableWrite = false });
        var result = log.Append(Batches.Make(0));
        Assert.True(log.WaitForDurableAsync(result.LastOffset + 1).IsCompleted);
        Assert.Equal(0, log.FsyncRounds);
    }

    [Fact]
    public async Task Appended_FiresWithTheNewLogEnd()
    {
        using var dir = new TempDirectory();
        await using var log = Log.Open(dir.Path);
        var seen = new List<long>();
        log.Appended += seen.Add;
        log.Append(Batches.Make(0, count: 2));
        log.Append(Batches.Make(1, count: 3));
        Assert.Equal([2, 5], seen);
    }
}
