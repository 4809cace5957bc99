using System.Buffers;
using System.Text;
using Ferry.Amqp.Framing;
using Ferry.Amqp.Methods;

namespace Ferry.Amqp.Tests.Methods;

public sealed class MethodRoundTripTests
{
    [Fact]
    public void ConnectionStart_WithNestedCapabilities_RoundTrips()
    {
        var start = new ConnectionStart
        {
            ServerProperties = new Dictionary<string, object?>
            {
                ["product"] = "Ferry",
                ["version"] = "0.1.0",
                ["capabilities"] = new Dictionary<string, object?>
                {
                    ["publisher_confirms"] = true,
                    ["basic.nack"] = true,
                    ["consumer_cancel_notify"] = true,
                    ["per_consumer_qos"] = false,
                },
            },
            Mechanisms = "PLAIN AMQPLAIN",
            Locales = "en_US",
        };

        ConnectionStart decoded = TestBuffers.RoundTrip(start);

        Assert.Equal(0, decoded.VersionMajor);
        Assert.Equal(9, decoded.VersionMinor);
        Assert.Equal("PLAIN AMQPLAIN", decoded.Mechanisms);
        Assert.Equal("en_US", decoded.Locales);
        Assert.NotNull(decoded.ServerProperties);
        Assert.Equal("Ferry", Encoding.UTF8.GetString(Assert.IsType<byte[]>(decoded.ServerProperties["product"])));
        var capabilities = Assert.IsType<Dictionary<string, object?>>(decoded.ServerProperties["capabilities"]);
        Assert.Equal(true, capabilities["publisher_confirms"]);
        Assert.Equal(false, capabilities["per_consumer_qos"]);
    }

    [Fact]
    public void ConnectionStartOk_RoundTrips()
    {
        var startOk = new ConnectionStartOk
        {
            ClientProperties = new Dictionary<string, object?> { ["product"] = "RabbitMQ .NET Client" },
            Mechanism = "PLAIN",
            Response = "\0guest\0guest",
            Locale = "en_US",
        };

        ConnectionStartOk decoded = TestBuffers.RoundTrip(startOk);

        Assert.Equal("\0guest\0guest", decoded.Response);
        Assert.Equal("PLAIN", decoded.Mechanism);
    }

    [Fact]
    public void ConnectionTune_RoundTrips()
    {
        var tune = new ConnectionTune { ChannelMax = 2047, FrameMax = 131072, Heartbeat = 60 };

        Assert.Equal(tune, TestBuffers.RoundTrip(tune));
    }

    [Fact]
    public void QueueDeclare_WithXArguments_RoundTrips()
    {
        var declare = new QueueDeclare
        {
            Queue = "orders",
            Durable = true,
            Exclusive = false,
            AutoDelete = true,
            Arguments = new Dictionary<string, object?>
            {
                ["x-message-ttl"] = 60000,
                ["x-max-length"] = 1000L,
                ["x-dead-letter-exchange"] = "dlx",
                ["x-queue-type"] = "classic",
                ["x-single-active-consumer"] = true,
                ["x-max-priority"] = (byte)10,
            },
        };

        QueueDeclare decoded = TestBuffers.RoundTrip(declare);

        Assert.Equal("orders", decoded.Queue);
        Assert.False(decoded.Passive);
        Assert.True(decoded.Durable);
        Assert.False(decoded.Exclusive);
        Assert.True(decoded.AutoDelete);
        Assert.False(decoded.Nowait);
        Assert.NotNull(decoded.Arguments);
        Assert.Equal(60000, decoded.Arguments["x-message-ttl"]);
        Assert.Equal(1000L, decoded.Arguments["x-max-length"]);
        Assert.Equal("dlx"u8.ToArray(), Assert.IsType<byte[]>(decoded.Arguments["x-dead-letter-exchange"]));
        Assert.Equal(true, decoded.Arguments["x-single-active-consumer"]);
        Assert.Equal((byte)10, decoded.Arguments["x-max-priority"]);
    }

