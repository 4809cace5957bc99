using Ferry.Broker.Queues;

namespace Ferry.Amqp.Channels;

/// <summary>A basic.consume subscription: the queue pushes to it, it forwards to its channel.</summary>
internal sealed class ChannelConsumer(AmqpChannel channel, AmqpQueue queue, string tag, bool noAck, bool exclusive, ushort prefetch, int priority)
    : QueueConsumer(tag, noAck, exclusive, priority)
{
    /// <summary>Unacknowledged deliveries to this consumer, changed under the channel's lock.</summary>
    internal int Unacked;

    public AmqpQueue Queue { get; } = queue;

    /// <summary>basic.qos prefetch_count in force when the consumer was created (0: unlimited).</summary>
    public ushort Prefetch { get; } = prefetch;

    public override bool HasCredit => channel.HasCredit(this);

    public override void Deliver(AmqpQueue queue, in QueueEntry entry) => channel.Deliver(this, queue, entry);

    public override void OnQueueDeleted(AmqpQueue queue) => channel.OnQueueDeleted(this);
}
