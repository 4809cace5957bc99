using Ferry.Broker.Security.Acls;
using Ferry.Broker.Topics;
using Ferry.Broker.Transactions;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// InitProducerId: an idempotent producer gets a fresh producer id at epoch 0, unique in the cluster; a transactional
/// one gets its transactional id's producer id at the next epoch from the transaction coordinator, which fences the
/// previous producer of the id and aborts the transaction it left open (KIP-98), and checks the timeout.
/// </summary>
public sealed class InitProducerIdHandler(ProducerIdAllocator producerIds, TransactionCoordinator transactions, Authorizer authorizer) : KafkaHandler<InitProducerIdRequest>
{
    public override short ApiKey => ApiKeys.InitProducerId;
    public override short MinVersion => 0;
    public override short MaxVersion => 5;

    protected override async ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, InitProducerIdRequest request)
    {
        // KIP-679: an idempotent producer needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic.
        if (string.IsNullOrEmpty(request.TransactionalId) && !authorizer.AllowedOnCluster(context, AclOperation.IdempotentWrite)
            && !authorizer.AllowedOnAny(context, AclOperation.Write, AclResourceType.Topic))
            return new InitProducerIdResponse { ErrorCode = ErrorCodes.ClusterAuthorizationFailed, ProducerId = -1, ProducerEpoch = -1 };
        if (!string.IsNullOrEmpty(request.TransactionalId) && !authorizer.Allowed(context, AclOperation.Write, AclResourceType.TransactionalId, request.TransactionalId))
            return new InitProducerIdResponse { ErrorCode = ErrorCodes.TransactionalIdAuthorizationFailed, ProducerId = -1, ProducerEpoch = -1 };
        if (string.IsNullOrEmpty(request.TransactionalId))
            return new InitProducerIdResponse { ProducerId = await producerIds.NextAsync().ConfigureAwait(false), ProducerEpoch = 0 };
        var (error, producerId, epoch) = await transactions.InitProducerIdAsync(request.TransactionalId, request.TransactionTimeoutMs,
            request.ProducerId, request.ProducerEpoch, context.ConnectionClosed).ConfigureAwait(false);
        return new InitProducerIdResponse { ErrorCode = TransactionErrors.ToErrorCode(error), ProducerId = producerId, ProducerEpoch = epoch };
    }
}
