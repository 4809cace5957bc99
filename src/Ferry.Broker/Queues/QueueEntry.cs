namespace Ferry.Broker.Queues;

/// <summary>
/// A message's place in one queue: the shared message, its offset in the queue's log (-1 when it lives
/// in memory only), when it expires (Unix ms, <see cref="long.MaxValue"/> never) and whether it has been
/// delivered before.
/// </summary>
public readonly record struct QueueEntry(AmqpMessage Message, long Offset, long ExpiresAt, bool Redelivered)
{
    public QueueEntry AsRedelivered() => this with { Redelivered = true };
}

/// <summary>A ring-buffer deque of entries: FIFO at the tail, requeues at the head, no allocation once grown.</summary>
internal sealed class EntryDeque
{
    private QueueEntry[] _items = new QueueEntry[16];
    private int _head;
    private int _count;

    public int Count => _count;

    public ref readonly QueueEntry PeekHead() => ref _items[_head];

    public ref readonly QueueEntry PeekTail() => ref _items[(_head + _count - 1) % _items.Length];

    public void PushTail(in QueueEntry entry)
    {
        if (_count == _items.Length) Grow();
        _items[(_head + _count) % _items.Length] = entry;
        _count++;
    }

    public void PushHead(in QueueEntry entry)
    {
        if (_count == _items.Length) Grow();
        _head = (_head - 1 + _items.Length) % _items.Length;
        _items[_head] = entry;
        _count++;
    }

    public QueueEntry PopHead()
    {
        var entry = _items[_head];
        _items[_head] = default; // let the message go
        _head = (_head + 1) % _items.Length;
        _count--;
        return entry;
    }

    public void Clear(List<QueueEntry>? removed)
    {
        while (_count > 0)
        {
            var entry = PopHead();
            removed?.Add(entry);
        }
    }

    private void Grow()
    {
        var bigger = new QueueEntry[_items.Length * 2];
        for (int i = 0; i < _count; i++) bigger[i] = _items[(_head + i) % _items.Length];
        _items = bigger;
        _head = 0;
    }
}
