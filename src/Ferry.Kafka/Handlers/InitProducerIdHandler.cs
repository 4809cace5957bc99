using Ferry.Broker.Topics;
using Ferry.Broker.Transactions;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// InitProducerId: an idempotent producer gets a fresh producer id at epoch 0, unique in the cluster; a transactional
/// one gets its transactional id's producer id at the next epoch from the transaction coordinator, which fences the
/// previous producer of the id and aborts the transaction it left open (KIP-98), and checks the timeout.
/// </summary>
public sealed class InitProducerIdHandler(ProducerIdAllocator producerIds, TransactionCoordinator transactions) : KafkaHandler<InitProducerIdRequest>
{
    public override short ApiKey => ApiKeys.InitProducerId;
    public override short MinVersion => 0;
    public override short MaxVersion => 5;

    protected override async ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, InitProducerIdRequest request)
    {
        if (string.IsNullOrEmpty(request.TransactionalId))
            return new InitProducerIdResponse { ProducerId = await producerIds.NextAsync().ConfigureAwait(false), ProducerEpoch = 0 };
        var (error, producerId, epoch) = await transactions.InitProducerIdAsync(request.TransactionalId, request.TransactionTimeoutMs,
            request.ProducerId, request.ProducerEpoch, context.ConnectionClosed).ConfigureAwait(false);
        return new InitProducerIdResponse { ErrorCode = TransactionErrors.ToErrorCode(error), ProducerId = producerId, ProducerEpoch = epoch };
    }
}
