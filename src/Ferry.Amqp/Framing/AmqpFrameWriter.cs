using System.Buffers;
using System.Buffers.Binary;
using Ferry.Amqp.Methods;

namespace Ferry.Amqp.Framing;

/// <summary>
/// Writes AMQP 0-9-1 frames into a pipe (any <see cref="IBufferWriter{T}"/>) with <c>GetSpan</c>/<c>Advance</c>;
/// flushing is the caller's, once per batch. Method and header frames are sized first and written into one
/// span; body frames are copied in whatever span sizes the writer hands out, so a 128 KiB body never asks
/// the pipe for one 128 KiB block.
/// </summary>
public static class AmqpFrameWriter
{
    public static void WriteProtocolHeader(IBufferWriter<byte> output) => output.Write(AmqpFrame.ProtocolHeader);

    /// <summary>A method frame: class id, method id, arguments.</summary>
    public static void WriteMethod<TMethod>(IBufferWriter<byte> output, ushort channel, in TMethod method)
        where TMethod : struct, IAmqpMethod<TMethod>
    {
        int payloadSize = 4 + method.GetSize();
        Span<byte> span = output.GetSpan(AmqpFrame.Overhead + payloadSize);
        WriteHeader(span, FrameType.Method, channel, (uint)payloadSize);
        var writer = new AmqpWriter(span.Slice(AmqpFrame.HeaderSize, payloadSize));
        AmqpMethodId id = TMethod.Id;
        writer.WriteShort(AmqpMethods.GetClassId(id));
        writer.WriteShort(AmqpMethods.GetMethodId(id));
        method.Write(ref writer);
        FinishFrame(output, span, payloadSize, writer.Position);
    }

    /// <summary>A content header frame for basic content (publish, deliver, get-ok, return).</summary>
    public static void WriteContentHeader(
        IBufferWriter<byte> output,
        ushort channel,
        ulong bodySize,
        BasicProperties? properties)
    {
        int payloadSize = ContentHeader.FixedSize + (properties?.GetSize() ?? 2);
        Span<byte> span = output.GetSpan(AmqpFrame.Overhead + payloadSize);
        WriteHeader(span, FrameType.Header, channel, (uint)payloadSize);
        var writer = new AmqpWriter(span.Slice(AmqpFrame.HeaderSize, payloadSize));
        writer.WriteShort(BasicProperties.ClassId);
        writer.WriteShort(0);
        writer.WriteLongLong(bodySize);
        if (properties is null)
        {
            writer.WriteShort(0);
        }
        else
        {
            properties.Write(ref writer);
        }

        FinishFrame(output, span, payloadSize, writer.Position);
    }

    /// <summary>
    /// A content header frame whose property flags and list are copied as given, e.g.
    /// <see cref="ContentHeader.RawProperties"/> of the frame the publisher sent.
    /// </summary>
    public static void WriteContentHeader(
        IBufferWriter<byte> output,
        ushort channel,
        ushort classId,
        ulong bodySize,
        ReadOnlySpan<byte> rawProperties)
    {
        int payloadSize = ContentHeader.FixedSize + rawProperties.Length;
        Span<byte> span = output.GetSpan(AmqpFrame.Overhead + payloadSize);
        WriteHeader(span, FrameType.Header, channel, (uint)payloadSize);
        Span<byte> payload = span.Slice(AmqpFrame.HeaderSize, payloadSize);
        BinaryPrimitives.WriteUInt16BigEndian(payload, classId);
        BinaryPrimitives.WriteUInt16BigEndian(payload[2..], 0);
        BinaryPrimitives.WriteUInt64BigEndian(payload[4..], bodySize);
        rawProperties.CopyTo(payload[ContentHeader.FixedSize..]);
        FinishFrame(output, span, payloadSize, payloadSize);
    }

