using Ferry.Broker.Queues;

namespace Ferry.Amqp.Channels;

internal struct Unacked
{
    public ulong Tag;
    public AmqpQueue? Queue;
    public QueueEntry Entry;
    public ChannelConsumer? Consumer;
}

/// <summary>
/// A channel's unacknowledged deliveries in delivery-tag order. Tags only grow, so the list stays sorted:
/// a single ack is a binary search, a multiple ack a walk from the front, and settled slots at the front are
/// skipped and compacted away without shifting on every ack.
/// </summary>
internal sealed class UnackedDeliveries
{
    private readonly List<Unacked> _items = [];
    private int _head;

    public int Count { get; private set; }

    public void Add(ulong tag, AmqpQueue queue, in QueueEntry entry, ChannelConsumer? consumer)
    {
        _items.Add(new Unacked { Tag = tag, Queue = queue, Entry = entry, Consumer = consumer });
        Count++;
    }

    /// <summary>Moves the delivery with <paramref name="tag"/> (or every one up to it) into <paramref name="taken"/>;
    /// false when the tag is not outstanding.</summary>
    public bool Take(ulong tag, bool multiple, List<Unacked> taken)
    {
        if (multiple)
        {
            int before = taken.Count;
            for (int i = _head; i < _items.Count && (tag == 0 || _items[i].Tag <= tag); i++) TakeAt(i, taken);
            Compact();
            // multiple with tag 0 means "everything"; with a tag, that tag itself must have been outstanding
            // unless something was taken (RabbitMQ accepts a multiple ack up to an already-acked tag).
            return taken.Count > before || tag == 0;
        }

        int lo = _head, hi = _items.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            ulong t = _items[mid].Tag;
            if (t == tag)
            {
                if (_items[mid].Queue is null) return false;
                TakeAt(mid, taken);
                Compact();
                return true;
            }

            if (t < tag) lo = mid + 1;
            else hi = mid - 1;
        }

        return false;
    }

    public void TakeAll(List<Unacked> taken)
    {
        for (int i = _head; i < _items.Count; i++) TakeAt(i, taken);
        _items.Clear();
        _head = 0;
    }

    private void TakeAt(int index, List<Unacked> taken)
    {
        var item = _items[index];
        if (item.Queue is null) return;
        taken.Add(item);
        _items[index] = new Unacked { Tag = item.Tag };
        Count--;
    }

    private void Compact()
    {
        while (_head < _items.Count && _items[_head].Queue is null) _head++;
        if (_head == _items.Count)
        {
            _items.Clear();
            _head = 0;
        }
        else if (_head > 1024 && _head > _items.Count / 2)
        {
            _items.RemoveRange(0, _head);
            _head = 0;
        }
    }
}
