namespace Ferry.Broker.Transactions;

/// <summary>One topic partition in a transaction.</summary>
public readonly record struct TransactionPartition(string Topic, int Partition);

/// <summary>
/// One transactional id's state as the coordinator keeps it and the transaction log stores it (Kafka's
/// <c>TransactionMetadata</c>). Immutable: each transition makes a new one, written to the log before it replaces
/// the old one in memory, so readers never see a state that is not durable.
/// </summary>
public sealed record TransactionMetadata(
    string TransactionalId,
    long ProducerId,
    short ProducerEpoch,
    short LastProducerEpoch,
    int TimeoutMs,
    TransactionState State,
    IReadOnlySet<TransactionPartition> Partitions,
    IReadOnlySet<string> Groups,
    long StartTimestampMs,
    long LastUpdateTimestampMs)
{
    public static readonly IReadOnlySet<TransactionPartition> NoPartitions = new HashSet<TransactionPartition>();
    public static readonly IReadOnlySet<string> NoGroups = new HashSet<string>();
}
