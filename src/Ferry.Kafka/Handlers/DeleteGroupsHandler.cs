using Ferry.Broker.Groups;
using Ferry.Broker.Security.Acls;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>DeleteGroups: empty groups go with their committed offsets; groups with members are refused (NON_EMPTY_GROUP).</summary>
public sealed class DeleteGroupsHandler(GroupCoordinator groups, Authorizer authorizer) : KafkaHandler<DeleteGroupsRequest>
{
    public override short ApiKey => ApiKeys.DeleteGroups;
    public override short MinVersion => 0;
    public override short MaxVersion => 2;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, DeleteGroupsRequest request)
    {
        // Groups the principal may not DELETE are answered GROUP_AUTHORIZATION_FAILED and left alone.
        var denied = request.GroupsNames.Where(g => !authorizer.Allowed(context, AclOperation.Delete, AclResourceType.Group, g)).ToList();
        var allowed = denied.Count == 0 ? request.GroupsNames : request.GroupsNames.Except(denied, StringComparer.Ordinal).ToList();
        return AwaitAsync(groups.DeleteGroupsAsync(allowed), denied);
    }

    private static async ValueTask<IKafkaMessage?> AwaitAsync(Task<IReadOnlyList<(string GroupId, GroupError Error)>> deleted, List<string> denied) =>
        new DeleteGroupsResponse
        {
            Results = [.. denied.Select(g => new DeleteGroupsResponse.DeletableGroupResult { GroupId = g, ErrorCode = ErrorCodes.GroupAuthorizationFailed }),
                .. (await deleted.ConfigureAwait(false)).Select(r => new DeleteGroupsResponse.DeletableGroupResult
            {
                GroupId = r.GroupId,
                ErrorCode = GroupErrors.ToErrorCode(r.Error),
            })],
        };
}
