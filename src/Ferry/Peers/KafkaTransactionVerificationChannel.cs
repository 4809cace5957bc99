using Ferry.Broker.Cluster;
using Ferry.Broker.Transactions;
using Ferry.Kafka;
using Ferry.Kafka.Protocol.Messages;

namespace Ferry.Peers;

/// <summary>
/// A partition leader's KIP-890 question to the transaction coordinator on another node, as Kafka's brokers ask it:
/// AddPartitionsToTxn (API 24, v4: the batched, broker-to-broker form) with <c>verify_only</c>, on the coordinator's
/// Kafka listener, over the <see cref="KafkaPeerPool"/> (so that one slow answer does not hold up other produces).
/// </summary>
internal sealed class KafkaTransactionVerificationChannel(IClusterView cluster, PeerCredentials? credentials) : ITransactionVerificationChannel, IDisposable
{
    private const short Version = 4;
    // Shorter than a producer's request timeout (30 s by default), so that it hears a retriable refusal, not silence.
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);
    private readonly KafkaPeerPool _peers = new(cluster, "ferry-txn-verification", credentials);

    public async Task<IReadOnlyList<(TransactionPartition Partition, TransactionError Error)>> VerifyAsync(int nodeId, string transactionalId,
        long producerId, short epoch, IReadOnlyList<TransactionPartition> partitions, CancellationToken cancellationToken)
    {
        var transaction = new AddPartitionsToTxnRequest.AddPartitionsToTxnTransaction
        {
            TransactionalId = transactionalId,
            ProducerId = producerId,
            ProducerEpoch = epoch,
            VerifyOnly = true,
        };
        foreach (var topic in partitions.GroupBy(p => p.Topic))
            transaction.Topics.Add(new AddPartitionsToTxnRequest.AddPartitionsToTxnTopic { Name = topic.Key, Partitions = topic.Select(p => p.Partition).ToList() });
        if (await _peers.TrySendAsync<AddPartitionsToTxnResponse>(nodeId, ApiKeys.AddPartitionsToTxn, Version,
            new AddPartitionsToTxnRequest { Transactions = [transaction] }, RequestTimeout, cancellationToken).ConfigureAwait(false) is not { } response)
            return All(partitions, TransactionError.CoordinatorNotAvailable);
        if (response.ErrorCode != ErrorCodes.None) return All(partitions, ToTransactionError(response.ErrorCode));
        var errors = new Dictionary<TransactionPartition, short>();
        foreach (var topic in response.ResultsByTransaction.SelectMany(t => t.TopicResults))
        {
            foreach (var partition in topic.ResultsByPartition) errors[new TransactionPartition(topic.Name, partition.PartitionIndex)] = partition.PartitionErrorCode;
        }
        return partitions.Select(tp => (tp, errors.TryGetValue(tp, out short code) ? ToTransactionError(code) : TransactionError.CoordinatorNotAvailable)).ToList();
    }

    private static List<(TransactionPartition, TransactionError)> All(IReadOnlyList<TransactionPartition> partitions, TransactionError error) =>
        partitions.Select(tp => (tp, error)).ToList();

    /// <summary>The coordinator's answer back in Broker's terms; anything unexpected is a refusal the producer may retry.</summary>
    private static TransactionError ToTransactionError(short code) => code switch
    {
        ErrorCodes.None => TransactionError.None,
        ErrorCodes.InvalidTxnState => TransactionError.InvalidTxnState,
        ErrorCodes.ProducerFenced or ErrorCodes.InvalidProducerEpoch => TransactionError.ProducerFenced,
        ErrorCodes.InvalidProducerIdMapping => TransactionError.InvalidProducerIdMapping,
        ErrorCodes.NotCoordinator => TransactionError.NotCoordinator,
        ErrorCodes.CoordinatorLoadInProgress => TransactionError.CoordinatorLoadInProgress,
        ErrorCodes.ConcurrentTransactions => TransactionError.ConcurrentTransactions,
        _ => TransactionError.CoordinatorNotAvailable,
    };

    public void Dispose() => _peers.Dispose();
}
