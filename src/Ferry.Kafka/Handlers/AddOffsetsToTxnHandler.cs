using Ferry.Broker.Transactions;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>AddOffsetsToTxn: the consumer group joins the transaction (SendOffsetsToTransaction's first step).</summary>
public sealed class AddOffsetsToTxnHandler(TransactionCoordinator transactions) : KafkaHandler<AddOffsetsToTxnRequest>
{
    public override short ApiKey => ApiKeys.AddOffsetsToTxn;
    public override short MinVersion => 0;
    public override short MaxVersion => 4;

    protected override async ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, AddOffsetsToTxnRequest request)
    {
        var error = request.GroupId.Length == 0
            ? ErrorCodes.InvalidGroupId
            : TransactionErrors.ToErrorCode(await transactions.AddOffsetsAsync(request.TransactionalId, request.ProducerId, request.ProducerEpoch,
                request.GroupId, context.ConnectionClosed).ConfigureAwait(false));
        return new AddOffsetsToTxnResponse { ErrorCode = error };
    }
}
