using System.Buffers;

namespace Ferry.Amqp.Framing;

/// <summary>
/// A frame payload as one span for <see cref="AmqpReader"/>: the pipe's own memory when the payload lies in
/// one segment (the common case), else a copy in a buffer rented from <see cref="ArrayPool{T}.Shared"/>
/// and returned by <see cref="Dispose"/>. The payload is at most frame-max, which bounds the rental.
/// </summary>
public ref struct ContiguousBuffer
{
    private byte[]? _rented;

    public ContiguousBuffer(in ReadOnlySequence<byte> sequence)
    {
        if (sequence.IsSingleSegment)
        {
            Span = sequence.FirstSpan;
            return;
        }

        int length = checked((int)sequence.Length);
        _rented = ArrayPool<byte>.Shared.Rent(length);
        sequence.CopyTo(_rented);
        Span = _rented.AsSpan(0, length);
    }

    public ReadOnlySpan<byte> Span { get; }

    public void Dispose()
    {
        if (_rented is not null)
        {
            ArrayPool<byte>.Shared.Return(_rented);
            _rented = null;
        }
    }
}
