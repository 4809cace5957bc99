using System.Text;
using Ferry.Storage.Records;

namespace Ferry.Storage.Tests.Records;

public sealed class RecordBatchTests
{
    [Fact]
    public void Builder_RoundTripsKeysValuesHeadersAndTimestamps()
    {
        var builder = new RecordBatchBuilder();
        builder.Add("a"u8, "one"u8, 1000, [new RecordHeader("h1"u8.ToArray(), "v1"u8.ToArray())]);
        builder.Add([], "two"u8, 1005, nullKey: true);
        var batch = builder.ToArray();

        Assert.Equal(BatchCheck.Valid, RecordBatch.Check(batch, verifyCrc: true));
        Assert.Equal(1, RecordBatch.LastOffsetDelta(batch));
        Assert.Equal(2, RecordBatch.RecordCount(batch));
        Assert.Equal(1005, RecordBatch.MaxTimestamp(batch));

        var reader = new RecordReader(batch);
        Assert.True(reader.TryRead(out var first));
        Assert.Equal("a", Encoding.UTF8.GetString(first.Key));
        Assert.Equal("one", Encoding.UTF8.GetString(first.Value));
        Assert.Equal(1000, first.Timestamp);
        Assert.Equal(1, first.HeaderCount);
        var headers = first.Headers;
        RecordReader.ReadHeader(ref headers, out var hk, out var hv);
        Assert.Equal("h1", Encoding.UTF8.GetString(hk));
        Assert.Equal("v1", Encoding.UTF8.GetString(hv));

        Assert.True(reader.TryRead(out var second));
        Assert.True(second.KeyIsNull);
        Assert.Equal(1, second.Offset);
        Assert.Equal(1005, second.Timestamp);
        Assert.False(reader.TryRead(out _));
    }

    [Fact]
    public void Check_FlippedByteInsideCrcRange_IsCorrupt()
    {
        var batch = Batches.Make(1);
        batch[^1] ^= 0x40;
        Assert.Equal(BatchCheck.Corrupt, RecordBatch.Check(batch, verifyCrc: true));
    }

    [Fact]
    public void Check_EveryPrefix_IsIncomplete()
    {
        var batch = Batches.Make(1);
        for (int i = 0; i < batch.Length; i++)
            Assert.Equal(BatchCheck.Incomplete, RecordBatch.Check(batch.AsSpan(0, i), verifyCrc: true));
    }

    [Fact]
    public void Check_AbsurdLength_IsTooLargeWithoutReadingIt()
    {
        var batch = Batches.Make(1);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(8), int.MaxValue - 20);
        Assert.Equal(BatchCheck.TooLarge, RecordBatch.Check(batch, verifyCrc: true, maxBatchSize: 1 << 20));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(-1)]
    [InlineData(63)]
    [InlineData(-64)]
    [InlineData(int.MaxValue)]
    [InlineData(int.MinValue)]
    public void Varint_RoundTrips(int value)
    {
        Span<byte> buffer = stackalloc byte[10];
        int written = Varint.WriteInt(buffer, value);
        Assert.Equal(Varint.SizeOfInt(value), written);
        Assert.True(Varint.TryReadInt(buffer[..written], out int read, out int consumed));
        Assert.Equal(value, read);
        Assert.Equal(written, consumed);
    }
}
