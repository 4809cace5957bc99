using Ferry.Broker.Groups;
using Ferry.Broker.Security.Acls;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>Heartbeat: keeps a member's session; REBALANCE_IN_PROGRESS tells it to rejoin.</summary>
public sealed class HeartbeatHandler(GroupCoordinator groups, Authorizer authorizer) : KafkaHandler<HeartbeatRequest>
{
    public override short ApiKey => ApiKeys.Heartbeat;
    public override short MinVersion => 0;
    public override short MaxVersion => 4;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, HeartbeatRequest request)
    {
        if (!authorizer.Allowed(context, AclOperation.Read, AclResourceType.Group, request.GroupId))
            return new(new HeartbeatResponse { ErrorCode = ErrorCodes.GroupAuthorizationFailed });
        var error = groups.Heartbeat(request.GroupId, request.GenerationId, request.MemberId,
            context.ApiVersion >= 3 ? request.GroupInstanceId : null);
        return new(new HeartbeatResponse { ErrorCode = GroupErrors.ToErrorCode(error) });
    }
}
