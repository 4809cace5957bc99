using System.Buffers;
using Ferry.Amqp.Framing;
using Ferry.Amqp.Methods;
using Ferry.Broker.Queues;

namespace Ferry.Amqp.Connections;

internal enum OutboundKind : byte
{
    /// <summary>Frames encoded beforehand (control methods, get-ok, return): <see cref="Outbound.Payload"/> is a byte[].</summary>
    Frames,
    /// <summary>basic.deliver + header + body, written straight from the shared message, which the item holds
    /// a reference to until then.</summary>
    Deliver,
    /// <summary>Publisher confirm basic.ack.</summary>
    Ack,
    /// <summary>Publisher confirm basic.nack.</summary>
    Nack,
    Heartbeat,
    /// <summary>Flush and stop writing (connection closing).</summary>
    Complete,
}

/// <summary>
/// One unit of output for a connection's writer. A struct in the <see cref="OutboundQueue"/>'s ring, so
/// queuing a delivery allocates nothing.
/// </summary>
internal readonly record struct Outbound(OutboundKind Kind, ushort Channel, object? Payload, string? ConsumerTag, ulong Tag, bool Flag)
{
    public static Outbound Frames(byte[] frames) => new(OutboundKind.Frames, 0, frames, null, 0, false);

    public static Outbound Deliver(ushort channel, string consumerTag, ulong tag, bool redelivered, AmqpMessage message) =>
        new(OutboundKind.Deliver, channel, message, consumerTag, tag, redelivered);

    /// <summary>Lets go of what an item that will not be written holds.</summary>
    public void Discard()
    {
        if (Kind == OutboundKind.Deliver) ((AmqpMessage)Payload!).Release();
    }
}

/// <summary>Encodes rare (non-hot-path) frames into arrays for the writer.</summary>
internal static class FrameEncoder
{
    public static byte[] Method<T>(ushort channel, in T method)
        where T : struct, IAmqpMethod<T>
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        AmqpFrameWriter.WriteMethod(buffer, channel, method);
        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] WithContent<T>(ushort channel, in T method, AmqpMessage message, uint frameMax)
        where T : struct, IAmqpMethod<T>
    {
        var buffer = new ArrayBufferWriter<byte>(128 + message.ContentLength);
        AmqpFrameWriter.WriteMethod(buffer, channel, method);
        AmqpFrameWriter.WriteContentHeader(buffer, channel, BasicProperties.ClassId, (ulong)message.BodySize, message.RawProperties);
        AmqpFrameWriter.WriteBody(buffer, channel, message.Body.Span, frameMax);
        return buffer.WrittenSpan.ToArray();
    }
}
