using Ferry.Amqp.Connections;
using Ferry.Broker.Queues;

namespace Ferry.Amqp.Channels;

/// <summary>
/// Publisher confirms of a channel in confirm mode: each publish takes the next sequence number, and after
/// each read batch the batch's publishes are confirmed together (one basic.ack multiple) once the queue logs
/// they were written to have fsync'd them; a publish a full queue rejected is nacked.
/// </summary>
/// <remarks>
/// <para>Confirms leave in publish order. A batch with nothing to wait for, behind nothing pending, is
/// confirmed at once on the read loop. Otherwise it joins a FIFO that one pump task works through, waiting
/// for each batch's fsyncs (group commit shares them between batches) before confirming it. The FIFOs are
/// reused and the pump only starts when it is idle, so a steady stream of publishes allocates nothing here.</para>
/// <para>The read loop adds (<see cref="Published"/>, <see cref="WaitFor"/>, <see cref="EndOfBatch"/>), the
/// pump takes, on another thread: <see cref="_lock"/> guards the FIFOs and whether the pump runs.</para>
/// </remarks>
internal sealed class PublisherConfirms(AmqpConnection connection, ushort channel)
{
    private readonly Lock _lock = new();
    private readonly Queue<Batch> _batches = new();
    private readonly Queue<(AmqpQueue Queue, long End)> _waits = new();
    private readonly Queue<ulong> _nacks = new();
    private readonly List<(AmqpQueue Queue, long End)> _batchWaits = [];
    private ulong _lastSeq;
    private ulong _batchFirst;
    private bool _pumping;

    /// <summary>Sequence numbers <see cref="First"/>..<see cref="Last"/> and how many entries of the wait
    /// FIFO are theirs.</summary>
    private readonly record struct Batch(ulong First, ulong Last, int Waits);

    /// <summary>A publish was routed (<paramref name="rejected"/>: a queue refused it, so it is nacked).</summary>
    public void Published(bool rejected)
    {
        ulong seq = ++_lastSeq;
        if (_batchFirst == 0) _batchFirst = seq;
        if (rejected)
        {
            lock (_lock) _nacks.Enqueue(seq);
        }
    }

    /// <summary>The batch's confirms wait until <paramref name="queue"/>'s log is durable up to <paramref name="end"/>.</summary>
    public void WaitFor(AmqpQueue queue, long end) => _batchWaits.Extend(queue, end);

    public void EndOfBatch()
    {
        if (_batchFirst == 0) return;
        var batch = new Batch(_batchFirst, _lastSeq, _batchWaits.Count);
        _batchFirst = 0;
        bool start = false, now = false;
        lock (_lock)
        {
            if (!_pumping && _batches.Count == 0 && batch.Waits == 0)
            {
                now = true;
            }
            else
            {
                foreach (var wait in _batchWaits) _waits.Enqueue(wait);
                _batches.Enqueue(batch);
                start = !_pumping;
                _pumping = true;
            }
        }

        _batchWaits.Clear();
        if (now) Emit(batch, failed: false);
        else if (start) _ = PumpAsync();
    }

    private async Task PumpAsync()
    {
        while (true)
        {
            Batch batch;
            lock (_lock)
            {
                if (!_batches.TryPeek(out batch))
                {
                    _pumping = false;
                    return;
                }
            }

            bool failed = false;
            for (int i = 0; i < batch.Waits; i++)
            {
                (AmqpQueue Queue, long End) wait;
                lock (_lock) wait = _waits.Dequeue();
                try
                {
                    await wait.Queue.WaitForDurableAsync(wait.End).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
                {
                    failed = true; // not on disk: nack, the publisher must resend
                }
            }

            Emit(batch, failed);
            lock (_lock) _batches.Dequeue();
        }
    }

    /// <summary>Acks the batch with one basic.ack multiple, broken around its nacks (every publish of a batch
    /// whose fsync failed is nacked).</summary>
    private void Emit(in Batch batch, bool failed)
    {
        ulong from = batch.First;
        while (true)
        {
            ulong nack;
            lock (_lock)
            {
                if (!_nacks.TryPeek(out nack) || nack > batch.Last) break;
                _nacks.Dequeue();
            }

            if (failed) continue;
            if (nack > from) Ack(nack - 1, from);
            Nack(nack);
            from = nack + 1;
        }

        if (failed)
        {
            for (ulong seq = batch.First; seq <= batch.Last; seq++) Nack(seq);
        }
        else if (from <= batch.Last)
        {
            Ack(batch.Last, from);
        }
    }

    private void Ack(ulong upTo, ulong from) =>
        connection.Enqueue(new Outbound(OutboundKind.Ack, channel, null, null, upTo, upTo > from));

    private void Nack(ulong seq) => connection.Enqueue(new Outbound(OutboundKind.Nack, channel, null, null, seq, false));
}
