using Ferry.Broker.Groups;
using Ferry.Broker.Security.Acls;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// JoinGroup: the response is held until the group's rebalance completes (or answered at once: errors,
/// MEMBER_ID_REQUIRED on a v4+ first join, a member rejoining a formed generation unchanged).
/// </summary>
public sealed class JoinGroupHandler(GroupCoordinator groups, Authorizer authorizer) : KafkaHandler<JoinGroupRequest>
{
    public override short ApiKey => ApiKeys.JoinGroup;
    public override short MinVersion => 0;
    public override short MaxVersion => 9;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, JoinGroupRequest request)
    {
        short version = context.ApiVersion;
        if (!authorizer.Allowed(context, AclOperation.Read, AclResourceType.Group, request.GroupId))
            return new(new JoinGroupResponse { ErrorCode = ErrorCodes.GroupAuthorizationFailed, GenerationId = -1, ProtocolName = version >= 7 ? null : "" });
        var joined = groups.JoinAsync(new JoinRequest
        {
            GroupId = request.GroupId,
            MemberId = request.MemberId,
            GroupInstanceId = version >= 5 ? request.GroupInstanceId : null,
            ClientId = context.ClientId ?? "",
            ClientHost = GroupErrors.ClientHost(context),
            SessionTimeoutMs = request.SessionTimeoutMs,
            // v0 has no rebalance timeout: the session timeout served as both.
            RebalanceTimeoutMs = version >= 1 ? request.RebalanceTimeoutMs : request.SessionTimeoutMs,
            ProtocolType = request.ProtocolType,
            Protocols = request.Protocols.Select(p => new MemberProtocol(p.Name, p.Metadata)).ToList(),
            RequireKnownMemberId = version >= 4,
            SupportsSkipAssignment = version >= 9,
            Reason = version >= 8 ? request.Reason : null,
        });
        if (joined.IsCompletedSuccessfully) return new(Build(joined.Result, version));
        return AwaitAsync(joined, context);
    }

    private static async ValueTask<IKafkaMessage?> AwaitAsync(Task<JoinResult> joined, KafkaRequestContext context) =>
        Build(await GroupErrors.UntilClosedAsync(joined, context).ConfigureAwait(false), context.ApiVersion);

    private static JoinGroupResponse Build(JoinResult result, short version) => new()
    {
        ErrorCode = GroupErrors.ToErrorCode(result.Error),
        GenerationId = result.GenerationId,
        ProtocolType = result.ProtocolType,
        // Nullable from v7; before, an error carries an empty name.
        ProtocolName = result.ProtocolName ?? (version >= 7 ? null : ""),
        Leader = result.LeaderId,
        MemberId = result.MemberId,
        SkipAssignment = result.SkipAssignment,
        Members = result.Members.Select(m => new JoinGroupResponse.JoinGroupResponseMember
        {
            MemberId = m.MemberId,
            GroupInstanceId = m.GroupInstanceId,
            Metadata = m.Metadata,
        }).ToList(),
    };
}
