using Ferry.Broker.Security.Acls;
using Ferry.Broker.Topics;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>DeleteRecords: moves a partition's log start forward (-1: to the high watermark).</summary>
public sealed class DeleteRecordsHandler(TopicRegistry topics, Authorizer authorizer) : KafkaHandler<DeleteRecordsRequest>
{
    public override short ApiKey => ApiKeys.DeleteRecords;
    public override short MinVersion => 0;
    public override short MaxVersion => 2;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, DeleteRecordsRequest request)
    {
        var response = new DeleteRecordsResponse();
        foreach (var wantedTopic in request.Topics)
        {
            var result = new DeleteRecordsResponse.DeleteRecordsTopicResult { Name = wantedTopic.Name };
            response.Topics.Add(result);
            topics.TryGet(wantedTopic.Name, out var topic);
            bool allowed = authorizer.Allowed(context, AclOperation.Delete, AclResourceType.Topic, wantedTopic.Name);
            foreach (var wanted in wantedTopic.Partitions)
            {
                var partitionResult = new DeleteRecordsResponse.DeleteRecordsPartitionResult { PartitionIndex = wanted.PartitionIndex, LowWatermark = -1 };
                result.Partitions.Add(partitionResult);
                if (!allowed)
                {
                    partitionResult.ErrorCode = ErrorCodes.TopicAuthorizationFailed;
                    continue;
                }
                var partition = topic?.TryGetPartition(wanted.PartitionIndex);
                if (partition is null)
                {
                    partitionResult.ErrorCode = ErrorCodes.UnknownTopicOrPartition;
                    continue;
                }
                if (!partition.IsLeader)
                {
                    partitionResult.ErrorCode = ErrorCodes.NotLeaderOrFollower;
                    continue;
                }
                if (!partition.DeleteRecords(wanted.Offset))
                {
                    partitionResult.ErrorCode = ErrorCodes.OffsetOutOfRange;
                    continue;
                }
                partitionResult.LowWatermark = partition.LogStartOffset;
            }
        }
        return new(response);
    }
}
