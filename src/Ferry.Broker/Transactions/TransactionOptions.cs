namespace Ferry.Broker.Transactions;

/// <summary>Settings of the transaction coordinator (host section <c>Transactions</c>), with Kafka's names and defaults.</summary>
public sealed record TransactionOptions
{
    /// <summary>Largest transaction.timeout.ms a producer may ask for, ms (transaction.max.timeout.ms, 900000).</summary>
    public int MaxTimeoutMs { get; init; } = 900_000;

    /// <summary>
    /// How often open transactions past their timeout are aborted and unfinished markers retried, ms
    /// (transaction.abort.timed.out.transaction.cleanup.interval.ms, 10000).
    /// </summary>
    public int AbortTimedOutTransactionCleanupIntervalMs { get; init; } = 10_000;

    /// <summary>A transactional id idle this long (no transaction open) is forgotten, ms (transactional.id.expiration.ms, 7 days).</summary>
    public long TransactionalIdExpirationMs { get; init; } = 7L * 24 * 60 * 60 * 1000;

    /// <summary>
    /// Partitions of <c>__transaction_state</c> when it is created (transaction.state.log.num.partitions; Kafka's 50,
    /// Ferry's <see cref="TransactionStateTopic.DefaultPartitions"/>). Changing it later does not re-partition the topic.
    /// </summary>
    public int StateLogPartitions { get; init; } = TransactionStateTopic.DefaultPartitions;
}