    [Fact]
    public void QueueDeclare_TruncatedTable_ThrowsSyntaxError()
    {
        byte[] frame = TestBuffers.EncodeMethodFrame(new QueueDeclare
        {
            Queue = "q",
            Arguments = new Dictionary<string, object?> { ["x-message-ttl"] = 60000 },
        });

        // Cut the last byte of the table's value, and shrink the frame size to match: the frame is well
        // formed but the table inside the method claims more than the method holds.
        byte[] truncated = [.. frame[..^2], 0xCE];
        truncated[6]--;
        var buffer = new ReadOnlySequence<byte>(truncated);
        Assert.True(AmqpFrame.TryReadFrame(ref buffer, TestBuffers.FrameMax, out _, out _, out var payload));
        byte[] bytes = payload.ToArray();

        var ex = Assert.Throws<AmqpFrameException>(() =>
        {
            var reader = new AmqpReader(bytes);
            Assert.Equal(AmqpMethodId.QueueDeclare, reader.ReadMethodId());
            QueueDeclare.Read(ref reader);
        });

        Assert.Equal(AmqpConstants.SyntaxError, ex.ReplyCode);
    }

    [Fact]
    public void BasicPublish_RoundTrips()
    {
        var publish = new BasicPublish { Exchange = "amq.topic", RoutingKey = "orders.eu.created", Mandatory = true };

        BasicPublish decoded = TestBuffers.RoundTrip(publish);

        Assert.Equal(publish, decoded);
        Assert.True(BasicPublish.HasContent);
        Assert.True(AmqpMethods.HasContent(BasicPublish.Id));
    }

    [Fact]
    public void BasicDeliver_RoundTrips()
    {
        var deliver = new BasicDeliver
        {
            ConsumerTag = "amq.ctag-1",
            DeliveryTag = ulong.MaxValue - 1,
            Redelivered = true,
            Exchange = "",
            RoutingKey = "orders",
        };

        Assert.Equal(deliver, TestBuffers.RoundTrip(deliver));
    }

