using Ferry.Broker.Groups;
using Ferry.Broker.Security.Acls;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>SyncGroup: the leader brings the assignment; every member's response is held until it has.</summary>
public sealed class SyncGroupHandler(GroupCoordinator groups, Authorizer authorizer) : KafkaHandler<SyncGroupRequest>
{
    public override short ApiKey => ApiKeys.SyncGroup;
    public override short MinVersion => 0;
    public override short MaxVersion => 5;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, SyncGroupRequest request)
    {
        short version = context.ApiVersion;
        if (!authorizer.Allowed(context, AclOperation.Read, AclResourceType.Group, request.GroupId))
            return new(new SyncGroupResponse { ErrorCode = ErrorCodes.GroupAuthorizationFailed });
        var synced = groups.SyncAsync(request.GroupId, request.GenerationId, request.MemberId,
            version >= 3 ? request.GroupInstanceId : null,
            version >= 5 ? request.ProtocolType : null,
            version >= 5 ? request.ProtocolName : null,
            request.Assignments.Select(a => (a.MemberId, a.Assignment)).ToList());
        if (synced.IsCompletedSuccessfully) return new(Build(synced.Result));
        return AwaitAsync(synced, context);
    }

    private static async ValueTask<IKafkaMessage?> AwaitAsync(Task<SyncResult> synced, KafkaRequestContext context) =>
        Build(await GroupErrors.UntilClosedAsync(synced, context).ConfigureAwait(false));

    private static SyncGroupResponse Build(SyncResult result) => new()
    {
        ErrorCode = GroupErrors.ToErrorCode(result.Error),
        ProtocolType = result.ProtocolType,
        ProtocolName = result.ProtocolName,
        Assignment = result.Assignment,
    };
}
