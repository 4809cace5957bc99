using Ferry.Storage.Files;

namespace Ferry.Storage.Tests;

/// <summary>
/// Many logs under a small bound on open descriptors: idle segment files are closed and reopened on use, with
/// nothing a reader or writer can see changed, and never under an operation or a reader of a deleted segment.
/// </summary>
public sealed class FileHandleCacheTests
{
    [Fact]
    public async Task FortyLogs_UnderABoundOfEight_AppendReadAndFlushAsIfAllWereOpen()
    {
        using var dir = new TempDirectory();
        var files = new FileHandleCache(8);
        var options = new LogOptions { Files = files, RetentionMs = -1 };
        var logs = new List<Log>();
        try
        {
            for (int i = 0; i < 40; i++) logs.Add(Log.Open(Path.Combine(dir.Path, $"log-{i}"), options));
            for (int round = 0; round < 3; round++)
            {
                for (int i = 0; i < logs.Count; i++)
                {
                    logs[i].Append(Batches.Make(i * 10 + round));
                    logs[i].Flush();
                    if (round < 2) logs[i].Roll();
                    Assert.True(files.OpenCount <= 8, $"{files.OpenCount} descriptors open under a bound of 8");
                }
            }

            for (int i = 0; i < logs.Count; i++)
                Assert.Equal([i * 10, i * 10 + 1, i * 10 + 2], Batches.ReadToEnd(logs[i]).Select(Batches.BatchId));
            Assert.True(files.Evictions > 100, $"only {files.Evictions} evictions: the bound was not exercised");
            Assert.True(files.OpenCount <= 8);
        }
        finally
        {
            foreach (var log in logs) await log.DisposeAsync();
        }
        Assert.Equal(0, files.OpenCount);

        // Reopened from disk they hold the same data.
        foreach (int i in new[] { 0, 17, 39 })
        {
            await using var log = Log.Open(Path.Combine(dir.Path, $"log-{i}"), options);
            Assert.Equal([i * 10, i * 10 + 1, i * 10 + 2], Batches.ReadToEnd(log).Select(Batches.BatchId));
        }
    }

    [Fact]
    public async Task ASegmentDeletedByRetention_StaysReadableToTheReaderHoldingIt_EvenAfterItsDescriptorWasClosed()
    {
        using var dir = new TempDirectory();
        var files = new FileHandleCache(1);
        var time = new ManualTime(10_000_000);
        await using var log = Log.Open(Path.Combine(dir.Path, "old"), new LogOptions { Files = files, RetentionMs = 60_000 }, time);
        log.Append(Batches.Make(1, timestamp: 1_000_000));
        log.Roll();
        log.Append(Batches.Make(2, timestamp: 9_990_000));

        var held = log.Read(0, 1 << 20); // a fetch in flight on the first segment
        await using (var other = Log.Open(Path.Combine(dir.Path, "other"), new LogOptions { Files = files }))
        {
            other.Append(Batches.Make(9)); // takes the one descriptor from the old log's idle segments
            Assert.False(log.SegmentsSnapshot[0].IsFileOpen);
        }
        Assert.Equal(1, log.ApplyRetention());
        Assert.False(File.Exists(Path.Combine(dir.Path, "old", $"{0:D20}.log")));

        Assert.Equal([1], Batches.ReadAll(held).Select(Batches.BatchId));
        Assert.Equal([2], Batches.ReadToEnd(log).Select(Batches.BatchId));
    }

    [Fact]
    public void AFileInUse_IsNeverClosedToMakeRoom()
    {
        using var dir = new TempDirectory();
        var files = new FileHandleCache(1);
        using var busy = files.Open(Path.Combine(dir.Path, "busy"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read);
        using var idle = files.Open(Path.Combine(dir.Path, "idle"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read);
        using (var lease = busy.Use())
        {
            using (idle.Use()) { } // opening the idle file again must not close the busy one
            RandomAccess.Write(lease.Handle, "still open"u8, 0);
            Assert.True(busy.IsOpen);
        }
        using (var lease = busy.Use()) Assert.Equal(10, RandomAccess.GetLength(lease.Handle));
    }
}
