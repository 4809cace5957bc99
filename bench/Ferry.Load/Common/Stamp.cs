using System.Buffers;
using System.Buffers.Binary;

namespace Ferry.Load.Common;

/// <summary>
/// The payload layout every scenario shares: sequence number (int64 LE) | send timestamp (int64 LE,
/// <see cref="System.Diagnostics.Stopwatch"/> ticks of this process) | zero padding up to the payload size.
/// </summary>
internal readonly record struct Stamp(long Sequence, long SentTimestamp)
{
    public const int Size = 16;

    public void Write(Span<byte> payload)
    {
        BinaryPrimitives.WriteInt64LittleEndian(payload, Sequence);
        BinaryPrimitives.WriteInt64LittleEndian(payload[8..], SentTimestamp);
    }

    public static Stamp Read(ReadOnlySpan<byte> payload) =>
        new(BinaryPrimitives.ReadInt64LittleEndian(payload), BinaryPrimitives.ReadInt64LittleEndian(payload[8..]));

    public static Stamp Read(in ReadOnlySequence<byte> payload)
    {
        if (payload.FirstSpan.Length >= Size) return Read(payload.FirstSpan);
        Span<byte> head = stackalloc byte[Size];
        payload.Slice(0, Size).CopyTo(head);
        return Read(head);
    }
}
