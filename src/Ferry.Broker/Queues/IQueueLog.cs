namespace Ferry.Broker.Queues;

/// <summary>
/// Where a queue keeps its messages and their settlements: a classic queue's <see cref="QueueStore"/> on this node, or a
/// quorum queue's replicated partition (<see cref="Quorum.QuorumQueueLog"/>). The queue calls it under its own lock.
/// </summary>
internal interface IQueueLog
{
    /// <summary>
    /// A quorum queue's log: every message is written (persistent or not, as RabbitMQ's quorum queues do), and a
    /// message is delivered only once its publish is committed, so that no consumer sees what a failover may undo.
    /// </summary>
    bool Replicated { get; }

    long SizeInBytes { get; }

    int SegmentCount { get; }

    /// <summary>Appends one message; returns its offset. Confirmable once <see cref="WaitForDurableAsync"/> of offset + 1 completes.</summary>
    /// <exception cref="QueueLogUnavailableException">This node may not write the log now (a quorum queue's leadership moved).</exception>
    long Append(AmqpMessage message, long timestamp);

    /// <summary>Completes once every message below <paramref name="endOffset"/> is kept: fsync'd here, and for a quorum
    /// queue on a majority of its members. Faults with <see cref="QueueLogUnavailableException"/> when that cannot be promised.</summary>
    Task WaitForDurableAsync(long endOffset);

    /// <summary>Messages that left the queue for good (ack, reject, expiry, drop, purge, dead-letter).</summary>
    void Settle(ReadOnlySpan<long> offsets);

    /// <summary>First deliveries of messages, so that they come back marked redelivered after a restart.</summary>
    void MarkDelivered(ReadOnlySpan<long> offsets);

    /// <summary>Deliveries that came back (requeue, channel closed): each one's delivery count goes up by one; returns it.</summary>
    int Returned(long offset);

    ValueTask CloseAsync();

    ValueTask DeleteAsync();
}

/// <summary>A queue's log refused a write or cannot promise it: the publisher gets a nack, not a confirm.</summary>
internal sealed class QueueLogUnavailableException(string message) : Exception(message);
