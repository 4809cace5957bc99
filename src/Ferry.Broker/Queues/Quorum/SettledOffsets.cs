namespace Ferry.Broker.Queues.Quorum;

/// <summary>
/// Which offsets of a quorum queue's log are done with (settled messages, and every record that is not a message):
/// a ring over [<see cref="Low"/>, ...) whose low-water mark says below which offset nothing is needed any more.
/// Used under the queue's lock; grows only with the span of offsets still open.
/// </summary>
internal sealed class SettledOffsets
{
    private bool[] _done = new bool[1024];
    private long _low;

    /// <summary>Every offset below it is done with.</summary>
    public long Low => _low;

    public void Reset(long low)
    {
        Array.Clear(_done);
        _low = low;
    }

    public void MarkDone(long offset)
    {
        if (offset < _low) return;
        if (offset - _low >= _done.Length) Grow(offset - _low + 1);
        _done[offset % _done.Length] = true;
        while (_done[_low % _done.Length])
        {
            _done[_low % _done.Length] = false;
            _low++;
        }
    }

    private void Grow(long span)
    {
        var bigger = new bool[Math.Max(_done.Length * 2, (int)Math.Min(int.MaxValue, span * 2))];
        for (long o = _low; o < _low + _done.Length; o++) bigger[o % bigger.Length] = _done[o % _done.Length];
        _done = bigger;
    }
}
