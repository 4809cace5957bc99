namespace Ferry.Broker.Queues;

/// <summary>
/// A subscriber a queue pushes to (an AMQP channel's consumer). The queue calls <see cref="HasCredit"/> and
/// <see cref="Deliver"/> under its own lock: implementations may take their own (channel) lock inside, but
/// must never call back into a queue from there, which keeps the lock order queue → channel.
/// </summary>
public abstract class QueueConsumer
{
    protected QueueConsumer(string tag, bool noAck, bool exclusive, int priority = 0)
    {
        Tag = tag;
        NoAck = noAck;
        Exclusive = exclusive;
        Priority = priority;
    }

    public string Tag { get; }

    public bool NoAck { get; }

    public bool Exclusive { get; }

    /// <summary>basic.consume's <c>x-priority</c> (RabbitMQ consumer priorities): higher goes first while it has credit.</summary>
    public int Priority { get; }

    /// <summary>Whether a delivery now would stay within prefetch (and the channel's flow).</summary>
    public abstract bool HasCredit { get; }

    public abstract void Deliver(AmqpQueue queue, in QueueEntry entry);

    /// <summary>The queue was deleted under the consumer: basic.cancel to the client.</summary>
    public abstract void OnQueueDeleted(AmqpQueue queue);
}
