using Ferry.Broker.Transactions;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// AddPartitionsToTxn: partitions join the producer's transaction, durably before the answer. v0-3 carry one
/// transaction (producers); v4+ a batch of them (brokers), each either added or, with verify_only, only checked
/// (KIP-890: a partition leader asking whether a transactional produce belongs to an open transaction).
/// </summary>
public sealed class AddPartitionsToTxnHandler(TransactionCoordinator transactions) : KafkaHandler<AddPartitionsToTxnRequest>
{
    public override short ApiKey => ApiKeys.AddPartitionsToTxn;
    public override short MinVersion => 0;
    public override short MaxVersion => 5;

    protected override async ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, AddPartitionsToTxnRequest request)
    {
        var response = new AddPartitionsToTxnResponse();
        if (context.ApiVersion <= 3)
        {
            response.ResultsByTopicV3AndBelow = await AddAsync(request.V3AndBelowTransactionalId, request.V3AndBelowProducerId,
                request.V3AndBelowProducerEpoch, verifyOnly: false, request.V3AndBelowTopics, context.ConnectionClosed).ConfigureAwait(false);
            return response;
        }
        foreach (var transaction in request.Transactions)
        {
            response.ResultsByTransaction.Add(new AddPartitionsToTxnResponse.AddPartitionsToTxnResult
            {
                TransactionalId = transaction.TransactionalId,
                TopicResults = await AddAsync(transaction.TransactionalId, transaction.ProducerId, transaction.ProducerEpoch,
                    transaction.VerifyOnly, transaction.Topics, context.ConnectionClosed).ConfigureAwait(false),
            });
        }
        return response;
    }

    private async Task<List<AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult>> AddAsync(string transactionalId, long producerId,
        short epoch, bool verifyOnly, List<AddPartitionsToTxnRequest.AddPartitionsToTxnTopic> topics, CancellationToken cancellationToken)
    {
        var partitions = topics.SelectMany(t => t.Partitions.Select(p => new TransactionPartition(t.Name, p))).ToList();
        IReadOnlyList<(TransactionPartition Partition, TransactionError Error)> results = verifyOnly
            ? partitions.Select(p => (p, transactions.VerifyPartition(transactionalId, producerId, epoch, p.Topic, p.Partition))).ToList()
            : await transactions.AddPartitionsAsync(transactionalId, producerId, epoch, partitions, cancellationToken).ConfigureAwait(false);
        return results.GroupBy(r => r.Partition.Topic).Select(g => new AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult
        {
            Name = g.Key,
            ResultsByPartition = g.Select(r => new AddPartitionsToTxnResponse.AddPartitionsToTxnPartitionResult
            {
                PartitionIndex = r.Partition.Partition,
                PartitionErrorCode = TransactionErrors.ToErrorCode(r.Error),
            }).ToList(),
        }).ToList();
    }
}
