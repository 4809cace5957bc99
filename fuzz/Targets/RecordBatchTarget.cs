using Ferry.Storage.Records;

namespace Ferry.Fuzz.Targets;

/// <summary>
/// Record batches as a producer sends them and as the broker opens them (ListOffsets by timestamp, the admin
/// records API, queues and committed offsets read back): each batch's framing (RecordBatch.Check; the CRC is not
/// asked for, so the fuzzer reaches what lies behind it), its records uncompressed with the output capped
/// (gzip, snappy in both framings, lz4, zstd: a small batch that declares a huge output must be refused at the
/// cap), then every record and header through RecordReader.
/// </summary>
/// <remarks>InvalidDataException is the broker's "corrupt batch": the request is answered CORRUPT_MESSAGE or the read stops.</remarks>
internal sealed class RecordBatchTarget : IFuzzTarget
{
    /// <summary>The output cap for the fuzzer: 1 MiB (the broker's default is 64 MiB), so a bomb is cheap to find.</summary>
    public const int MaxUncompressedBytes = 1 << 20;

    public string Name => "record-batch";

    // Decompression may fill the cap: the output stream doubles up to it, then one copy of the result.
    public long AllocationAllowance => 4L * MaxUncompressedBytes + 256 * 1024;

    public void Run(ReadOnlySpan<byte> input)
    {
        var rest = input;
        while (RecordBatch.Check(rest, verifyCrc: false) == BatchCheck.Valid)
        {
            int size = RecordBatch.TotalSize(rest);
            try
            {
                ReadRecords(RecordBatchCompression.Decompress(rest[..size], MaxUncompressedBytes));
            }
            catch (InvalidDataException)
            {
                // A corrupt or oversized batch: refused, the next one is still read.
            }
            rest = rest[size..];
        }
    }

    private static void ReadRecords(byte[] batch)
    {
        var reader = new RecordReader(batch);
        while (reader.TryRead(out var record))
        {
            var headers = record.Headers;
            for (int i = 0; i < record.HeaderCount; i++)
            {
                RecordReader.ReadHeader(ref headers, out _, out _);
            }
        }
    }
}
