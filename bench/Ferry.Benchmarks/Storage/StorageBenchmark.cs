using System.Diagnostics;
using System.Globalization;
using Ferry.Storage;
using Ferry.Storage.Records;

namespace Ferry.Benchmarks.Storage;

/// <summary>
/// Log append and read throughput beside the raw limits of the same disk, measured in the same run:
/// ~16 KiB batches of 1 KiB records; appends without fsync; one fsync per append; group commit under 1, 8
/// and 64 concurrent writers; reading back from the page cache.
/// </summary>
internal static class StorageBenchmark
{
    private const int RecordSize = 1024;
    private const int RecordsPerBatch = 16;

    public static async Task<int> RunAsync(string[] args)
    {
        string root = Arg(args, "--dir") ?? Path.Combine(Path.GetTempPath(), "ferry-bench");
        long totalBytes = long.Parse(Arg(args, "--mib") ?? "1024", CultureInfo.InvariantCulture) << 20;
        double seconds = double.Parse(Arg(args, "--seconds") ?? "5", CultureInfo.InvariantCulture);
        Directory.CreateDirectory(root);

        var batch = BuildBatch();
        var results = new List<(string Name, double MBps, string Note)>();
        Console.WriteLine($"batch {batch.Length} B ({RecordsPerBatch} x {RecordSize} B records), {totalBytes >> 20} MiB per throughput pass, {seconds} s per fsync pass, dir {root}");

        double raw = RawSequentialWrite(root, batch.Length, totalBytes, fsyncAtEnd: false);
        results.Add(("raw sequential write, buffered (page cache)", raw, "limit"));
        double rawSynced = RawSequentialWrite(root, batch.Length, totalBytes, fsyncAtEnd: true);
        results.Add(("raw sequential write, one fsync at the end", rawSynced, "limit"));
        double rawFsyncEach = RawFsyncEachWrite(root, batch.Length, seconds);
        results.Add(("raw write + fsync per 16 KiB write", rawFsyncEach, "limit"));

        var (append, appendLog) = await AppendNoFsyncAsync(root, batch, totalBytes);
        results.Add(("log append, no fsync", append, $"{append / raw:P0} of raw buffered"));

        double read = ReadBack(appendLog, totalBytes);
        results.Add(("log read back from page cache", read, "1 MiB reads"));
        await appendLog.DeleteAsync();

        double fsyncEach = await FsyncPerAppendAsync(root, batch, seconds);
        results.Add(("log append + fsync per append", fsyncEach, "baseline for group commit"));
        foreach (int writers in new[] { 1, 8, 64 })
        {
            var (mbps, rounds, appends) = await GroupCommitAsync(root, batch, writers, seconds);
            results.Add(($"log append, group commit, {writers} writers", mbps,
                $"{mbps / fsyncEach:F1}x fsync-per-append; {appends / (double)rounds:F1} appends per fsync"));
        }

        Console.WriteLine();
        Console.WriteLine("| measurement | MB/s | note |");
        Console.WriteLine("|---|---:|---|");
        foreach (var (name, mbps, note) in results) Console.WriteLine($"| {name} | {mbps:F0} | {note} |");
        return 0;
    }

