using Ferry.Broker.Groups;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// OffsetCommit: answered once the offsets are durable under the Storage:Fsync policy (fsync'd by default).
/// Generation -1 with no member id is a standalone commit (assign() consumers, admin tools), accepted while
/// the group has no members. The v2-v4 retention time is ignored: retention is the broker's, as in Kafka 2.1+.
/// </summary>
public sealed class OffsetCommitHandler(GroupCoordinator groups) : KafkaHandler<OffsetCommitRequest>
{
    public override short ApiKey => ApiKeys.OffsetCommit;
    public override short MinVersion => 0;
    public override short MaxVersion => 9;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, OffsetCommitRequest request)
    {
        short version = context.ApiVersion;
        var entries = request.Topics.SelectMany(t => t.Partitions.Select(p => new OffsetCommitEntry(
            t.Name, p.PartitionIndex, p.CommittedOffset, version >= 6 ? p.CommittedLeaderEpoch : -1, p.CommittedMetadata))).ToList();
        var committed = groups.CommitOffsetsAsync(request.GroupId,
            version >= 1 ? request.GenerationIdOrMemberEpoch : -1,
            version >= 1 ? request.MemberId : "",
            version >= 7 ? request.GroupInstanceId : null,
            entries);
        return AwaitAsync(request, committed);
    }

    private static async ValueTask<IKafkaMessage?> AwaitAsync(OffsetCommitRequest request, Task<(GroupError Error, GroupError[] Partitions)> committed)
    {
        var (error, partitions) = await committed.ConfigureAwait(false);
        var response = new OffsetCommitResponse();
        int i = 0;
        foreach (var topic in request.Topics)
        {
            var topicResponse = new OffsetCommitResponse.OffsetCommitResponseTopic { Name = topic.Name };
            foreach (var partition in topic.Partitions)
            {
                topicResponse.Partitions.Add(new OffsetCommitResponse.OffsetCommitResponsePartition
                {
                    PartitionIndex = partition.PartitionIndex,
                    ErrorCode = GroupErrors.ToErrorCode(error != GroupError.None ? error : partitions[i]),
                });
                i++;
            }
            response.Topics.Add(topicResponse);
        }
        return response;
    }
}
