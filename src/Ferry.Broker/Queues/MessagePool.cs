using System.Numerics;

namespace Ferry.Broker.Queues;

/// <summary>
/// Messages (object and content buffer together) for reuse, so that a message moved through a queue costs
/// no allocation once the pool holds as many as are in flight. Buffers come in size classes a quarter of a
/// power of two apart (at most 25% unused); contents above <see cref="MaxPooledLength"/> get an array of
/// their own that the garbage collector takes back. What the pool keeps idle is bounded in bytes.
/// </summary>
/// <remarks>
/// Rented on a publisher's read loop and returned wherever the last holder lets go (a consumer's ack, a
/// connection's writer, a TTL timer): each size class is a stack behind its own lock, held for a push or a pop.
/// </remarks>
public sealed class MessagePool
{
    /// <summary>Largest content (properties and body) that is pooled.</summary>
    public const int MaxPooledLength = 64 * 1024;

    private const int SmallestClass = 64;

    private readonly Bucket[] _buckets = new Bucket[ClassOf(MaxPooledLength) + 1];
    private readonly long _idleLimit;
    private long _idleBytes;
    private long _rented;
    private long _returned;

    /// <param name="idleLimitBytes">How many buffer bytes the pool keeps for reuse at most.</param>
    public MessagePool(long idleLimitBytes)
    {
        _idleLimit = idleLimitBytes;
        for (int i = 0; i < _buckets.Length; i++) _buckets[i] = new Bucket();
    }

    /// <summary>Messages rented and not yet released by their last holder.</summary>
    public long Outstanding => Interlocked.Read(ref _rented) - Interlocked.Read(ref _returned);

    /// <summary>A message with one reference (the caller's) and room for the content, which the caller
    /// fills in through <see cref="AmqpMessage.WritableContent"/>.</summary>
    public AmqpMessage Rent(string exchange, string routingKey, int propertiesLength, int bodySize, MessageInfo info)
    {
        int length = checked(propertiesLength + bodySize);
        AmqpMessage? message = null;
        if (length <= MaxPooledLength)
        {
            int size = ClassOf(length);
            message = _buckets[size].TryPop();
            if (message is null) message = new AmqpMessage(this, new byte[SizeOf(size)]);
            else Interlocked.Add(ref _idleBytes, -message.Capacity);
        }

        message ??= new AmqpMessage(this, new byte[length]);
        message.Reset(exchange, routingKey, length, propertiesLength, info);
        Interlocked.Increment(ref _rented);
        return message;
    }

    internal void Return(AmqpMessage message)
    {
        Interlocked.Increment(ref _returned);
        int capacity = message.Capacity;
        if (capacity > MaxPooledLength) return;
        if (Interlocked.Add(ref _idleBytes, capacity) > _idleLimit)
        {
            Interlocked.Add(ref _idleBytes, -capacity);
            return;
        }

        message.Clear();
        _buckets[ClassOf(capacity)].Push(message);
    }

    /// <summary>Size classes: 64, then four steps per power of two (80, 96, 112, 128, 160, ...).</summary>
    internal static int ClassOf(int length)
    {
        if (length <= SmallestClass) return 0;
        int log = BitOperations.Log2((uint)(length - 1));
        int quarter = (length - 1) >> (log - 2); // 4..7
        return 1 + ((log - 6) * 4) + (quarter - 4);
    }

    internal static int SizeOf(int sizeClass)
    {
        if (sizeClass == 0) return SmallestClass;
        int log = ((sizeClass - 1) / 4) + 6;
        int quarter = ((sizeClass - 1) % 4) + 4;
        return (quarter + 1) << (log - 2);
    }

    private sealed class Bucket
    {
        private readonly Lock _lock = new();
        private readonly Stack<AmqpMessage> _items = new();

        public AmqpMessage? TryPop()
        {
            lock (_lock) return _items.TryPop(out var message) ? message : null;
        }

        public void Push(AmqpMessage message)
        {
            lock (_lock) _items.Push(message);
        }
    }
}