    private static string? Arg(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static byte[] BuildBatch()
    {
        var builder = new RecordBatchBuilder();
        var value = new byte[RecordSize];
        new Random(42).NextBytes(value);
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (int i = 0; i < RecordsPerBatch; i++) builder.Add([], value, now, nullKey: true);
        return builder.ToArray();
    }

    private static double MBps(long bytes, TimeSpan elapsed) => bytes / 1e6 / elapsed.TotalSeconds;

    private static double RawSequentialWrite(string root, int chunk, long total, bool fsyncAtEnd)
    {
        string path = Path.Combine(root, "raw.dat");
        var buffer = new byte[chunk];
        new Random(1).NextBytes(buffer);
        var sw = Stopwatch.StartNew();
        using (var file = File.OpenHandle(path, FileMode.Create, FileAccess.Write))
        {
            long position = 0;
            while (position < total)
            {
                RandomAccess.Write(file, buffer, position);
                position += chunk;
            }
            if (fsyncAtEnd) RandomAccess.FlushToDisk(file);
        }
        var elapsed = sw.Elapsed;
        File.Delete(path);
        return MBps(total, elapsed);
    }

    private static double RawFsyncEachWrite(string root, int chunk, double seconds)
    {
        string path = Path.Combine(root, "raw-fsync.dat");
        var buffer = new byte[chunk];
        long position = 0;
        var sw = Stopwatch.StartNew();
        using (var file = File.OpenHandle(path, FileMode.Create, FileAccess.Write))
        {
            while (sw.Elapsed.TotalSeconds < seconds)
            {
                RandomAccess.Write(file, buffer, position);
                RandomAccess.FlushToDisk(file);
                position += chunk;
            }
        }
        var elapsed = sw.Elapsed;
        File.Delete(path);
        return MBps(position, elapsed);
    }

    private static async Task<(double, Log)> AppendNoFsyncAsync(string root, byte[] batch, long total)
    {
        var log = Log.Open(Path.Combine(root, "append-" + Guid.NewGuid().ToString("N")));
        var buffer = (byte[])batch.Clone();
        long written = 0;
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        while (written < total)
        {
            log.Append(buffer);
            written += buffer.Length;
        }
        var elapsed = sw.Elapsed;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        Console.WriteLine($"append, no fsync: {allocated / (double)(written / batch.Length):F1} B allocated per append");
        await Task.CompletedTask;
        return (MBps(written, elapsed), log);
    }

    private static double ReadBack(Log log, long total)
    {
        var buffer = new byte[2 << 20];
        long offset = 0, read = 0;
        var sw = Stopwatch.StartNew();
        while (offset < log.LogEndOffset)
        {
            var result = log.Read(offset, 1 << 20);
            using var slice = result.Slice;
            slice.CopyTo(buffer);
            read += slice.Length;
            // Find the last batch's end without parsing all: walk headers in memory.
            var span = buffer.AsSpan(0, slice.Length);
            long next = offset;
            while (!span.IsEmpty)
            {
                next = RecordBatch.BaseOffset(span) + RecordBatch.LastOffsetDelta(span) + 1;
                span = span[RecordBatch.TotalSize(span)..];
            }
            offset = next;
        }
        var elapsed = sw.Elapsed;
        if (read < total) throw new InvalidOperationException($"read {read} of {total} bytes");
        return MBps(read, elapsed);
    }

    private static async Task<double> FsyncPerAppendAsync(string root, byte[] batch, double seconds)
    {
        var log = Log.Open(Path.Combine(root, "fsync-" + Guid.NewGuid().ToString("N")));
        var buffer = (byte[])batch.Clone();
        long written = 0;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            log.Append(buffer);
            log.Flush();
            written += buffer.Length;
        }
        var elapsed = sw.Elapsed;
        await log.DeleteAsync();
        return MBps(written, elapsed);
    }

    private static async Task<(double MBps, long Rounds, long Appends)> GroupCommitAsync(string root, byte[] batch, int writers, double seconds)
    {
        var log = Log.Open(Path.Combine(root, "group-" + Guid.NewGuid().ToString("N")));
        long appends = 0;
        var sw = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
        {
            var buffer = (byte[])batch.Clone();
            while (sw.Elapsed.TotalSeconds < seconds)
            {
                var result = log.Append(buffer);
                await log.WaitForDurableAsync(result.LastOffset + 1);
                Interlocked.Increment(ref appends);
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        var elapsed = sw.Elapsed;
        long rounds = log.FsyncRounds;
        await log.DeleteAsync();
        return (MBps(appends * batch.Length, elapsed), rounds, appends);
    }
}