    [Fact]
    public void BasicAck_Multiple_RoundTripsAsOneOctet()
    {
        var ack = new BasicAck { DeliveryTag = 42, Multiple = true };

        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 0, 42, 0x01 }, TestBuffers.EncodeArguments(ack));
        Assert.Equal(ack, TestBuffers.RoundTrip(ack));
    }

    [Fact]
    public void BasicNack_TwoBits_PackedInOneOctet()
    {
        var nack = new BasicNack { DeliveryTag = 7, Multiple = false, Requeue = true };

        byte[] arguments = TestBuffers.EncodeArguments(nack);

        Assert.Equal(9, arguments.Length);
        Assert.Equal(0b10, arguments[8]);
        Assert.Equal(nack, TestBuffers.RoundTrip(nack));
        Assert.Equal(new BasicNack { DeliveryTag = 7, Multiple = true, Requeue = false }, TestBuffers.RoundTrip(new BasicNack { DeliveryTag = 7, Multiple = true, Requeue = false }));
    }

    [Fact]
    public void ExchangeDeclare_FiveBits_PackedInOneOctet()
    {
        var declare = new ExchangeDeclare
        {
            Exchange = "events",
            Type = "topic",
            Passive = false,
            Durable = true,
            AutoDelete = false,
            Internal = true,
            Nowait = true,
            Arguments = new Dictionary<string, object?> { ["alternate-exchange"] = "ae" },
        };

        byte[] arguments = TestBuffers.EncodeArguments(declare);
        ExchangeDeclare decoded = TestBuffers.RoundTrip(declare);

        // ticket(2) | "events"(7) | "topic"(6) | bits(1) | table
        Assert.Equal(0b1_1010, arguments[2 + 7 + 6]);
        Assert.Equal("events", decoded.Exchange);
        Assert.Equal("topic", decoded.Type);
        Assert.False(decoded.Passive);
        Assert.True(decoded.Durable);
        Assert.False(decoded.AutoDelete);
        Assert.True(decoded.Internal);
        Assert.True(decoded.Nowait);
    }

    [Fact]
    public void Defaults_ComeFromTheSpec()
    {
        Assert.Equal("direct", new ExchangeDeclare().Type);
        Assert.Equal(9, new ConnectionStart().VersionMinor);
        Assert.Equal("PLAIN", new ConnectionStart().Mechanisms);
        Assert.True(new BasicReject().Requeue);
        Assert.True(new BasicNack().Requeue);
        Assert.Equal("", new BasicPublish().Exchange);
    }

    [Fact]
    public void EmptyMethods_RoundTrip()
    {
        TestBuffers.RoundTrip(new ConnectionCloseOk());
        TestBuffers.RoundTrip(new ConfirmSelectOk());
        Assert.Equal(new ConfirmSelect { Nowait = true }, TestBuffers.RoundTrip(new ConfirmSelect { Nowait = true }));
    }

    [Fact]
    public void ConnectionClose_RoundTrips()
    {
        var close = new ConnectionClose
        {
            ReplyCode = AmqpConstants.FrameError,
            ReplyText = "FRAME_ERROR - frame too large",
            FailingClassId = 60,
            FailingMethodId = 40,
        };

        Assert.Equal(close, TestBuffers.RoundTrip(close));
    }

    [Fact]
    public void AccessRequest_ReadAndWriteBits_AreRenamed()
    {
        var request = new AccessRequest { ReadAccess = false, WriteAccess = true };

        Assert.Equal(request, TestBuffers.RoundTrip(request));
    }

    [Fact]
    public void MethodIds_CombineClassAndMethod()
    {
        Assert.Equal((60u << 16) | 40u, (uint)AmqpMethodId.BasicPublish);
        Assert.Equal(AmqpMethodId.BasicPublish, AmqpMethods.GetId(BasicPublish.ClassId, BasicPublish.MethodId));
        Assert.Equal(AmqpMethodId.BasicPublish, BasicPublish.Id);
        Assert.Equal(60, AmqpMethods.GetClassId(AmqpMethodId.BasicNack));
        Assert.Equal(120, AmqpMethods.GetMethodId(AmqpMethodId.BasicNack));
        Assert.Equal("basic.publish", AmqpMethods.GetName(AmqpMethodId.BasicPublish));
        Assert.Equal("confirm.select", AmqpMethods.GetName(ConfirmSelect.Id));
        Assert.Equal("exchange.unbind-ok", AmqpMethods.GetName(AmqpMethods.GetId(40, 51)));
        Assert.True(AmqpMethods.IsSynchronous(AmqpMethodId.QueueDeclare));
        Assert.False(AmqpMethods.IsSynchronous(AmqpMethodId.BasicAck));
    }

    [Fact]
    public void MethodIds_Unknown_AreReported()
    {
        AmqpMethodId unknownMethod = AmqpMethods.GetId(60, 999);
        AmqpMethodId unknownClass = AmqpMethods.GetId(77, 10);

        Assert.False(AmqpMethods.IsKnown(unknownMethod));
        Assert.True(AmqpMethods.IsKnownClass(60));
        Assert.False(AmqpMethods.IsKnown(unknownClass));
        Assert.False(AmqpMethods.IsKnownClass(77));
        Assert.Equal("unknown(60, 999)", AmqpMethods.GetName(unknownMethod));
        Assert.Equal("basic", AmqpMethods.FindClassName(60));
        Assert.Null(AmqpMethods.FindName(unknownClass));
    }

    [Fact]
    public void Constants_ReplyCodes()
    {
        Assert.Equal(200, AmqpConstants.ReplySuccess);
        Assert.Equal(311, AmqpConstants.ContentTooLarge);
        Assert.Equal(312, AmqpConstants.NoRoute);
        Assert.Equal(313, AmqpConstants.NoConsumers);
        Assert.Equal(320, AmqpConstants.ConnectionForced);
        Assert.Equal(402, AmqpConstants.InvalidPath);
        Assert.Equal(403, AmqpConstants.AccessRefused);
        Assert.Equal(404, AmqpConstants.NotFound);
        Assert.Equal(405, AmqpConstants.ResourceLocked);
        Assert.Equal(406, AmqpConstants.PreconditionFailed);
        Assert.Equal(501, AmqpConstants.FrameError);
        Assert.Equal(502, AmqpConstants.SyntaxError);
        Assert.Equal(503, AmqpConstants.CommandInvalid);
        Assert.Equal(504, AmqpConstants.ChannelError);
        Assert.Equal(505, AmqpConstants.UnexpectedFrame);
        Assert.Equal(506, AmqpConstants.ResourceError);
        Assert.Equal(530, AmqpConstants.NotAllowed);
        Assert.Equal(540, AmqpConstants.NotImplemented);
        Assert.Equal(541, AmqpConstants.InternalError);
        Assert.Equal(206, AmqpConstants.FrameEnd);
        Assert.Equal(4096u, AmqpConstants.FrameMinSize);
        Assert.True(AmqpConstants.IsHardError(AmqpConstants.FrameError));
        Assert.True(AmqpConstants.IsSoftError(AmqpConstants.NotFound));
        Assert.False(AmqpConstants.IsHardError(AmqpConstants.ReplySuccess));
    }
}
