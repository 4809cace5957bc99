using System.Buffers.Binary;
using System.IO.Compression;
using K4os.Compression.LZ4.Streams;
using ZstdSharp;

namespace Ferry.Storage.Records;

/// <summary>
/// Opens compressed batches, for the few places the broker must see inside one (ListOffsets by timestamp, the
/// admin records API and <c>ferry consume</c>, compaction). Fetch never does: it serves batches as stored.
/// </summary>
/// <remarks>
/// The codecs as Kafka writes them (attributes bits 0-2): gzip (RFC 1952); snappy in xerial's framing
/// (<c>\x82SNAPPY\0</c>, then int32 length-prefixed blocks) or as one raw block, as librdkafka writes it; lz4
/// frames (Kafka's KafkaLZ4BlockOutputStream writes the standard frame format); zstd frames. The output is
/// bounded by <c>maxBytes</c>: a small batch that claims to inflate without end is refused, not followed.
/// </remarks>
public static class RecordBatchCompression
{
    public const int None = 0;
    public const int Gzip = 1;
    public const int Snappy = 2;
    public const int Lz4 = 3;
    public const int Zstd = 4;

    /// <summary>Default bound on a batch's uncompressed records: 64 MiB, far above any batch a client sends.</summary>
    public const int DefaultMaxBytes = 64 << 20;

    private static ReadOnlySpan<byte> XerialMagic => [0x82, (byte)'S', (byte)'N', (byte)'A', (byte)'P', (byte)'P', (byte)'Y', 0];

    /// <summary>
    /// The batch at the start of <paramref name="batch"/> with its records uncompressed: the same header with the
    /// codec bits cleared and the batch length adjusted (the CRC is left as stored: it covers the stored bytes),
    /// readable by <see cref="RecordReader"/>. An uncompressed batch comes back as a copy.
    /// Throws <see cref="InvalidDataException"/> for an unknown codec, corrupt data or output over <paramref name="maxBytes"/>.
    /// </summary>
    public static byte[] Decompress(ReadOnlySpan<byte> batch, int maxBytes = DefaultMaxBytes)
    {
        batch = batch[..RecordBatch.TotalSize(batch)];
        int codec = RecordBatch.CompressionCodec(batch);
        if (codec == None) return batch.ToArray();
        var compressed = batch[RecordBatch.HeaderSize..];
        var output = new MemoryStream(Math.Min(Math.Max(compressed.Length * 4, 1024), maxBytes) + RecordBatch.HeaderSize);
        output.Write(batch[..RecordBatch.HeaderSize]);
        try
        {
            switch (codec)
            {
                case Gzip:
                    Inflate(new GZipStream(new MemoryStream(compressed.ToArray()), CompressionMode.Decompress), output, maxBytes);
                    break;
                case Snappy:
                    UnSnappy(compressed, output, maxBytes);
                    break;
                case Lz4:
                    Inflate(LZ4Stream.Decode(new MemoryStream(compressed.ToArray())), output, maxBytes);
                    break;
                case Zstd:
                    Inflate(new DecompressionStream(new MemoryStream(compressed.ToArray())), output, maxBytes);
                    break;
                default:
                    throw new InvalidDataException($"Unknown compression codec {codec}.");
            }
        }
        catch (Exception ex) when (ex is not InvalidDataException and (IOException or ZstdException or ArgumentException or InvalidOperationException))
        {
            throw new InvalidDataException($"Corrupt compressed batch (codec {codec}): {ex.Message}", ex);
        }
        var result = output.GetBuffer().AsSpan(0, (int)output.Length).ToArray();
        short attributes = (short)(RecordBatch.Attributes(result) & ~RecordBatch.CompressionCodecMask);
        BinaryPrimitives.WriteInt16BigEndian(result.AsSpan(RecordBatch.AttributesOffset), attributes);
        BinaryPrimitives.WriteInt32BigEndian(result.AsSpan(RecordBatch.LengthOffset), result.Length - RecordBatch.LogOverhead);
        return result;
    }

