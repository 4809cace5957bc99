using Ferry.Amqp.Framing;
using Ferry.Amqp.Methods;

namespace Ferry.Fuzz.Targets;

/// <summary>
/// One method frame's payload, as AmqpConnection and AmqpChannel read it: class and method id, then the
/// arguments through the generated codec of that method (every method of the 0-9-1 definition, those only a
/// server sends included: a client can send them too).
/// </summary>
/// <remarks>AmqpFrameException (502 syntax-error, 503 command-invalid) closes the connection in the broker.</remarks>
internal sealed class AmqpMethodTarget : IFuzzTarget
{
    public string Name => "amqp-method";

    public long AllocationAllowance => 64 * 1024;

    public void Run(ReadOnlySpan<byte> input)
    {
        try
        {
            Read(input);
        }
        catch (AmqpFrameException)
        {
        }
    }

    /// <summary>Reads one method payload.</summary>
    public static void Read(ReadOnlySpan<byte> payload)
    {
        var reader = new AmqpReader(payload);
        switch (reader.ReadMethodId())
        {
            case AmqpMethodId.ConnectionStart: ConnectionStart.Read(ref reader); break;
            case AmqpMethodId.ConnectionStartOk: ConnectionStartOk.Read(ref reader); break;
            case AmqpMethodId.ConnectionSecure: ConnectionSecure.Read(ref reader); break;
            case AmqpMethodId.ConnectionSecureOk: ConnectionSecureOk.Read(ref reader); break;
            case AmqpMethodId.ConnectionTune: ConnectionTune.Read(ref reader); break;
            case AmqpMethodId.ConnectionTuneOk: ConnectionTuneOk.Read(ref reader); break;
            case AmqpMethodId.ConnectionOpen: ConnectionOpen.Read(ref reader); break;
            case AmqpMethodId.ConnectionOpenOk: ConnectionOpenOk.Read(ref reader); break;
            case AmqpMethodId.ConnectionClose: ConnectionClose.Read(ref reader); break;
            case AmqpMethodId.ConnectionCloseOk: ConnectionCloseOk.Read(ref reader); break;
            case AmqpMethodId.ConnectionBlocked: ConnectionBlocked.Read(ref reader); break;
            case AmqpMethodId.ConnectionUnblocked: ConnectionUnblocked.Read(ref reader); break;
            case AmqpMethodId.ConnectionUpdateSecret: ConnectionUpdateSecret.Read(ref reader); break;
            case AmqpMethodId.ConnectionUpdateSecretOk: ConnectionUpdateSecretOk.Read(ref reader); break;
            case AmqpMethodId.ChannelOpen: ChannelOpen.Read(ref reader); break;
            case AmqpMethodId.ChannelOpenOk: ChannelOpenOk.Read(ref reader); break;
            case AmqpMethodId.ChannelFlow: ChannelFlow.Read(ref reader); break;
            case AmqpMethodId.ChannelFlowOk: ChannelFlowOk.Read(ref reader); break;
            case AmqpMethodId.ChannelClose: ChannelClose.Read(ref reader); break;
            case AmqpMethodId.ChannelCloseOk: ChannelCloseOk.Read(ref reader); break;
            case AmqpMethodId.AccessRequest: AccessRequest.Read(ref reader); break;
            case AmqpMethodId.AccessRequestOk: AccessRequestOk.Read(ref reader); break;
            case AmqpMethodId.ExchangeDeclare: ExchangeDeclare.Read(ref reader); break;
            case AmqpMethodId.ExchangeDeclareOk: ExchangeDeclareOk.Read(ref reader); break;
            case AmqpMethodId.ExchangeDelete: ExchangeDelete.Read(ref reader); break;
            case AmqpMethodId.ExchangeDeleteOk: ExchangeDeleteOk.Read(ref reader); break;
            case AmqpMethodId.ExchangeBind: ExchangeBind.Read(ref reader); break;
            case AmqpMethodId.ExchangeBindOk: ExchangeBindOk.Read(ref reader); break;
            case AmqpMethodId.ExchangeUnbind: ExchangeUnbind.Read(ref reader); break;
            case AmqpMethodId.ExchangeUnbindOk: ExchangeUnbindOk.Read(ref reader); break;
            case AmqpMethodId.QueueDeclare: QueueDeclare.Read(ref reader); break;
            case AmqpMethodId.QueueDeclareOk: QueueDeclareOk.Read(ref reader); break;
            case AmqpMethodId.QueueBind: QueueBind.Read(ref reader); break;
            case AmqpMethodId.QueueBindOk: QueueBindOk.Read(ref reader); break;
            case AmqpMethodId.QueuePurge: QueuePurge.Read(ref reader); break;
            case AmqpMethodId.QueuePurgeOk: QueuePurgeOk.Read(ref reader); break;
            case AmqpMethodId.QueueDelete: QueueDelete.Read(ref reader); break;
            case AmqpMethodId.QueueDeleteOk: QueueDeleteOk.Read(ref reader); break;
            case AmqpMethodId.QueueUnbind: QueueUnbind.Read(ref reader); break;
            case AmqpMethodId.QueueUnbindOk: QueueUnbindOk.Read(ref reader); break;
            case AmqpMethodId.BasicQos: BasicQos.Read(ref reader); break;
            case AmqpMethodId.BasicQosOk: BasicQosOk.Read(ref reader); break;
            case AmqpMethodId.BasicConsume: BasicConsume.Read(ref reader); break;
            case AmqpMethodId.BasicConsumeOk: BasicConsumeOk.Read(ref reader); break;
            case AmqpMethodId.BasicCancel: BasicCancel.Read(ref reader); break;
            case AmqpMethodId.BasicCancelOk: BasicCancelOk.Read(ref reader); break;
            case AmqpMethodId.BasicPublish: BasicPublish.Read(ref reader); break;
            case AmqpMethodId.BasicReturn: BasicReturn.Read(ref reader); break;
            case AmqpMethodId.BasicDeliver: BasicDeliver.Read(ref reader); break;
            case AmqpMethodId.BasicGet: BasicGet.Read(ref reader); break;
            case AmqpMethodId.BasicGetOk: BasicGetOk.Read(ref reader); break;
            case AmqpMethodId.BasicGetEmpty: BasicGetEmpty.Read(ref reader); break;
            case AmqpMethodId.BasicAck: BasicAck.Read(ref reader); break;
            case AmqpMethodId.BasicReject: BasicReject.Read(ref reader); break;
            case AmqpMethodId.BasicRecoverAsync: BasicRecoverAsync.Read(ref reader); break;
            case AmqpMethodId.BasicRecover: BasicRecover.Read(ref reader); break;
            case AmqpMethodId.BasicRecoverOk: BasicRecoverOk.Read(ref reader); break;
            case AmqpMethodId.BasicNack: BasicNack.Read(ref reader); break;
            case AmqpMethodId.TxSelect: TxSelect.Read(ref reader); break;
            case AmqpMethodId.TxSelectOk: TxSelectOk.Read(ref reader); break;
            case AmqpMethodId.TxCommit: TxCommit.Read(ref reader); break;
            case AmqpMethodId.TxCommitOk: TxCommitOk.Read(ref reader); break;
            case AmqpMethodId.TxRollback: TxRollback.Read(ref reader); break;
            case AmqpMethodId.TxRollbackOk: TxRollbackOk.Read(ref reader); break;
            case AmqpMethodId.ConfirmSelect: ConfirmSelect.Read(ref reader); break;
            case AmqpMethodId.ConfirmSelectOk: ConfirmSelectOk.Read(ref reader); break;
            default: break; // the connection answers 540 not-implemented
        }
    }
}
