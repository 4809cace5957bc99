using System.Collections;

namespace Ferry.Load.Amqp;

/// <summary>
/// Publisher confirms by delivery tag (1, 2, 3... in publish order on the channel), with at most
/// <c>limit</c> unconfirmed. A basic.ack or basic.nack with multiple set settles every tag up to its own
/// that is not settled yet; the count of newly settled tags is what the publisher may send again.
/// </summary>
internal sealed class ConfirmWindow(int limit) : IDisposable
{
    private readonly BitArray _settled = new(1 << 26);
    private readonly SemaphoreSlim _slots = new(limit, limit);
    private readonly Lock _lock = new();
    private long _lowestUnsettled = 1;

    public void Dispose() => _slots.Dispose();

    public ValueTask WaitForSlotAsync(CancellationToken cancellationToken) =>
        _slots.Wait(0, cancellationToken) ? ValueTask.CompletedTask : new ValueTask(_slots.WaitAsync(cancellationToken));

    public long Settle(ulong deliveryTag, bool multiple)
    {
        long newly = 0;
        lock (_lock)
        {
            long tag = (long)deliveryTag;
            if (tag >= _settled.Length) throw new InvalidOperationException($"delivery tag {tag} beyond the window's range");
            long from = multiple ? _lowestUnsettled : tag;
            for (long t = from; t <= tag; t++)
            {
                if (_settled[(int)t]) continue;
                _settled[(int)t] = true;
                newly++;
            }
            while (_lowestUnsettled < _settled.Length && _settled[(int)_lowestUnsettled]) _lowestUnsettled++;
        }
        if (newly > 0) _slots.Release((int)newly);
        return newly;
    }
}
