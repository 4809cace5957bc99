using Ferry.Broker.Groups;
using Ferry.Broker.Security.Acls;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>OffsetDelete: removes a group's committed offsets for partitions of topics no member subscribes to.</summary>
public sealed class OffsetDeleteHandler(GroupCoordinator groups, Authorizer authorizer) : KafkaHandler<OffsetDeleteRequest>
{
    public override short ApiKey => ApiKeys.OffsetDelete;
    public override short MinVersion => 0;
    public override short MaxVersion => 0;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, OffsetDeleteRequest request)
    {
        if (!authorizer.Allowed(context, AclOperation.Delete, AclResourceType.Group, request.GroupId))
            return new(new OffsetDeleteResponse { ErrorCode = ErrorCodes.GroupAuthorizationFailed });
        if (request.Topics.Exists(t => !authorizer.Allowed(context, AclOperation.Read, AclResourceType.Topic, t.Name)))
        {
            // Kafka needs READ on each topic whose offsets go; Ferry deletes none when one is missing.
            return new(new OffsetDeleteResponse
            {
                Topics = [.. request.Topics.Select(t => new OffsetDeleteResponse.OffsetDeleteResponseTopic
                {
                    Name = t.Name,
                    Partitions = [.. t.Partitions.Select(p => new OffsetDeleteResponse.OffsetDeleteResponsePartition
                    {
                        PartitionIndex = p.PartitionIndex,
                        ErrorCode = authorizer.Allowed(context, AclOperation.Read, AclResourceType.Topic, t.Name) ? ErrorCodes.None : ErrorCodes.TopicAuthorizationFailed,
                    })],
                })],
            });
        }
        var partitions = request.Topics.SelectMany(t => t.Partitions.Select(p => (t.Name, p.PartitionIndex))).ToList();
        return AwaitAsync(request, groups.DeleteOffsetsAsync(request.GroupId, partitions));
    }

    private static async ValueTask<IKafkaMessage?> AwaitAsync(OffsetDeleteRequest request,
        Task<(GroupError Error, IReadOnlyList<GroupError> Partitions)> deleted)
    {
        var (error, partitions) = await deleted.ConfigureAwait(false);
        var response = new OffsetDeleteResponse { ErrorCode = GroupErrors.ToErrorCode(error) };
        if (error != GroupError.None) return response;
        int i = 0;
        foreach (var topic in request.Topics)
        {
            var topicResponse = new OffsetDeleteResponse.OffsetDeleteResponseTopic { Name = topic.Name };
            foreach (var partition in topic.Partitions)
            {
                topicResponse.Partitions.Add(new OffsetDeleteResponse.OffsetDeleteResponsePartition
                {
                    PartitionIndex = partition.PartitionIndex,
                    ErrorCode = GroupErrors.ToErrorCode(partitions[i++]),
                });
            }
            response.Topics.Add(topicResponse);
        }
        return response;
    }
}
