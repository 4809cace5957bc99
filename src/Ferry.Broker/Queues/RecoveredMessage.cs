namespace Ferry.Broker.Queues;

/// <summary>An unsettled message read back from a durable queue's store at start-up; <see cref="Delivered"/>
/// when it had been delivered (and not settled) before the restart, so it goes out marked redelivered.</summary>
internal readonly record struct RecoveredMessage(AmqpMessage Message, long Offset, long Timestamp, bool Delivered);
