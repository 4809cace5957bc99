using Ferry.Broker.Queues;

namespace Ferry.Amqp.Channels;

/// <summary>
/// What a set of publishes must wait for before it is answered (confirms, tx.commit-ok): per queue written
/// to, the log offset that must be durable. A few queues at most, so a list searched in place.
/// </summary>
internal static class DurableWaits
{
    /// <summary>Adds <paramref name="queue"/> up to <paramref name="end"/>, or moves its existing end further.</summary>
    public static void Extend(this List<(AmqpQueue Queue, long End)> waits, AmqpQueue queue, long end)
    {
        for (int i = 0; i < waits.Count; i++)
        {
            if (ReferenceEquals(waits[i].Queue, queue))
            {
                waits[i] = (queue, Math.Max(end, waits[i].End));
                return;
            }
        }
        waits.Add((queue, end));
    }
}