    /// <summary>
    /// Body frames carrying <paramref name="body"/>, each payload at most frame-max minus 8. An empty body
    /// writes no frame (spec 4.2.6.2: a body size of zero has no body frames).
    /// </summary>
    public static void WriteBody(IBufferWriter<byte> output, ushort channel, ReadOnlySpan<byte> body, uint frameMax)
    {
        int chunkMax = GetChunkMax(frameMax);
        while (!body.IsEmpty)
        {
            int chunk = Math.Min(body.Length, chunkMax);
            WriteBodyFrame(output, channel, body[..chunk]);
            body = body[chunk..];
        }
    }

    /// <inheritdoc cref="WriteBody(IBufferWriter{byte}, ushort, ReadOnlySpan{byte}, uint)"/>
    public static void WriteBody(IBufferWriter<byte> output, ushort channel, in ReadOnlySequence<byte> body, uint frameMax)
    {
        if (body.IsSingleSegment)
        {
            WriteBody(output, channel, body.FirstSpan, frameMax);
            return;
        }

        int chunkMax = GetChunkMax(frameMax);
        ReadOnlySequence<byte> rest = body;
        while (!rest.IsEmpty)
        {
            long chunk = Math.Min(rest.Length, chunkMax);
            Span<byte> header = output.GetSpan(AmqpFrame.HeaderSize);
            WriteHeader(header, FrameType.Body, channel, (uint)chunk);
            output.Advance(AmqpFrame.HeaderSize);
            foreach (ReadOnlyMemory<byte> segment in rest.Slice(0, chunk))
            {
                Copy(output, segment.Span);
            }

            output.GetSpan(1)[0] = AmqpConstants.FrameEnd;
            output.Advance(1);
            rest = rest.Slice(chunk);
        }
    }

    /// <summary>A heartbeat frame: type 8 on channel 0, empty payload.</summary>
    public static void WriteHeartbeat(IBufferWriter<byte> output)
    {
        Span<byte> span = output.GetSpan(AmqpFrame.Overhead);
        WriteHeader(span, FrameType.Heartbeat, 0, 0);
        span[AmqpFrame.HeaderSize] = AmqpConstants.FrameEnd;
        output.Advance(AmqpFrame.Overhead);
    }

    private static void WriteBodyFrame(IBufferWriter<byte> output, ushort channel, ReadOnlySpan<byte> chunk)
    {
        Span<byte> header = output.GetSpan(AmqpFrame.HeaderSize);
        WriteHeader(header, FrameType.Body, channel, (uint)chunk.Length);
        output.Advance(AmqpFrame.HeaderSize);
        Copy(output, chunk);
        output.GetSpan(1)[0] = AmqpConstants.FrameEnd;
        output.Advance(1);
    }

    private static void Copy(IBufferWriter<byte> output, ReadOnlySpan<byte> source)
    {
        while (!source.IsEmpty)
        {
            Span<byte> destination = output.GetSpan();
            int count = Math.Min(destination.Length, source.Length);
            source[..count].CopyTo(destination);
            output.Advance(count);
            source = source[count..];
        }
    }

    private static int GetChunkMax(uint frameMax)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(frameMax, (uint)AmqpFrame.Overhead);
        return (int)Math.Min(frameMax - AmqpFrame.Overhead, int.MaxValue);
    }

    private static void WriteHeader(Span<byte> span, FrameType type, ushort channel, uint payloadSize)
    {
        span[0] = (byte)type;
        BinaryPrimitives.WriteUInt16BigEndian(span[1..], channel);
        BinaryPrimitives.WriteUInt32BigEndian(span[3..], payloadSize);
    }

    private static void FinishFrame(IBufferWriter<byte> output, Span<byte> span, int payloadSize, int written)
    {
        if (written != payloadSize)
        {
            throw new InvalidOperationException(
                $"Frame payload size computed as {payloadSize} bytes but {written} were written.");
        }

        span[AmqpFrame.HeaderSize + payloadSize] = AmqpConstants.FrameEnd;
        output.Advance(AmqpFrame.Overhead + payloadSize);
    }
}
