using Ferry.Broker.Transactions;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// DescribeTransactions (KIP-664): each transactional id's state, producer id and epoch, timeout, start time and
/// partitions, as this node's coordinator holds them; an id it coordinates but does not know: TRANSACTIONAL_ID_NOT_FOUND.
/// </summary>
public sealed class DescribeTransactionsHandler(TransactionCoordinator transactions) : KafkaHandler<DescribeTransactionsRequest>
{
    public override short ApiKey => ApiKeys.DescribeTransactions;
    public override short MinVersion => 0;
    public override short MaxVersion => 0;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, DescribeTransactionsRequest request)
    {
        var response = new DescribeTransactionsResponse();
        foreach (var id in request.TransactionalIds)
        {
            var data = new DescribeTransactionsResponse.TransactionStateData { TransactionalId = id, ProducerId = -1, ProducerEpoch = -1, TransactionStartTimeMs = -1 };
            response.TransactionStates.Add(data);
            if (transactions.CheckCoordinator(id) is var ownership && ownership != TransactionError.None)
            {
                data.ErrorCode = TransactionErrors.ToErrorCode(ownership);
                continue;
            }
            if (transactions.Describe(id) is not { } state)
            {
                data.ErrorCode = ErrorCodes.TransactionalIdNotFound;
                continue;
            }
            data.TransactionState = TransactionStates.Name(state.State);
            data.TransactionTimeoutMs = state.TimeoutMs;
            data.TransactionStartTimeMs = state.State == TransactionState.Empty ? -1 : state.StartTimestampMs;
            data.ProducerId = state.ProducerId;
            data.ProducerEpoch = state.ProducerEpoch;
            foreach (var topic in state.Partitions.GroupBy(p => p.Topic).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                data.Topics.Add(new DescribeTransactionsResponse.TopicData
                {
                    Topic = topic.Key,
                    Partitions = topic.Select(p => p.Partition).Order().ToList(),
                });
            }
        }
        return new(response);
    }
}
