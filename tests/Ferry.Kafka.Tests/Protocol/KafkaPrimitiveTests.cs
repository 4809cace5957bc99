using System.Buffers;
using Ferry.Kafka.Protocol;

namespace Ferry.Kafka.Tests.Protocol;

public sealed class KafkaPrimitiveTests
{
    private static byte[] Write(Action<KafkaWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(new KafkaWriter(buffer));
        return buffer.WrittenSpan.ToArray();
    }

    [Theory]
    [InlineData(0u, new byte[] { 0x00 })]
    [InlineData(1u, new byte[] { 0x01 })]
    [InlineData(127u, new byte[] { 0x7F })]
    [InlineData(128u, new byte[] { 0x80, 0x01 })]
    [InlineData(300u, new byte[] { 0xAC, 0x02 })]
    [InlineData(uint.MaxValue, new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0x0F })]
    public void UnsignedVarint_MatchesProtobufEncoding(uint value, byte[] expected)
    {
        Assert.Equal(expected, Write(w => w.WriteUnsignedVarint(value)));
        Assert.Equal(expected.Length, KafkaWriter.SizeOfUnsignedVarint(value));
        var reader = new KafkaReader(expected);
        Assert.Equal(value, reader.ReadUnsignedVarint());
        Assert.True(reader.IsAtEnd);
    }

    [Theory]
    [InlineData(0, new byte[] { 0x00 })]
    [InlineData(-1, new byte[] { 0x01 })]
    [InlineData(1, new byte[] { 0x02 })]
    [InlineData(-64, new byte[] { 0x7F })]
    [InlineData(int.MinValue, new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0x0F })]
    public void Varint_IsZigZag(int value, byte[] expected)
    {
        Assert.Equal(expected, Write(w => w.WriteVarint(value)));
        var reader = new KafkaReader(expected);
        Assert.Equal(value, reader.ReadVarint());
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-1L)]
    [InlineData(long.MaxValue)]
    [InlineData(long.MinValue)]
    [InlineData(1234567890123L)]
    public void Varlong_RoundTrips(long value)
    {
        byte[] bytes = Write(w => w.WriteVarlong(value));
        var reader = new KafkaReader(bytes);
        Assert.Equal(value, reader.ReadVarlong());
        Assert.True(reader.IsAtEnd);
    }

    [Fact]
    public void Varint_TooLong_Throws()
    {
        byte[] bytes = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01];
        Assert.Throws<KafkaProtocolException>(() => new KafkaReader(bytes).ReadUnsignedVarint());
        Assert.Throws<KafkaProtocolException>(() => new KafkaReader(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0x10 }).ReadUnsignedVarint());
        byte[] longBytes = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01];
        Assert.Throws<KafkaProtocolException>(() => new KafkaReader(longBytes).ReadVarlong());
    }

    [Fact]
    public void FixedWidth_AreBigEndian()
    {
        byte[] bytes = Write(w =>
        {
            w.WriteInt8(-2);
            w.WriteInt16(0x0102);
            w.WriteUInt16(0xFFFE);
            w.WriteInt32(0x01020304);
            w.WriteUInt32(0xFFFFFFFE);
            w.WriteInt64(0x0102030405060708);
            w.WriteFloat64(1.5);
            w.WriteBool(true);
        });

        Assert.Equal(
            [0xFE, 1, 2, 0xFF, 0xFE, 1, 2, 3, 4, 0xFF, 0xFF, 0xFF, 0xFE, 1, 2, 3, 4, 5, 6, 7, 8, 0x3F, 0xF8, 0, 0, 0, 0, 0, 0, 1],
            bytes);
        var reader = new KafkaReader(bytes);
        Assert.Equal(-2, reader.ReadInt8());
        Assert.Equal(0x0102, reader.ReadInt16());
        Assert.Equal(0xFFFE, reader.ReadUInt16());
        Assert.Equal(0x01020304, reader.ReadInt32());
        Assert.Equal(0xFFFFFFFE, reader.ReadUInt32());
        Assert.Equal(0x0102030405060708, reader.ReadInt64());
        Assert.Equal(1.5, reader.ReadFloat64());
        Assert.True(reader.ReadBool());
        Assert.True(reader.IsAtEnd);
    }

    [Fact]
    public void Uuid_IsSixteenBytesMostSignificantFirst()
    {
        var id = Guid.Parse("00112233-4455-6677-8899-aabbccddeeff");
        byte[] bytes = Write(w => w.WriteUuid(id));
        Assert.Equal(Convert.FromHexString("00112233445566778899AABBCCDDEEFF"), bytes);
        Assert.Equal(id, new KafkaReader(bytes).ReadUuid());
    }

    [Fact]
    public void Strings_AllFormsRoundTrip()
    {
        byte[] bytes = Write(w =>
        {
            w.WriteString("héllo");
            w.WriteNullableString(null);
            w.WriteCompactString("");
            w.WriteCompactNullableString(null);
            w.WriteCompactNullableString("x");
        });

        Assert.Equal([0x00, 0x06, (byte)'h', 0xC3, 0xA9, (byte)'l', (byte)'l', (byte)'o', 0xFF, 0xFF, 0x01, 0x00, 0x02, (byte)'x'], bytes);
        var reader = new KafkaReader(bytes);
        Assert.Equal("héllo", reader.ReadString());
        Assert.Null(reader.ReadNullableString());
        Assert.Equal("", reader.ReadCompactString());
        Assert.Null(reader.ReadCompactNullableString());
        Assert.Equal("x", reader.ReadCompactNullableString());
    }

    [Fact]
    public void Bytes_AllFormsRoundTrip()
    {
        byte[] bytes = Write(w =>
        {
            w.WriteBytes([1, 2]);
            w.WriteNullableBytes(null);
            w.WriteCompactBytes([3]);
            w.WriteCompactNullableBytes(null);
        });

        Assert.Equal([0, 0, 0, 2, 1, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 3, 0x00], bytes);
        var reader = new KafkaReader(bytes);
        Assert.Equal([1, 2], reader.ReadBytes());
        Assert.Null(reader.ReadNullableBytes());
        Assert.Equal([3], reader.ReadCompactBytes());
        Assert.Null(reader.ReadCompactNullableBytes());
    }

    [Fact]
    public void NonNullableRead_OfNull_Throws()
    {
        Assert.Throws<KafkaProtocolException>(() => new KafkaReader(new byte[] { 0xFF, 0xFF }).ReadString());
        Assert.Throws<KafkaProtocolException>(() => new KafkaReader(new byte[] { 0x00 }).ReadCompactString());
        Assert.Throws<KafkaProtocolException>(() => new KafkaReader(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF }).ReadBytes());
        Assert.Throws<KafkaProtocolException>(() => new KafkaReader(new byte[] { 0x00 }).ReadCompactArrayLength());
    }

    [Fact]
    public void StringLongerThanRemaining_ThrowsBeforeDecoding()
    {
        Assert.Throws<KafkaProtocolException>(() => new KafkaReader(new byte[] { 0x7F, 0xFF, (byte)'a' }).ReadString());
        Assert.Throws<KafkaProtocolException>(() => new KafkaReader(new byte[] { 0x05, (byte)'a' }).ReadCompactString());
        Assert.Throws<KafkaProtocolException>(() => new KafkaReader(new byte[] { 0x00, 0x00, 0x00, 0x05, 1 }).ReadRecords());
    }

    [Fact]
    public void NullRecords_ReadAsNull_NotEmpty()
    {
        Assert.Null(new KafkaReader(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF }).ReadNullableRecords());
        Assert.Null(new KafkaReader(new byte[] { 0x00 }).ReadCompactNullableRecords());
        Assert.Equal(0, new KafkaReader(new byte[] { 0x01 }).ReadCompactNullableRecords()!.Value.Length);
    }

    [Fact]
    public void Writer_NullIntoNonNullable_Throws()
    {
        Assert.Throws<KafkaProtocolException>(() => Write(w => w.WriteString(null!)));
        Assert.Throws<KafkaProtocolException>(() => Write(w => w.WriteCompactBytes(null!)));
    }

    [Fact]
    public void Sizer_CountsWithoutWriting_AndMeasureForgetsItsBytes()
    {
        KafkaWriter sizer = KafkaWriter.CreateSizer();
        sizer.WriteCompactString("abc");
        sizer.WriteInt64(1);
        Assert.Equal(12, sizer.BytesWritten);

        var buffer = new ArrayBufferWriter<byte>();
        var writer = new KafkaWriter(buffer);
        writer.WriteInt16(1);
        long start = writer.BeginMeasure();
        writer.WriteString("abcd");
        long inner = writer.BeginMeasure();
        writer.WriteInt32(1);
        Assert.Equal(4, writer.EndMeasure(inner));
        Assert.Equal(6, writer.EndMeasure(start));
        Assert.Equal(2, writer.BytesWritten);
        Assert.Equal(2, buffer.WrittenCount);
    }
}
