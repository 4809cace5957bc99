using Ferry.Storage.Segments;

namespace Ferry.Storage;

/// <summary>
/// A byte range of whole batches in one segment, as a Kafka Fetch returns it. It holds a reference on the
/// segment so that retention cannot close the file under it: dispose it once the bytes are copied.
/// </summary>
public struct LogSlice : IDisposable
{
    private LogSegment? _segment;

    internal LogSlice(LogSegment segment, long position, int length, long nextOffset)
    {
        _segment = segment;
        Position = position;
        Length = length;
        NextOffset = nextOffset;
    }

    /// <summary>The offset after the last batch in the slice: where the next read continues.</summary>
    public readonly long NextOffset { get; }

    public static LogSlice Empty => default;

    public readonly long Position { get; }

    /// <summary>Byte count: whole batches only, at least the first batch even when it exceeds the limit asked for.</summary>
    public readonly int Length { get; }

    public readonly bool IsEmpty => Length == 0;

    /// <summary>Copies the slice's bytes (file to memory, one read) into <paramref name="destination"/>.</summary>
    public readonly void CopyTo(Span<byte> destination)
    {
        if (Length == 0) return;
        var target = destination[..Length];
        int done = 0;
        while (done < target.Length)
        {
            int read = _segment!.Read(target[done..], Position + done);
            if (read == 0) throw new IOException("Segment file ended inside a published range.");
            done += read;
        }
    }

    /// <summary>Copies <paramref name="destination"/>.Length bytes starting <paramref name="offset"/> bytes into the slice.</summary>
    public readonly void CopyTo(int offset, Span<byte> destination)
    {
        if ((uint)offset > (uint)Length || destination.Length > Length - offset) throw new ArgumentOutOfRangeException(nameof(offset));
        int done = 0;
        while (done < destination.Length)
        {
            int read = _segment!.Read(destination[done..], Position + offset + done);
            if (read == 0) throw new IOException("Segment file ended inside a published range.");
            done += read;
        }
    }

    public void Dispose()
    {
        _segment?.Release();
        _segment = null;
    }
}
