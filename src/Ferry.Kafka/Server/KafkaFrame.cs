using System.Buffers;
using Ferry.Kafka.Protocol;

namespace Ferry.Kafka.Server;

/// <summary>
/// Kafka's framing: <c>Size int32 | ApiKey int16 | ApiVersion int16 | CorrelationId int32 | ...</c>. The size is
/// checked against the limit before anything waits for or allocates the frame.
/// </summary>
public static class KafkaFrame
{
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, int maxSize, out ReadOnlySequence<byte> frame)
    {
        frame = default;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryReadBigEndian(out int size)) return false;
        if (size < 8 || size > maxSize) KafkaProtocolException.ThrowFrameTooLarge(size, maxSize);
        if (reader.Remaining < size) return false;
        frame = buffer.Slice(reader.Position, size);
        buffer = buffer.Slice(frame.End);
        return true;
    }
}
