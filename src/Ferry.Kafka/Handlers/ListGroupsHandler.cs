using Ferry.Broker.Groups;
using Ferry.Broker.Security.Acls;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// ListGroups: every group this node coordinates, optionally filtered by state (v4+) and by type (v5+, KIP-848).
/// Every Ferry group runs the classic protocol, so its type is "classic"; filters match case-insensitively, as Kafka's.
/// </summary>
public sealed class ListGroupsHandler(GroupCoordinator groups, Authorizer authorizer) : KafkaHandler<ListGroupsRequest>
{
    /// <summary>The KIP-848 type of a classic-protocol group.</summary>
    public const string ClassicGroupType = "classic";

    public override short ApiKey => ApiKeys.ListGroups;
    public override short MinVersion => 0;
    public override short MaxVersion => 5;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, ListGroupsRequest request)
    {
        var states = context.ApiVersion >= 4 && request.StatesFilter.Count > 0
            ? new HashSet<string>(request.StatesFilter, StringComparer.OrdinalIgnoreCase)
            : null;
        bool typeMatches = context.ApiVersion < 5 || request.TypesFilter.Count == 0
            || request.TypesFilter.Contains(ClassicGroupType, StringComparer.OrdinalIgnoreCase);
        var response = new ListGroupsResponse();
        if (!typeMatches) return new(response);
        // Kafka answers so while a partition of its offsets topic is being read: the list would be incomplete.
        if (groups.IsLoading) return new(new ListGroupsResponse { ErrorCode = ErrorCodes.CoordinatorLoadInProgress });
        // As Kafka: DESCRIBE on the cluster lists every group, otherwise the groups the principal may DESCRIBE.
        bool everyGroup = authorizer.AllowedOnCluster(context, AclOperation.Describe);
        foreach (var group in groups.ListGroups())
        {
            string state = GroupErrors.StateName(group.State);
            if (states is not null && !states.Contains(state)) continue;
            if (!everyGroup && !authorizer.Allowed(context, AclOperation.Describe, AclResourceType.Group, group.GroupId)) continue;
            response.Groups.Add(new ListGroupsResponse.ListedGroup
            {
                GroupId = group.GroupId, ProtocolType = group.ProtocolType, GroupState = state, GroupType = ClassicGroupType,
            });
        }
        return new(response);
    }
}
