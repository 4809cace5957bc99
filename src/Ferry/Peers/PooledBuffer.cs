using System.Buffers;

namespace Ferry.Peers;

/// <summary>
/// An array rented from the shared pool, given back once (a second dispose does nothing, so the owner of a response
/// that points into it can pass it on without counting who disposes).
/// </summary>
internal sealed class PooledBuffer(byte[] array) : IDisposable
{
    private byte[]? _array = array;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _array, null) is { } array) ArrayPool<byte>.Shared.Return(array);
    }
}
