using Ferry.Amqp.Framing;
using Ferry.Amqp.Methods;
using Ferry.Broker.Queues;

namespace Ferry.Amqp.Tests.Methods;

/// <summary>The publish path's property check (<see cref="AmqpContentCodec.Read"/>) accepts and rejects
/// exactly what <see cref="BasicProperties.Read"/> does, while decoding nothing.</summary>
public sealed class ContentCodecTests
{
    private static byte[] Encode(BasicProperties properties)
    {
        byte[] buffer = new byte[properties.GetSize()];
        var writer = new AmqpWriter(buffer);
        properties.Write(ref writer);
        return buffer;
    }

    private static byte[] Everything() => Encode(new BasicProperties
    {
        ContentType = "application/json",
        ContentEncoding = "gzip",
        Headers = new Dictionary<string, object?>
        {
            ["int"] = 3,
            ["text"] = "abc",
            ["nested"] = new Dictionary<string, object?> { ["deep"] = new List<object?> { 1L, 2.5, true, null } },
            ["decimal"] = new AmqpDecimal(2, 12345),
            ["time"] = new AmqpTimestamp(1_700_000_000),
            ["bytes"] = new AmqpByteArray([1, 2, 3]),
            ["short"] = (short)-7,
            ["float"] = 1.5f,
        },
        DeliveryMode = 2,
        Priority = 7,
        CorrelationId = "corr",
        ReplyTo = "reply",
        Expiration = "60000",
        MessageId = "id",
        Timestamp = new AmqpTimestamp(1_700_000_000),
        Type = "t",
        UserId = "guest",
        AppId = "app",
        ClusterId = "c",
    });

    private static bool ReadsWithBasicProperties(byte[] raw)
    {
        try
        {
            var reader = new AmqpReader(raw);
            BasicProperties.Read(ref reader);
            return true;
        }
        catch (AmqpFrameException)
        {
            return false;
        }
    }

    private static bool ReadsWithCodec(byte[] raw, out MessageInfo info)
    {
        try
        {
            info = AmqpContentCodec.Read(raw);
            return true;
        }
        catch (AmqpFrameException)
        {
            info = default;
            return false;
        }
    }

    [Fact]
    public void Read_AllProperties_GivesTheInfo()
    {
        Assert.Equal(new MessageInfo(true, 7, 60000), AmqpContentCodec.Read(Everything()));
    }

    [Fact]
    public void Read_EveryPrefix_FailsExactlyWhereTheDecoderFails()
    {
        byte[] whole = Everything();
        for (int length = 2; length < whole.Length; length++)
        {
            byte[] prefix = whole[..length];
            Assert.Equal(ReadsWithBasicProperties(prefix), ReadsWithCodec(prefix, out _));
        }
    }

    [Fact]
    public void Read_UnknownFieldTypeDeepInHeaders_Throws()
    {
        byte[] raw = Everything();
        // The nested table's array holds 'l' (long) first: make it an undefined type code.
        int at = Array.IndexOf(raw, (byte)'l', Array.IndexOf(raw, (byte)'A'));
        raw[at] = (byte)'?';
        Assert.False(ReadsWithBasicProperties(raw));
        Assert.Throws<AmqpFrameException>(() => AmqpContentCodec.Read(raw));
    }

    [Fact]
    public void Read_BadExpirationOrUndefinedFlags_Throws()
    {
        Assert.Throws<AmqpFrameException>(() => AmqpContentCodec.Read(Encode(new BasicProperties { Expiration = "soon" })));
        Assert.Throws<AmqpFrameException>(() => AmqpContentCodec.Read([0x00, 0x01]));
    }

    [Fact]
    public void Read_AllocatesNothing()
    {
        byte[] raw = Everything();
        AmqpContentCodec.Read(raw);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) AmqpContentCodec.Read(raw);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
