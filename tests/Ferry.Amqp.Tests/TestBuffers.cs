using System.Buffers;
using Ferry.Amqp.Framing;
using Ferry.Amqp.Methods;

namespace Ferry.Amqp.Tests;

internal static class TestBuffers
{
    public const uint FrameMax = 131072;

    /// <summary>A sequence with one segment per chunk, so parsers meet segment boundaries.</summary>
    public static ReadOnlySequence<byte> Segmented(ReadOnlySpan<byte> bytes, int chunkSize)
    {
        if (bytes.IsEmpty)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        Segment first = new(bytes[..Math.Min(chunkSize, bytes.Length)].ToArray(), 0);
        Segment last = first;
        for (int offset = chunkSize; offset < bytes.Length; offset += chunkSize)
        {
            last = last.Append(bytes[offset..Math.Min(offset + chunkSize, bytes.Length)].ToArray());
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    public static byte[] EncodeMethodFrame<T>(in T method, ushort channel = 1)
        where T : struct, IAmqpMethod<T>
    {
        var output = new ArrayBufferWriter<byte>();
        AmqpFrameWriter.WriteMethod(output, channel, method);
        return output.WrittenSpan.ToArray();
    }

    public static byte[] EncodeArguments<T>(in T method)
        where T : struct, IAmqpMethod<T>
    {
        byte[] buffer = new byte[method.GetSize()];
        var writer = new AmqpWriter(buffer);
        method.Write(ref writer);
        Assert.Equal(buffer.Length, writer.Position);
        return buffer;
    }

    /// <summary>Writes a method frame, parses it back through the frame reader, and decodes the method.</summary>
    public static T RoundTrip<T>(in T method)
        where T : struct, IAmqpMethod<T>
    {
        byte[] frame = EncodeMethodFrame(method, channel: 7);
        var buffer = Segmented(frame, 5);
        Assert.True(AmqpFrame.TryReadFrame(ref buffer, FrameMax, out FrameType type, out ushort channel, out var payload));
        Assert.True(buffer.IsEmpty);
        Assert.Equal(FrameType.Method, type);
        Assert.Equal(7, channel);
        using var contiguous = new ContiguousBuffer(payload);
        var reader = new AmqpReader(contiguous.Span);
        Assert.Equal(T.Id, reader.ReadMethodId());
        T decoded = T.Read(ref reader);
        Assert.Equal(0, reader.Remaining);

        // Decoding loses nothing: the decoded method encodes to the same bytes.
        Assert.Equal(frame, EncodeMethodFrame(decoded, channel: 7));
        return decoded;
    }

    public static byte[] EncodeTable(IDictionary<string, object?>? table)
    {
        byte[] buffer = new byte[AmqpWriter.GetTableSize(table)];
        var writer = new AmqpWriter(buffer);
        writer.WriteTable(table);
        Assert.Equal(buffer.Length, writer.Position);
        return buffer;
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
