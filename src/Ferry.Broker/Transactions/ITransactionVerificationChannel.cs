namespace Ferry.Broker.Transactions;

/// <summary>
/// A partition leader's question to the transaction coordinator on another node (KIP-890 part 1): is each partition
/// in the producer's open transaction, at this producer id and epoch? Kafka's AddPartitionsToTxn v4+ with
/// <c>verify_only</c>, from broker to broker. Broker owns the interface; the host implements it over the peers'
/// Kafka listeners. A single node has none: its coordinator is asked in-process.
/// </summary>
public interface ITransactionVerificationChannel
{
    /// <summary>One answer per partition; a node that cannot be reached answers <see cref="TransactionError.CoordinatorNotAvailable"/> for all.</summary>
    Task<IReadOnlyList<(TransactionPartition Partition, TransactionError Error)>> VerifyAsync(int nodeId, string transactionalId, long producerId,
        short epoch, IReadOnlyList<TransactionPartition> partitions, CancellationToken cancellationToken);
}
