using Ferry.Broker.Groups;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>ListGroups: every group this node coordinates, optionally filtered by state (v4+).</summary>
public sealed class ListGroupsHandler(GroupCoordinator groups) : KafkaHandler<ListGroupsRequest>
{
    public override short ApiKey => ApiKeys.ListGroups;
    public override short MinVersion => 0;
    public override short MaxVersion => 4;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, ListGroupsRequest request)
    {
        var states = context.ApiVersion >= 4 && request.StatesFilter.Count > 0
            ? new HashSet<string>(request.StatesFilter, StringComparer.OrdinalIgnoreCase)
            : null;
        var response = new ListGroupsResponse();
        foreach (var group in groups.ListGroups())
        {
            string state = GroupErrors.StateName(group.State);
            if (states is not null && !states.Contains(state)) continue;
            response.Groups.Add(new ListGroupsResponse.ListedGroup { GroupId = group.GroupId, ProtocolType = group.ProtocolType, GroupState = state });
        }
        return new(response);
    }
}
