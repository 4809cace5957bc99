using System.Diagnostics;
using System.Globalization;
using Ferry.Storage;
using Ferry.Storage.Compaction;
using Ferry.Storage.Records;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ferry.Benchmarks.Storage;

/// <summary>
/// Log cleaner throughput: a compacted log of <c>--mib</c> MiB (batches of 16 records of 1 KiB over <c>--keys</c>
/// distinct keys, uncompressed or in <c>--codec</c>), cleaned by one pass; MB/s is the log's size on disk before the
/// pass over the pass's wall time, and the records' uncompressed size over the same time.
/// </summary>
internal static class CleanerBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        string root = Path.Combine(Arg(args, "--dir") ?? Path.GetTempPath(), "ferry-bench-cleaner-" + Guid.NewGuid().ToString("N"));
        long totalBytes = long.Parse(Arg(args, "--mib") ?? "256", CultureInfo.InvariantCulture) << 20;
        int keys = int.Parse(Arg(args, "--keys") ?? "10000", CultureInfo.InvariantCulture);
        int codec = (Arg(args, "--codec") ?? "none") switch
        {
            "gzip" => RecordBatchCompression.Gzip,
            "snappy" => RecordBatchCompression.Snappy,
            "lz4" => RecordBatchCompression.Lz4,
            "zstd" => RecordBatchCompression.Zstd,
            _ => RecordBatchCompression.None,
        };
        var options = new LogOptions { Compact = true, Delete = false, MinCleanableDirtyRatio = 0.01, SegmentBytes = 64 << 20, FsyncOnDurableWrite = false };
        var log = Log.Open(root, options);
        try
        {
            // Values of random letters: compressible about as text is (zeros would flatter every codec).
            var random = new Random(42);
            var value = new byte[1024];
            var builder = new RecordBatchBuilder();
            long next = 0;
            while (log.SizeInBytes < totalBytes)
            {
                builder.Clear();
                for (int i = 0; i < value.Length; i++) value[i] = (byte)('a' + random.Next(26));
                for (int i = 0; i < 16; i++) builder.Add(System.Text.Encoding.ASCII.GetBytes($"key{next++ % keys}"), value, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                var batch = builder.ToArray();
                log.Append(codec == RecordBatchCompression.None ? batch : RecordBatchCompression.Compress(batch, codec));
            }
            log.Roll();
            long before = log.SizeInBytes;
            var cleaner = new LogCleaner(new CleanerOptions(), () => [log], TimeProvider.System, NullLogger.Instance);
            var clock = Stopwatch.StartNew();
            if (!cleaner.CleanOnce()) throw new InvalidOperationException("The cleaner found nothing to clean.");
            double seconds = clock.Elapsed.TotalSeconds;
            Console.WriteLine("| measurement | value |");
            Console.WriteLine("|---|---:|");
            Console.WriteLine($"| log before the pass | {before / 1e6:F0} MB, {next} records, {keys} keys, codec {Arg(args, "--codec") ?? "none"} |");
            Console.WriteLine($"| log after the pass | {log.SizeInBytes / 1e6:F1} MB |");
            Console.WriteLine($"| pass | {seconds:F2} s |");
            Console.WriteLine($"| cleaner throughput, bytes on disk | {before / 1e6 / seconds:F1} MB/s |");
            Console.WriteLine($"| cleaner throughput, records uncompressed | {next * 1040 / 1e6 / seconds:F1} MB/s |");
        }
        finally
        {
            await log.DeleteAsync();
        }
        return 0;
    }

    private static string? Arg(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
