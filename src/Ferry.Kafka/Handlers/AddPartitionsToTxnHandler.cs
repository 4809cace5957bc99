using Ferry.Broker.Security.Acls;
using Ferry.Broker.Transactions;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// AddPartitionsToTxn: partitions join the producer's transaction, durably before the answer. v0-3 carry one
/// transaction (producers); v4+ a batch of them (brokers), each either added or, with verify_only, only checked
/// (KIP-890: a partition leader asking whether a transactional produce belongs to an open transaction).
/// Authorization as Kafka's: WRITE on the transactional id and on each topic (v0-3), a broker for the batch (v4+, <see cref="Security.KafkaAuthorization.AllowedAsPeer"/>).
/// </summary>
public sealed class AddPartitionsToTxnHandler(TransactionCoordinator transactions, Authorizer authorizer) : KafkaHandler<AddPartitionsToTxnRequest>
{
    public override short ApiKey => ApiKeys.AddPartitionsToTxn;
    public override short MinVersion => 0;
    public override short MaxVersion => 5;

    protected override async ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, AddPartitionsToTxnRequest request)
    {
        var response = new AddPartitionsToTxnResponse();
        if (context.ApiVersion <= 3)
        {
            response.ResultsByTopicV3AndBelow = await AddAsync(context, request.V3AndBelowTransactionalId, request.V3AndBelowProducerId,
                request.V3AndBelowProducerEpoch, verifyOnly: false, request.V3AndBelowTopics, context.ConnectionClosed).ConfigureAwait(false);
            return response;
        }
        if (!authorizer.AllowedAsPeer(context))
        {
            response.ErrorCode = ErrorCodes.ClusterAuthorizationFailed;
            return response;
        }
        foreach (var transaction in request.Transactions)
        {
            response.ResultsByTransaction.Add(new AddPartitionsToTxnResponse.AddPartitionsToTxnResult
            {
                TransactionalId = transaction.TransactionalId,
                TopicResults = await AddAsync(context, transaction.TransactionalId, transaction.ProducerId, transaction.ProducerEpoch,
                    transaction.VerifyOnly, transaction.Topics, context.ConnectionClosed).ConfigureAwait(false),
            });
        }
        return response;
    }

    private async Task<List<AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult>> AddAsync(KafkaRequestContext context, string transactionalId,
        long producerId, short epoch, bool verifyOnly, List<AddPartitionsToTxnRequest.AddPartitionsToTxnTopic> topics, CancellationToken cancellationToken)
    {
        var partitions = topics.SelectMany(t => t.Partitions.Select(p => new TransactionPartition(t.Name, p))).ToList();
        if (!verifyOnly && !authorizer.Allowed(context, AclOperation.Write, AclResourceType.TransactionalId, transactionalId))
            return ToResults(partitions.Select(p => (p, ErrorCodes.TransactionalIdAuthorizationFailed)));
        var denied = verifyOnly ? [] : topics.Select(t => t.Name).Where(name => !authorizer.Allowed(context, AclOperation.Write, AclResourceType.Topic, name))
            .ToHashSet(StringComparer.Ordinal);
        if (denied.Count > 0)
        {
            // As Kafka: the denied topics fail, the others are not attempted.
            return ToResults(partitions.Select(p => (p, denied.Contains(p.Topic) ? ErrorCodes.TopicAuthorizationFailed : ErrorCodes.OperationNotAttempted)));
        }
        IReadOnlyList<(TransactionPartition Partition, TransactionError Error)> results = verifyOnly
            ? partitions.Select(p => (p, transactions.VerifyPartition(transactionalId, producerId, epoch, p.Topic, p.Partition))).ToList()
            : await transactions.AddPartitionsAsync(transactionalId, producerId, epoch, partitions, cancellationToken).ConfigureAwait(false);
        return ToResults(results.Select(r => (r.Partition, TransactionErrors.ToErrorCode(r.Error))));
    }

    private static List<AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult> ToResults(IEnumerable<(TransactionPartition Partition, short Error)> results) =>
        results.GroupBy(r => r.Partition.Topic).Select(g => new AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult
        {
            Name = g.Key,
            ResultsByPartition = g.Select(r => new AddPartitionsToTxnResponse.AddPartitionsToTxnPartitionResult
            {
                PartitionIndex = r.Partition.Partition,
                PartitionErrorCode = r.Error,
            }).ToList(),
        }).ToList();
}
