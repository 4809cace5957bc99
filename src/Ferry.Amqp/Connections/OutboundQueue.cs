using System.Threading.Tasks.Sources;

namespace Ferry.Amqp.Connections;

/// <summary>
/// A connection's output: any thread adds (queues delivering, the read loop, confirm pumps), one writer task
/// takes. A ring buffer reused once it has grown to the connection's working set, so that queuing a delivery
/// allocates nothing (an unbounded <c>Channel&lt;T&gt;</c> allocates a segment whenever its tail fills), and
/// a reusable wait for the writer.
/// </summary>
/// <remarks>
/// After <see cref="Complete"/> nothing more is added; what is queued can still be taken.
/// </remarks>
internal sealed class OutboundQueue : IValueTaskSource<bool>
{
    /// <summary>A ring grown past this for a burst goes back to this size once drained.</summary>
    private const int KeptCapacity = 1 << 16;

    private readonly Lock _lock = new();
    private Outbound[] _items = new Outbound[64];
    private int _head;
    private int _count;
    private bool _completed;
    private bool _waiting;
    private ManualResetValueTaskSourceCore<bool> _signal = new() { RunContinuationsAsynchronously = true };

    /// <summary>False once completed: the item is not queued.</summary>
    public bool TryWrite(in Outbound item)
    {
        lock (_lock)
        {
            if (_completed) return false;
            if (_count == _items.Length) Grow();
            _items[(_head + _count) % _items.Length] = item;
            _count++;
            if (!_waiting) return true;
            _waiting = false;
        }

        _signal.SetResult(true);
        return true;
    }

    public void Complete()
    {
        lock (_lock)
        {
            if (_completed) return;
            _completed = true;
            if (!_waiting) return;
            _waiting = false;
        }

        _signal.SetResult(false);
    }

    public bool TryRead(out Outbound item)
    {
        lock (_lock)
        {
            if (_count == 0)
            {
                item = default;
                return false;
            }

            item = _items[_head];
            _items[_head] = default; // let the message go
            _head = (_head + 1) % _items.Length;
            if (--_count == 0 && _items.Length > KeptCapacity)
            {
                _items = new Outbound[KeptCapacity];
                _head = 0;
            }

            return true;
        }
    }

    /// <summary>True when an item can be taken, false when completed and empty. One caller at a time.</summary>
    public ValueTask<bool> WaitToReadAsync()
    {
        lock (_lock)
        {
            if (_count > 0) return new ValueTask<bool>(true);
            if (_completed) return new ValueTask<bool>(false);
            _signal.Reset();
            _waiting = true;
            return new ValueTask<bool>(this, _signal.Version);
        }
    }

    private void Grow()
    {
        var bigger = new Outbound[_items.Length * 2];
        for (int i = 0; i < _count; i++) bigger[i] = _items[(_head + i) % _items.Length];
        _items = bigger;
        _head = 0;
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _signal.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _signal.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _signal.OnCompleted(continuation, state, token, flags);
}
