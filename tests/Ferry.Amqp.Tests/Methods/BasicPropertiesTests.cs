using System.Buffers;
using Ferry.Amqp.Framing;
using Ferry.Amqp.Methods;

namespace Ferry.Amqp.Tests.Methods;

public sealed class BasicPropertiesTests
{
    private static BasicProperties All() => new()
    {
        ContentType = "application/json",
        ContentEncoding = "gzip",
        Headers = new Dictionary<string, object?> { ["x-retry"] = 3, ["trace"] = "abc" },
        DeliveryMode = 2,
        Priority = 9,
        CorrelationId = "corr-1",
        ReplyTo = "amq.rabbitmq.reply-to",
        Expiration = "60000",
        MessageId = "msg-1",
        Timestamp = new AmqpTimestamp(1_700_000_000),
        Type = "order.created",
        UserId = "guest",
        AppId = "shop",
        ClusterId = "c1",
    };

    private static byte[] Encode(BasicProperties properties)
    {
        byte[] buffer = new byte[properties.GetSize()];
        var writer = new AmqpWriter(buffer);
        properties.Write(ref writer);
        Assert.Equal(buffer.Length, writer.Position);
        return buffer;
    }

    [Fact]
    public void AllFourteen_RoundTrip()
    {
        byte[] encoded = Encode(All());

        var reader = new AmqpReader(encoded);
        BasicProperties decoded = BasicProperties.Read(ref reader);

        Assert.Equal(0, reader.Remaining);
        Assert.Equal(0xFFFC, decoded.GetPropertyFlags());
        Assert.Equal(new byte[] { 0xFF, 0xFC }, encoded[..2]);
        Assert.Equal("application/json", decoded.ContentType);
        Assert.Equal("gzip", decoded.ContentEncoding);
        Assert.NotNull(decoded.Headers);
        Assert.Equal(3, decoded.Headers["x-retry"]);
        Assert.Equal((byte)2, decoded.DeliveryMode);
        Assert.Equal((byte)9, decoded.Priority);
        Assert.Equal("corr-1", decoded.CorrelationId);
        Assert.Equal("amq.rabbitmq.reply-to", decoded.ReplyTo);
        Assert.Equal("60000", decoded.Expiration);
        Assert.Equal("msg-1", decoded.MessageId);
        Assert.Equal(new AmqpTimestamp(1_700_000_000), decoded.Timestamp);
        Assert.Equal("order.created", decoded.Type);
        Assert.Equal("guest", decoded.UserId);
        Assert.Equal("shop", decoded.AppId);
        Assert.Equal("c1", decoded.ClusterId);
        Assert.Equal(encoded, Encode(decoded));
    }

    [Fact]
    public void None_IsTwoZeroBytes()
    {
        byte[] encoded = Encode(new BasicProperties());

        Assert.Equal(new byte[] { 0, 0 }, encoded);
        var reader = new AmqpReader(encoded);
        BasicProperties decoded = BasicProperties.Read(ref reader);
        Assert.Null(decoded.ContentType);
        Assert.Null(decoded.Headers);
        Assert.Null(decoded.DeliveryMode);
        Assert.Null(decoded.Timestamp);
        Assert.Equal(0, decoded.GetPropertyFlags());
    }

    [Fact]
    public void EmptyHeaders_StayPresent()
    {
        byte[] encoded = Encode(new BasicProperties { Headers = [] });

        Assert.Equal(new byte[] { 0x20, 0x00, 0, 0, 0, 0 }, encoded);
        var reader = new AmqpReader(encoded);
        Assert.Empty(Assert.IsType<Dictionary<string, object?>>(BasicProperties.Read(ref reader).Headers));
    }

    [Fact]
    public void Parse_KeepsRawAndWritesItUnchanged()
    {
        // A trailing byte after the property list is not part of Raw.
        byte[] raw = Encode(All());
        byte[] withTrailer = [.. raw, 0xEE];

        BasicProperties parsed = BasicProperties.Parse(withTrailer);

        Assert.Equal(raw, parsed.Raw.ToArray());
        Assert.Equal(raw.Length, parsed.GetSize());
        Assert.Equal(raw, Encode(parsed));
        Assert.True(parsed.Raw.Span.Overlaps(withTrailer));
    }

    [Fact]
    public void SettingAProperty_DiscardsRaw()
    {
        BasicProperties parsed = BasicProperties.Parse(Encode(All()));

        parsed.Priority = 1;

        Assert.True(parsed.Raw.IsEmpty);
        var reader = new AmqpReader(Encode(parsed));
        Assert.Equal((byte)1, BasicProperties.Read(ref reader).Priority);
    }

    [Fact]
    public void UndefinedFlag_ThrowsSyntaxError()
    {
        byte[] encoded = [0x00, 0x01];

        var ex = Assert.Throws<AmqpFrameException>(() => BasicProperties.Parse(encoded));

        Assert.Equal(AmqpConstants.SyntaxError, ex.ReplyCode);
    }

    [Fact]
    public void Truncated_ThrowsSyntaxError()
    {
        byte[] encoded = Encode(All());
        for (int length = 0; length < encoded.Length; length++)
        {
            var prefix = new ReadOnlyMemory<byte>(encoded, 0, length);

            var ex = Assert.Throws<AmqpFrameException>(() => BasicProperties.Parse(prefix));

            Assert.Equal(AmqpConstants.SyntaxError, ex.ReplyCode);
        }
    }

    [Fact]
    public void ContentHeaderFrame_RoundTripsThroughFrameReader()
    {
        var output = new ArrayBufferWriter<byte>();
        AmqpFrameWriter.WriteContentHeader(output, 1, 5, All());
        var buffer = new ReadOnlySequence<byte>(output.WrittenMemory);

        Assert.True(AmqpFrame.TryReadFrame(ref buffer, TestBuffers.FrameMax, out FrameType type, out _, out var payload));
        using var contiguous = new ContiguousBuffer(payload);
        var header = ContentHeader.Read(contiguous.Span);

        Assert.Equal(FrameType.Header, type);
        Assert.Equal(5UL, header.BodySize);
        BasicProperties properties = BasicProperties.Parse(header.RawProperties.ToArray());
        Assert.Equal("application/json", properties.ContentType);
        Assert.Equal(Encode(All()), properties.Raw.ToArray());
    }
}
