using Ferry.Broker.Security.Acls;
using Ferry.Broker.Transactions;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// EndTxn: commits or aborts the producer's transaction; answered once the decision is durable and its markers are
/// written. WRITE on the transactional id.
/// </summary>
public sealed class EndTxnHandler(TransactionCoordinator transactions, Authorizer authorizer) : KafkaHandler<EndTxnRequest>
{
    public override short ApiKey => ApiKeys.EndTxn;
    public override short MinVersion => 0;
    public override short MaxVersion => 5;

    protected override async ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, EndTxnRequest request)
    {
        if (!authorizer.Allowed(context, AclOperation.Write, AclResourceType.TransactionalId, request.TransactionalId))
        {
            return new EndTxnResponse
            {
                ErrorCode = ErrorCodes.TransactionalIdAuthorizationFailed, ProducerId = request.ProducerId, ProducerEpoch = request.ProducerEpoch,
            };
        }
        // Not cancelled with the connection: a decision taken must be carried out whoever waits for it.
        var error = await transactions.EndTransactionAsync(request.TransactionalId, request.ProducerId, request.ProducerEpoch,
            request.Committed).ConfigureAwait(false);
        return new EndTxnResponse { ErrorCode = TransactionErrors.ToErrorCode(error), ProducerId = request.ProducerId, ProducerEpoch = request.ProducerEpoch };
    }
}
