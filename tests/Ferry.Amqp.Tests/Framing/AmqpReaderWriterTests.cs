using Ferry.Amqp.Framing;
using Ferry.Amqp.Methods;

namespace Ferry.Amqp.Tests.Framing;

public sealed class AmqpReaderWriterTests
{
    [Fact]
    public void Primitives_RoundTripBigEndian()
    {
        byte[] buffer = new byte[1 + 2 + 4 + 8 + 8 + 4 + 7 + 4 + 3];
        var writer = new AmqpWriter(buffer);
        writer.WriteOctet(0xAB);
        writer.WriteShort(0x1234);
        writer.WriteLong(0x89ABCDEF);
        writer.WriteLongLong(0x0102030405060708);
        writer.WriteTimestamp(new AmqpTimestamp(1_600_000_000));
        writer.WriteShortStr("abc");
        writer.WriteShortStr("héllo");
        writer.WriteLongStr("xyz");
        Assert.Equal(buffer.Length, writer.Position);
        Assert.Equal(new byte[] { 0xAB, 0x12, 0x34, 0x89, 0xAB, 0xCD, 0xEF, 1, 2, 3, 4, 5, 6, 7, 8 }, buffer[..15]);

        var reader = new AmqpReader(buffer);
        Assert.Equal(0xAB, reader.ReadOctet());
        Assert.Equal(0x1234, reader.ReadShort());
        Assert.Equal(0x89ABCDEFu, reader.ReadLong());
        Assert.Equal(0x0102030405060708UL, reader.ReadLongLong());
        Assert.Equal(new AmqpTimestamp(1_600_000_000), reader.ReadTimestamp());
        Assert.Equal("abc", reader.ReadShortStr());
        Assert.Equal("héllo", reader.ReadShortStr());
        Assert.Equal("xyz", reader.ReadLongStr());
        Assert.Equal(0, reader.Remaining);
    }

    [Fact]
    public void Bits_ConsecutiveShareOctetsLowBitFirst()
    {
        bool[] bits = [true, false, true, true, false, false, false, false, true, true];
        byte[] buffer = new byte[3];
        var writer = new AmqpWriter(buffer);
        foreach (bool bit in bits)
        {
            writer.WriteBit(bit);
        }

        writer.WriteOctet(0x7F);

        Assert.Equal(new byte[] { 0b0000_1101, 0b0000_0011, 0x7F }, buffer);
        var reader = new AmqpReader(buffer);
        foreach (bool bit in bits)
        {
            Assert.Equal(bit, reader.ReadBit());
        }

        Assert.Equal(0x7F, reader.ReadOctet());
    }

    [Fact]
    public void Bits_SeparatedByOtherArgument_UseSeparateOctets()
    {
        byte[] buffer = new byte[4];
        var writer = new AmqpWriter(buffer);
        writer.WriteBit(true);
        writer.WriteShort(0x0102);
        writer.WriteBit(true);

        Assert.Equal(new byte[] { 0x01, 0x01, 0x02, 0x01 }, buffer);
        var reader = new AmqpReader(buffer);
        Assert.True(reader.ReadBit());
        Assert.Equal(0x0102, reader.ReadShort());
        Assert.True(reader.ReadBit());
        Assert.Equal(0, reader.Remaining);
    }

    [Fact]
    public void ReadShortStr_Truncated_ThrowsSyntaxError()
    {
        byte[] buffer = [5, (byte)'a', (byte)'b'];

        var ex = Assert.Throws<AmqpFrameException>(() =>
        {
            var reader = new AmqpReader(buffer);
            reader.ReadShortStr();
        });

        Assert.Equal(AmqpConstants.SyntaxError, ex.ReplyCode);
    }

    [Fact]
    public void WriteShortStr_Over255Bytes_Throws()
    {
        string tooLong = new('x', 256);

        Assert.Throws<ArgumentException>(() => AmqpWriter.GetShortStrSize(tooLong));
        Assert.Throws<ArgumentException>(() =>
        {
            var writer = new AmqpWriter(new byte[300]);
            writer.WriteShortStr(tooLong);
        });
    }
}
