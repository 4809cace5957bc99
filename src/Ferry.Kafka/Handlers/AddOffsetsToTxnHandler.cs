using Ferry.Broker.Security.Acls;
using Ferry.Broker.Transactions;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// AddOffsetsToTxn: the consumer group joins the transaction (SendOffsetsToTransaction's first step); WRITE on the
/// transactional id and READ on the group, as Kafka requires.
/// </summary>
public sealed class AddOffsetsToTxnHandler(TransactionCoordinator transactions, Authorizer authorizer) : KafkaHandler<AddOffsetsToTxnRequest>
{
    public override short ApiKey => ApiKeys.AddOffsetsToTxn;
    public override short MinVersion => 0;
    public override short MaxVersion => 4;

    protected override async ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, AddOffsetsToTxnRequest request)
    {
        if (!authorizer.Allowed(context, AclOperation.Write, AclResourceType.TransactionalId, request.TransactionalId))
            return new AddOffsetsToTxnResponse { ErrorCode = ErrorCodes.TransactionalIdAuthorizationFailed };
        if (!authorizer.Allowed(context, AclOperation.Read, AclResourceType.Group, request.GroupId))
            return new AddOffsetsToTxnResponse { ErrorCode = ErrorCodes.GroupAuthorizationFailed };
        var error = request.GroupId.Length == 0
            ? ErrorCodes.InvalidGroupId
            : TransactionErrors.ToErrorCode(await transactions.AddOffsetsAsync(request.TransactionalId, request.ProducerId, request.ProducerEpoch,
                request.GroupId, context.ConnectionClosed).ConfigureAwait(false));
        return new AddOffsetsToTxnResponse { ErrorCode = error };
    }
}
