using Ferry.Broker.Groups;
using Ferry.Broker.Security.Acls;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>LeaveGroup: one member (v0-v2) or a batch of members by id or instance id (v3+, KIP-345).</summary>
public sealed class LeaveGroupHandler(GroupCoordinator groups, Authorizer authorizer) : KafkaHandler<LeaveGroupRequest>
{
    public override short ApiKey => ApiKeys.LeaveGroup;
    public override short MinVersion => 0;
    public override short MaxVersion => 5;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, LeaveGroupRequest request)
    {
        if (!authorizer.Allowed(context, AclOperation.Read, AclResourceType.Group, request.GroupId))
            return new(new LeaveGroupResponse { ErrorCode = ErrorCodes.GroupAuthorizationFailed });
        if (context.ApiVersion < 3)
        {
            var single = groups.Leave(request.GroupId, [(request.MemberId, null, null)]);
            return new(new LeaveGroupResponse { ErrorCode = GroupErrors.ToErrorCode(single[0].Error) });
        }
        var outcomes = groups.Leave(request.GroupId, request.Members.Select(m => (m.MemberId, m.GroupInstanceId, context.ApiVersion >= 5 ? m.Reason : null)).ToList());
        var response = new LeaveGroupResponse
        {
            ErrorCode = request.GroupId.Length == 0 ? ErrorCodes.InvalidGroupId : ErrorCodes.None,
            Members = outcomes.Select(o => new LeaveGroupResponse.MemberResponse
            {
                MemberId = o.MemberId,
                GroupInstanceId = o.GroupInstanceId,
                ErrorCode = GroupErrors.ToErrorCode(o.Error),
            }).ToList(),
        };
        return new(response);
    }
}
