using Ferry.Broker.Groups;
using Ferry.Broker.Security.Acls;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>DescribeGroups: state, protocol and members with their metadata and assignments (once stable).</summary>
public sealed class DescribeGroupsHandler(GroupCoordinator groups, Authorizer authorizer) : KafkaHandler<DescribeGroupsRequest>
{
    public override short ApiKey => ApiKeys.DescribeGroups;
    public override short MinVersion => 0;
    public override short MaxVersion => 5;

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
            if (!authorizer.Allowed(context, AclOperation.Describe, AclResourceType.Group, groupId))
            {
                response.Groups.Add(new DescribeGroupsResponse.DescribedGroup { GroupId = groupId, ErrorCode = ErrorCodes.GroupAuthorizationFailed, GroupState = "Dead" });
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
                AuthorizedOperations = authorizer.AuthorizedOperations(context, context.ApiVersion >= 3 && request.IncludeAuthorizedOperations, AclResourceType.Group, groupId),
            });
        }
        return new(response);
    }
}
