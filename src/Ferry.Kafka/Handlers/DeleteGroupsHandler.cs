using Ferry.Broker.Groups;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>DeleteGroups: empty groups go with their committed offsets; groups with members are refused (NON_EMPTY_GROUP).</summary>
public sealed class DeleteGroupsHandler(GroupCoordinator groups) : KafkaHandler<DeleteGroupsRequest>
{
    public override short ApiKey => ApiKeys.DeleteGroups;
    public override short MinVersion => 0;
    public override short MaxVersion => 2;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, DeleteGroupsRequest request) =>
        AwaitAsync(groups.DeleteGroupsAsync(request.GroupsNames));

    private static async ValueTask<IKafkaMessage?> AwaitAsync(Task<IReadOnlyList<(string GroupId, GroupError Error)>> deleted) =>
        new DeleteGroupsResponse
        {
            Results = (await deleted.ConfigureAwait(false)).Select(r => new DeleteGroupsResponse.DeletableGroupResult
            {
                GroupId = r.GroupId,
                ErrorCode = GroupErrors.ToErrorCode(r.Error),
            }).ToList(),
        };
}
