namespace Ferry.Amqp.Framing;

/// <summary>AMQP timestamp: 64-bit POSIX time in seconds (field table type 'T', property <c>timestamp</c>).</summary>
public readonly record struct AmqpTimestamp(long UnixSeconds)
{
    public DateTimeOffset ToDateTimeOffset() => DateTimeOffset.FromUnixTimeSeconds(UnixSeconds);

    public static AmqpTimestamp FromDateTimeOffset(DateTimeOffset value) => new(value.ToUnixTimeSeconds());
}

/// <summary>
/// Field table decimal ('D'): a scale octet and a 32-bit value, value / 10^scale. Kept as the two wire fields
/// so that a table is written back exactly as it was read.
/// </summary>
public readonly record struct AmqpDecimal(byte Scale, int Value);

/// <summary>
/// Field table byte array ('x'). Long strings ('S') are read as plain <c>byte[]</c>; this wrapper keeps the
/// two types apart so that a table is written back with the type codes it arrived with.
/// </summary>
public readonly record struct AmqpByteArray(byte[] Bytes);
