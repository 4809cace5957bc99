using System.Buffers;
using Ferry.Amqp.Framing;
using Ferry.Amqp.Methods;

namespace Ferry.Amqp.Tests.Framing;

public sealed class AmqpFrameTests
{
    // channel.open on channel 1: class 20, method 10, out-of-band "" (one zero octet).
    private static readonly byte[] ChannelOpenFrame =
    [
        0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05,
        0x00, 0x14, 0x00, 0x0A, 0x00,
        0xCE,
    ];

    [Fact]
    public void TryReadFrame_WholeFrame_Parses()
    {
        var buffer = new ReadOnlySequence<byte>(ChannelOpenFrame);

        Assert.True(AmqpFrame.TryReadFrame(ref buffer, TestBuffers.FrameMax, out FrameType type, out ushort channel, out var payload));

        Assert.Equal(FrameType.Method, type);
        Assert.Equal(1, channel);
        Assert.Equal(ChannelOpenFrame[7..12], payload.ToArray());
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void TryReadFrame_SegmentedBuffer_Parses()
    {
        for (int chunk = 1; chunk < ChannelOpenFrame.Length; chunk++)
        {
            var buffer = TestBuffers.Segmented(ChannelOpenFrame, chunk);

            Assert.True(AmqpFrame.TryReadFrame(ref buffer, TestBuffers.FrameMax, out _, out _, out var payload));

            Assert.Equal(ChannelOpenFrame[7..12], payload.ToArray());
            Assert.True(buffer.IsEmpty);
        }
    }

    [Fact]
    public void TryReadFrame_EveryStrictPrefix_ReturnsFalseAndConsumesNothing()
    {
        for (int length = 0; length < ChannelOpenFrame.Length; length++)
        {
            var buffer = new ReadOnlySequence<byte>(ChannelOpenFrame, 0, length);

            Assert.False(AmqpFrame.TryReadFrame(ref buffer, TestBuffers.FrameMax, out _, out _, out _));

            Assert.Equal(length, buffer.Length);
        }
    }

    [Fact]
    public void TryReadFrame_TwoFrames_TakesOneAtATime()
    {
        byte[] heartbeat = [0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xCE];
        var buffer = new ReadOnlySequence<byte>([.. ChannelOpenFrame, .. heartbeat]);

        Assert.True(AmqpFrame.TryReadFrame(ref buffer, TestBuffers.FrameMax, out FrameType first, out _, out _));
        Assert.Equal(heartbeat.Length, buffer.Length);
        Assert.True(AmqpFrame.TryReadFrame(ref buffer, TestBuffers.FrameMax, out FrameType second, out ushort channel, out var payload));

        Assert.Equal(FrameType.Method, first);
        Assert.Equal(FrameType.Heartbeat, second);
        Assert.Equal(0, channel);
        Assert.True(payload.IsEmpty);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void TryReadFrame_BadFrameEnd_ThrowsFrameError()
    {
        byte[] frame = [.. ChannelOpenFrame];
        frame[^1] = 0xCD;
        var buffer = new ReadOnlySequence<byte>(frame);

        var ex = Assert.Throws<AmqpFrameException>(() => AmqpFrame.TryReadFrame(ref buffer, TestBuffers.FrameMax, out _, out _, out _));

        Assert.Equal(AmqpConstants.FrameError, ex.ReplyCode);
    }

    [Fact]
    public void TryReadFrame_SizeAboveFrameMax_ThrowsFrameErrorFromHeaderAlone()
    {
        // Header only: size 4089 with frame-max 4096 (4096 - 8 = 4088 allowed). No payload has arrived.
        byte[] header = [0x03, 0x00, 0x01, 0x00, 0x00, 0x0F, 0xF9];
        var buffer = new ReadOnlySequence<byte>(header);

        var ex = Assert.Throws<AmqpFrameException>(() => AmqpFrame.TryReadFrame(ref buffer, 4096, out _, out _, out _));

        Assert.Equal(AmqpConstants.FrameError, ex.ReplyCode);
        Assert.Equal(header.Length, buffer.Length);
    }

    [Fact]
    public void TryReadFrame_HugeSize_ThrowsFrameErrorWithoutWaiting()
    {
        byte[] header = [0x03, 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0xFF];
        var buffer = new ReadOnlySequence<byte>(header);

        var ex = Assert.Throws<AmqpFrameException>(() => AmqpFrame.TryReadFrame(ref buffer, TestBuffers.FrameMax, out _, out _, out _));

        Assert.Equal(AmqpConstants.FrameError, ex.ReplyCode);
    }

    [Fact]
    public void TryReadFrame_SizeAtFrameMax_Parses()
    {
        var output = new ArrayBufferWriter<byte>();
        AmqpFrameWriter.WriteBody(output, 3, new byte[4096 - 8], frameMax: 4096);
        var buffer = new ReadOnlySequence<byte>(output.WrittenMemory);

        Assert.True(AmqpFrame.TryReadFrame(ref buffer, 4096, out FrameType type, out ushort channel, out var payload));

        Assert.Equal(FrameType.Body, type);
        Assert.Equal(3, channel);
        Assert.Equal(4088, payload.Length);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void TryReadFrame_UnknownType_ThrowsFrameError()
    {
        // "AMQP" sent again after the handshake: type 'A'.
        byte[] frame = [0x41, 0x4D, 0x51, 0x50, 0x00, 0x00, 0x09, 0x01];
        var buffer = new ReadOnlySequence<byte>(frame);

        var ex = Assert.Throws<AmqpFrameException>(() => AmqpFrame.TryReadFrame(ref buffer, TestBuffers.FrameMax, out _, out _, out _));

        Assert.Equal(AmqpConstants.FrameError, ex.ReplyCode);
    }

    [Fact]
    public void ProtocolHeader_IsAmqp0091()
    {
        Assert.Equal(new byte[] { 0x41, 0x4D, 0x51, 0x50, 0x00, 0x00, 0x09, 0x01 }, AmqpFrame.ProtocolHeader.ToArray());

        var output = new ArrayBufferWriter<byte>();
        AmqpFrameWriter.WriteProtocolHeader(output);
        Assert.Equal("AMQP\0\0\u0009\u0001"u8.ToArray(), output.WrittenSpan.ToArray());
    }

    [Fact]
    public void TryReadProtocolHeader_Whole_IsOkAndConsumed()
    {
        byte[] bytes = [.. AmqpFrame.ProtocolHeader, .. ChannelOpenFrame];
        var buffer = TestBuffers.Segmented(bytes, 3);

        Assert.True(AmqpFrame.TryReadProtocolHeader(ref buffer, out bool ok));

        Assert.True(ok);
        Assert.Equal(ChannelOpenFrame, buffer.ToArray());
    }

    [Fact]
    public void TryReadProtocolHeader_EveryStrictPrefix_ReturnsFalseAndConsumesNothing()
    {
        byte[] header = AmqpFrame.ProtocolHeader.ToArray();
        for (int length = 0; length < header.Length; length++)
        {
            var buffer = new ReadOnlySequence<byte>(header, 0, length);

            Assert.False(AmqpFrame.TryReadProtocolHeader(ref buffer, out _));

            Assert.Equal(length, buffer.Length);
        }
    }

    [Theory]
    [InlineData(new byte[] { 0x41, 0x4D, 0x51, 0x50, 0x01, 0x01, 0x00, 0x09 })] // AMQP 0-9 (legacy form)
    [InlineData(new byte[] { 0x41, 0x4D, 0x51, 0x50, 0x00, 0x01, 0x00, 0x00 })] // AMQP 1.0
    [InlineData(new byte[] { 0x47, 0x45, 0x54, 0x20, 0x2F, 0x20, 0x48, 0x54 })] // "GET / HT"
    public void TryReadProtocolHeader_WrongHeader_ReportsNotOk(byte[] header)
    {
        var buffer = new ReadOnlySequence<byte>(header);

        Assert.True(AmqpFrame.TryReadProtocolHeader(ref buffer, out bool ok));

        Assert.False(ok);
    }

    [Fact]
    public void TryReadProtocolHeader_MismatchInFirstBytes_ReportsBeforeEightArrive()
    {
        var buffer = new ReadOnlySequence<byte>("HTT"u8.ToArray());

        Assert.True(AmqpFrame.TryReadProtocolHeader(ref buffer, out bool ok));

        Assert.False(ok);
    }
}
