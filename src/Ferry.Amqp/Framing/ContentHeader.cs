using System.Buffers.Binary;

namespace Ferry.Amqp.Framing;

/// <summary>
/// The payload of a content header frame (spec 4.2.6):
/// <code>
/// class-id short | weight short (0) | body-size longlong | property-flags short... | property list
/// </code>
/// <see cref="RawProperties"/> (flags and list, as received) can be stored and re-emitted unchanged
/// (<see cref="AmqpFrameWriter.WriteContentHeader(System.Buffers.IBufferWriter{byte}, ushort, ushort, ulong, ReadOnlySpan{byte})"/>)
/// or decoded with <c>BasicProperties.Read</c>/<c>Parse</c> when the broker needs a property.
/// </summary>
public readonly ref struct ContentHeader
{
    /// <summary>Class id, weight and body size.</summary>
    public const int FixedSize = 12;

    private ContentHeader(ushort classId, ulong bodySize, ReadOnlySpan<byte> rawProperties)
    {
        ClassId = classId;
        BodySize = bodySize;
        RawProperties = rawProperties;
    }

    public ushort ClassId { get; }

    public ulong BodySize { get; }

    /// <summary>Property flags and property list, a slice of the payload.</summary>
    public ReadOnlySpan<byte> RawProperties { get; }

    /// <summary>Parses a header frame's payload; shorter than the fixed part plus flags → 502 syntax-error.</summary>
    public static ContentHeader Read(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < FixedSize + 2)
        {
            AmqpFrameException.ThrowTruncated(FixedSize + 2, payload.Length);
        }

        return new ContentHeader(
            BinaryPrimitives.ReadUInt16BigEndian(payload),
            BinaryPrimitives.ReadUInt64BigEndian(payload[4..]),
            payload[FixedSize..]);
    }
}
