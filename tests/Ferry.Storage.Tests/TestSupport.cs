using Ferry.Storage.Records;

namespace Ferry.Storage.Tests;

internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ferry-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

internal sealed class ManualTime(long nowMs) : TimeProvider
{
    public long NowMs { get; set; } = nowMs;
    public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(NowMs);
}

internal static class Batches
{
    /// <summary>A batch of <paramref name="count"/> records whose values say which batch and record they are.</summary>
    public static byte[] Make(int batchId, int count = 3, int valueSize = 16, long timestamp = 1_700_000_000_000)
    {
        var builder = new RecordBatchBuilder();
        for (int i = 0; i < count; i++)
        {
            var value = new byte[valueSize];
            BitConverter.TryWriteBytes(value, batchId);
            BitConverter.TryWriteBytes(value.AsSpan(4), i);
            builder.Add("k"u8, value, timestamp + i);
        }
        return builder.ToArray();
    }

    /// <summary>Reads a slice and splits it into batches, checking each one's framing and CRC.</summary>
    public static List<byte[]> ReadAll(LogReadResult result)
    {
        using var slice = result.Slice;
        var bytes = new byte[slice.Length];
        slice.CopyTo(bytes);
        var batches = new List<byte[]>();
        for (var rest = bytes.AsSpan(); !rest.IsEmpty;)
        {
            Assert.Equal(BatchCheck.Valid, RecordBatch.Check(rest, verifyCrc: true));
            int size = RecordBatch.TotalSize(rest);
            batches.Add(rest[..size].ToArray());
            rest = rest[size..];
        }
        return batches;
    }

    public static int BatchId(byte[] batch)
    {
        var reader = new RecordReader(batch);
        Assert.True(reader.TryRead(out var record));
        return BitConverter.ToInt32(record.Value);
    }

    /// <summary>Every batch from <paramref name="from"/> to the end, following the slices.</summary>
    public static List<byte[]> ReadToEnd(Log log, long from = 0)
    {
        var all = new List<byte[]>();
        long offset = Math.Max(from, log.LogStartOffset);
        while (offset < log.LogEndOffset)
        {
            var batches = ReadAll(log.Read(offset, 1 << 20));
            Assert.NotEmpty(batches);
            all.AddRange(batches);
            var last = batches[^1];
            offset = RecordBatch.BaseOffset(last) + RecordBatch.LastOffsetDelta(last) + 1;
        }
        return all;
    }
}