    /// <summary>
    /// The uncompressed batch at the start of <paramref name="batch"/> with its records compressed by
    /// <paramref name="codec"/> as Kafka clients read them: the header kept, codec bits set, length and CRC
    /// recomputed. <see cref="None"/> returns a copy with the codec bits cleared.
    /// </summary>
    public static byte[] Compress(ReadOnlySpan<byte> batch, int codec)
    {
        batch = batch[..RecordBatch.TotalSize(batch)];
        var records = batch[RecordBatch.HeaderSize..];
        var output = new MemoryStream(records.Length / 2 + RecordBatch.HeaderSize + 64);
        output.Write(batch[..RecordBatch.HeaderSize]);
        switch (codec)
        {
            case None:
                output.Write(records);
                break;
            case Gzip:
                using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(records);
                break;
            case Snappy:
                SnappyXerial(records, output);
                break;
            case Lz4:
                // Kafka's Java reader (KafkaLZ4BlockInputStream) takes only independent blocks.
                var settings = new K4os.Compression.LZ4.Streams.LZ4EncoderSettings { ChainBlocks = false, ContentChecksum = false, BlockSize = 64 * 1024 };
                using (var lz4 = LZ4Stream.Encode(output, settings, leaveOpen: true)) lz4.Write(records);
                break;
            case Zstd:
                using (var compressor = new Compressor()) output.Write(compressor.Wrap(records));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(codec), codec, "Unknown compression codec.");
        }
        var result = output.GetBuffer().AsSpan(0, (int)output.Length).ToArray();
        short attributes = (short)((RecordBatch.Attributes(result) & ~RecordBatch.CompressionCodecMask) | codec);
        BinaryPrimitives.WriteInt16BigEndian(result.AsSpan(RecordBatch.AttributesOffset), attributes);
        BinaryPrimitives.WriteInt32BigEndian(result.AsSpan(RecordBatch.LengthOffset), result.Length - RecordBatch.LogOverhead);
        RecordBatch.WriteCrc(result);
        return result;
    }

    /// <summary>xerial's framing, as Kafka's Java clients write snappy (and read it; librdkafka reads both).</summary>
    private static void SnappyXerial(ReadOnlySpan<byte> records, MemoryStream output)
    {
        const int BlockSize = 32 * 1024;
        output.Write(XerialMagic);
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, 1);
        output.Write(word);
        output.Write(word);
        var block = new byte[global::Snappier.Snappy.GetMaxCompressedLength(BlockSize)];
        for (int start = 0; start < records.Length; start += BlockSize)
        {
            var chunk = records.Slice(start, Math.Min(BlockSize, records.Length - start));
            int length = global::Snappier.Snappy.Compress(chunk, block);
            BinaryPrimitives.WriteInt32BigEndian(word, length);
            output.Write(word);
            output.Write(block, 0, length);
        }
    }

    private static void Inflate(Stream source, MemoryStream output, int maxBytes)
    {
        using (source)
        {
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = source.Read(buffer)) > 0)
            {
                if (output.Length - RecordBatch.HeaderSize + read > maxBytes) throw TooLarge(maxBytes);
                output.Write(buffer, 0, read);
            }
        }
    }

    /// <summary>xerial framing: magic (8) | version int32 | compatible version int32 | (length int32 | raw block)*.</summary>
    private static void UnSnappy(ReadOnlySpan<byte> compressed, MemoryStream output, int maxBytes)
    {
        if (!compressed.StartsWith(XerialMagic))
        {
            UnSnappyBlock(compressed, output, maxBytes);
            return;
        }
        var rest = compressed[16..];
        while (rest.Length > 0)
        {
            if (rest.Length < 4) throw new InvalidDataException("Truncated snappy block length.");
            int length = BinaryPrimitives.ReadInt32BigEndian(rest);
            if (length < 0 || length > rest.Length - 4) throw new InvalidDataException("Snappy block longer than the batch.");
            UnSnappyBlock(rest.Slice(4, length), output, maxBytes);
            rest = rest[(4 + length)..];
        }
    }

    private static void UnSnappyBlock(ReadOnlySpan<byte> block, MemoryStream output, int maxBytes)
    {
        int length = global::Snappier.Snappy.GetUncompressedLength(block);
        if (length < 0 || output.Length - RecordBatch.HeaderSize + length > maxBytes) throw TooLarge(maxBytes);
        long start = output.Length;
        output.SetLength(start + length);
        int written = global::Snappier.Snappy.Decompress(block, output.GetBuffer().AsSpan((int)start, length));
        output.Position = start + written;
        output.SetLength(start + written);
    }

    private static InvalidDataException TooLarge(int maxBytes) => new($"A compressed batch inflates beyond {maxBytes} bytes.");
}
