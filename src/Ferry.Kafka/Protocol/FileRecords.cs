using System.Buffers;
using Ferry.Storage;

namespace Ferry.Kafka.Protocol;

/// <summary>
/// The records of a fetch response, still in the log file: a <see cref="Memory{T}"/> of the slice's length that
/// is never materialised. <see cref="KafkaWriter"/> recognises it and reads the file straight into the
/// connection's output buffer, so fetched bytes go from the page cache to the socket buffer with one copy and
/// no intermediate array.
/// </summary>
public sealed class FileRecords : MemoryManager<byte>
{
    private const int ChunkSize = 64 * 1024;
    private LogSlice _slice;

    public FileRecords(LogSlice slice) => _slice = slice;

    public int Length => _slice.Length;

    /// <summary>The offset after the last batch in these records.</summary>
    public long NextOffset => _slice.NextOffset;

    /// <summary>Writes the slice's bytes into <paramref name="output"/> in chunks of its own buffers.</summary>
    public void CopyTo(IBufferWriter<byte> output)
    {
        int done = 0;
        while (done < _slice.Length)
        {
            var span = output.GetSpan(Math.Min(ChunkSize, _slice.Length - done));
            int chunk = Math.Min(span.Length, _slice.Length - done);
            _slice.CopyTo(done, span[..chunk]);
            output.Advance(chunk);
            done += chunk;
        }
    }

    public override Span<byte> GetSpan() =>
        throw new NotSupportedException("File records are written by KafkaWriter straight from the file, never materialised.");

    public override Memory<byte> Memory => CreateMemory(_slice.Length);

    public override MemoryHandle Pin(int elementIndex = 0) => throw new NotSupportedException();

    public override void Unpin()
    {
    }

    /// <summary>Releases the segment reference the slice holds.</summary>
    protected override void Dispose(bool disposing) => _slice.Dispose();
}
