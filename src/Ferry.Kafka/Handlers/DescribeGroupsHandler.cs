using Ferry.Broker.Groups;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>DescribeGroups: state, protocol and members with their metadata and assignments (once stable).</summary>
public sealed class DescribeGroupsHandler(GroupCoordinator groups) : KafkaHandler<DescribeGroupsRequest>
{
    public override short ApiKey => ApiKeys.DescribeGroups;
    public override short MinVersion => 0;
    public override short MaxVersion => 5;

    /// <summary>
    /// What Kafka answers without an authorizer when asked (v3+, KIP-430): every operation a group supports, READ,
    /// DELETE and DESCRIBE, as bits numbered by their ACL operation codes (3, 6, 8). Not asked: -2^31.
    /// </summary>
    internal const int AllGroupOperations = (1 << 3) | (1 << 6) | (1 << 8);

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, DescribeGroupsRequest request)
    {
        var response = new DescribeGroupsResponse();
        foreach (var groupId in request.Groups)
        {
            if (groupId.Length == 0)
            {
                response.Groups.Add(new DescribeGroupsResponse.DescribedGroup { GroupId = groupId, ErrorCode = ErrorCodes.InvalidGroupId, GroupState = "Dead" });
                continue;
            }
            if (groups.CheckCoordinator(groupId) is var refused and not GroupError.None)
            {
                response.Groups.Add(new DescribeGroupsResponse.DescribedGroup { GroupId = groupId, ErrorCode = GroupErrors.ToErrorCode(refused), GroupState = "Dead" });
                continue;
            }
            var group = groups.DescribeGroup(groupId);
            response.Groups.Add(new DescribeGroupsResponse.DescribedGroup
            {
                GroupId = group.GroupId,
                GroupState = GroupErrors.StateName(group.State),
                ProtocolType = group.ProtocolType,
                ProtocolData = group.ProtocolName,
                Members = group.Members.Select(m => new DescribeGroupsResponse.DescribedGroupMember
                {
                    MemberId = m.MemberId,
                    GroupInstanceId = m.GroupInstanceId,
                    ClientId = m.ClientId,
                    ClientHost = m.ClientHost,
                    MemberMetadata = m.Metadata,
                    MemberAssignment = m.Assignment,
                }).ToList(),
                AuthorizedOperations = context.ApiVersion >= 3 && request.IncludeAuthorizedOperations ? AllGroupOperations : int.MinValue,
            });
        }
        return new(response);
    }
}
