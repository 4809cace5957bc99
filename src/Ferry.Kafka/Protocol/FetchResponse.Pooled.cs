using System.Buffers;

namespace Ferry.Kafka.Protocol.Messages;

/// <summary>
/// A fetch response's records point into one pooled buffer holding the bytes read from the logs; the
/// connection disposes the response once it is written, returning the buffer.
/// </summary>
public sealed partial class FetchResponse : IDisposable
{
    private byte[]? _recordBuffer;

    internal void AttachRecordBuffer(byte[] buffer) => _recordBuffer = buffer;

    public void Dispose()
    {
        if (_recordBuffer is { } buffer) ArrayPool<byte>.Shared.Return(buffer);
        _recordBuffer = null;
    }
}
