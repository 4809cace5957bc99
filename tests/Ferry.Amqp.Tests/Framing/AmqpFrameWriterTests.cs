using System.Buffers;
using Ferry.Amqp.Framing;
using Ferry.Amqp.Methods;

namespace Ferry.Amqp.Tests.Framing;

public sealed class AmqpFrameWriterTests
{
    [Fact]
    public void WriteMethod_ConnectionTuneOk_IsByteExact()
    {
        var tuneOk = new ConnectionTuneOk { ChannelMax = 2047, FrameMax = 131072, Heartbeat = 60 };

        byte[] frame = TestBuffers.EncodeMethodFrame(tuneOk, channel: 0);

        byte[] expected =
        [
            0x01,                   // frame type: method
            0x00, 0x00,             // channel 0
            0x00, 0x00, 0x00, 0x0C, // payload size 12
            0x00, 0x0A,             // class 10 connection
            0x00, 0x1F,             // method 31 tune-ok
            0x07, 0xFF,             // channel-max 2047
            0x00, 0x02, 0x00, 0x00, // frame-max 131072
            0x00, 0x3C,             // heartbeat 60
            0xCE,                   // frame-end
        ];
        Assert.Equal(expected, frame);
    }

    [Fact]
    public void WriteHeartbeat_IsByteExact()
    {
        var output = new ArrayBufferWriter<byte>();

        AmqpFrameWriter.WriteHeartbeat(output);

        Assert.Equal(new byte[] { 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xCE }, output.WrittenSpan.ToArray());
    }

    [Fact]
    public void WriteBody_SplitsAtFrameMax()
    {
        byte[] body = [.. Enumerable.Range(0, 10).Select(i => (byte)i)];
        var output = new ArrayBufferWriter<byte>();

        // frame-max 12 leaves 4 payload bytes per frame.
        AmqpFrameWriter.WriteBody(output, 5, body, frameMax: 12);

        AssertBodyFrames(output.WrittenMemory, body, 4, 4, 2);
    }

    [Fact]
    public void WriteBody_SegmentedSequence_SplitsAtFrameMax()
    {
        byte[] body = [.. Enumerable.Range(0, 23).Select(i => (byte)i)];
        var output = new ArrayBufferWriter<byte>();

        AmqpFrameWriter.WriteBody(output, 5, TestBuffers.Segmented(body, 3), frameMax: 18);

        AssertBodyFrames(output.WrittenMemory, body, 10, 10, 3);
    }

    [Fact]
    public void WriteBody_Empty_WritesNoFrame()
    {
        var output = new ArrayBufferWriter<byte>();

        AmqpFrameWriter.WriteBody(output, 5, ReadOnlySpan<byte>.Empty, TestBuffers.FrameMax);

        Assert.Equal(0, output.WrittenCount);
    }

    [Fact]
    public void WriteContentHeader_Raw_ReadsBackUnchanged()
    {
        byte[] raw = [0x90, 0x00, 0x0A, .. "text/plain"u8, 0x02]; // content-type, delivery-mode 2
        var output = new ArrayBufferWriter<byte>();

        AmqpFrameWriter.WriteContentHeader(output, 9, BasicProperties.ClassId, 1234, raw);

        var buffer = new ReadOnlySequence<byte>(output.WrittenMemory);
        Assert.True(AmqpFrame.TryReadFrame(ref buffer, TestBuffers.FrameMax, out FrameType type, out ushort channel, out var payload));
        Assert.Equal(FrameType.Header, type);
        Assert.Equal(9, channel);
        byte[] bytes = payload.ToArray();
        var header = ContentHeader.Read(bytes);
        Assert.Equal(BasicProperties.ClassId, header.ClassId);
        Assert.Equal(1234UL, header.BodySize);
        Assert.Equal(raw, header.RawProperties.ToArray());
        Assert.Equal(0, bytes[2] | bytes[3]); // weight
    }

    [Fact]
    public void WriteContentHeader_Properties_EqualsRawForm()
    {
        var properties = new BasicProperties { ContentType = "text/plain", DeliveryMode = 2 };
        var decoded = new ArrayBufferWriter<byte>();
        var raw = new ArrayBufferWriter<byte>();

        AmqpFrameWriter.WriteContentHeader(decoded, 9, 1234, properties);
        AmqpFrameWriter.WriteContentHeader(raw, 9, BasicProperties.ClassId, 1234, [0x90, 0x00, 0x0A, .. "text/plain"u8, 0x02]);

        Assert.Equal(raw.WrittenSpan.ToArray(), decoded.WrittenSpan.ToArray());
    }

    [Fact]
    public void WriteContentHeader_NoProperties_WritesZeroFlags()
    {
        var output = new ArrayBufferWriter<byte>();

        AmqpFrameWriter.WriteContentHeader(output, 1, 0, properties: null);

        byte[] expected = [0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0E, 0x00, 0x3C, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0xCE];
        Assert.Equal(expected, output.WrittenSpan.ToArray());
    }

    [Fact]
    public void ContentHeader_Truncated_ThrowsSyntaxError()
    {
        byte[] payload = [0x00, 0x3C, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 1, 0x80];

        var ex = Assert.Throws<AmqpFrameException>(() => ContentHeader.Read(payload));

        Assert.Equal(AmqpConstants.SyntaxError, ex.ReplyCode);
    }

    private static void AssertBodyFrames(ReadOnlyMemory<byte> written, byte[] body, params int[] chunkSizes)
    {
        var buffer = new ReadOnlySequence<byte>(written);
        var reassembled = new List<byte>();
        foreach (int size in chunkSizes)
        {
            Assert.True(AmqpFrame.TryReadFrame(ref buffer, 131072, out FrameType type, out ushort channel, out var payload));
            Assert.Equal(FrameType.Body, type);
            Assert.Equal(5, channel);
            Assert.Equal(size, payload.Length);
            reassembled.AddRange(payload.ToArray());
        }

        Assert.True(buffer.IsEmpty);
        Assert.Equal(body, reassembled);
    }
}
