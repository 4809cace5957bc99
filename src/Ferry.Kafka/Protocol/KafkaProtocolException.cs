using System.Diagnostics.CodeAnalysis;

namespace Ferry.Kafka.Protocol;

/// <summary>
/// Malformed Kafka wire data (truncated, negative or oversized lengths, bad varints), or a value that
/// cannot be encoded in the requested version. The connection answers with a protocol error and closes.
/// </summary>
public sealed class KafkaProtocolException : Exception
{
    public KafkaProtocolException(string message)
        : base(message)
    {
    }

    public KafkaProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    [DoesNotReturn]
    public static void ThrowTruncated(int needed, int remaining) =>
        throw new KafkaProtocolException($"Truncated input: needed {needed} bytes, {remaining} remaining.");

    [DoesNotReturn]
    public static void ThrowNegativeLength(string what, long length) =>
        throw new KafkaProtocolException($"Invalid {what} length {length}.");

    [DoesNotReturn]
    public static void ThrowLengthExceedsRemaining(string what, long length, int remaining) =>
        throw new KafkaProtocolException($"{what} length {length} exceeds the {remaining} bytes remaining.");

    [DoesNotReturn]
    public static void ThrowVarintTooLong() =>
        throw new KafkaProtocolException("Varint is too long.");

    [DoesNotReturn]
    public static void ThrowTaggedFieldSizeMismatch(int expectedEnd, int actualEnd) =>
        throw new KafkaProtocolException(
            $"Tagged field ended at offset {actualEnd}, its size said {expectedEnd}.");

    [DoesNotReturn]
    public static void ThrowNullValue(string field) =>
        throw new KafkaProtocolException($"Field {field} is null but not nullable in this version.");

    [DoesNotReturn]
    public static void ThrowValueTooLong(string what, int length, int max) =>
        throw new KafkaProtocolException($"{what} of {length} bytes exceeds the maximum of {max}.");

    [DoesNotReturn]
    public static void ThrowUnsupportedVersion(string message, short version) =>
        throw new KafkaProtocolException($"{message} version {version} is not supported.");

    [DoesNotReturn]
    public static void ThrowFrameTooLarge(int size, int max) =>
        throw new KafkaProtocolException($"Frame size {size} is negative or exceeds the maximum of {max}.");
}
