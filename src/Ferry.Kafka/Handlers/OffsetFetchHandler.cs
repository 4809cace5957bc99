using Ferry.Broker.Groups;
using Ferry.Broker.Security.Acls;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// OffsetFetch: committed offsets (-1 where none) with their metadata; null topics (v2+) mean every partition
/// the group has an offset for; v8 asks for several groups at once. With require_stable (v7+, KIP-447: what
/// read_committed consumers send) a partition whose offset is inside an open transaction gets
/// UNSTABLE_OFFSET_COMMIT, which the consumer retries until the transaction ends.
/// </summary>
public sealed class OffsetFetchHandler(GroupCoordinator groups, Authorizer authorizer) : KafkaHandler<OffsetFetchRequest>
{
    public override short ApiKey => ApiKeys.OffsetFetch;
    public override short MinVersion => 0;
    public override short MaxVersion => 9;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, OffsetFetchRequest request)
    {
        var response = new OffsetFetchResponse();
        if (context.ApiVersion >= 8)
        {
            foreach (var group in request.Groups)
            {
                var wanted = group.Topics?.Select(t => (t.Name, (IReadOnlyList<int>)t.PartitionIndexes)).ToList();
                var groupResponse = new OffsetFetchResponse.OffsetFetchResponseGroup { GroupId = group.GroupId };
                if (group.GroupId.Length == 0) groupResponse.ErrorCode = ErrorCodes.InvalidGroupId;
                else if (!authorizer.Allowed(context, AclOperation.Describe, AclResourceType.Group, group.GroupId)) groupResponse.ErrorCode = ErrorCodes.GroupAuthorizationFailed;
                else if (groups.CheckCoordinator(group.GroupId) is var refused and not GroupError.None) groupResponse.ErrorCode = GroupErrors.ToErrorCode(refused);
                else
                {
                    var unstable = request.RequireStable ? groups.UnstablePartitions(group.GroupId) : null;
                    foreach (var topic in Describable(context, groups.FetchOffsets(group.GroupId, wanted)).GroupBy(o => o.Topic))
                    {
                        groupResponse.Topics.Add(new OffsetFetchResponse.OffsetFetchResponseTopics
                        {
                            Name = topic.Key,
                            Partitions = topic.Select(o => new OffsetFetchResponse.OffsetFetchResponsePartitions
                            {
                                PartitionIndex = o.Partition,
                                ErrorCode = unstable?.Contains((o.Topic, o.Partition)) == true ? ErrorCodes.UnstableOffsetCommit : ErrorCodes.None,
                                CommittedOffset = o.Offset?.Offset ?? -1,
                                CommittedLeaderEpoch = o.Offset?.LeaderEpoch ?? -1,
                                Metadata = o.Offset is null ? "" : o.Offset.Metadata,
                            }).ToList(),
                        });
                    }
                }
                response.Groups.Add(groupResponse);
            }
            return new(response);
        }

        // v0 and v1 always name the topics; from v2 null asks for all.
        var topics = request.Topics?.Select(t => (t.Name, (IReadOnlyList<int>)t.PartitionIndexes)).ToList();
        if (request.GroupId.Length == 0)
        {
            response.ErrorCode = ErrorCodes.InvalidGroupId;
            return new(response);
        }
        var unstablePartitions = context.ApiVersion >= 7 && request.RequireStable ? groups.UnstablePartitions(request.GroupId) : null;
        if (!authorizer.Allowed(context, AclOperation.Describe, AclResourceType.Group, request.GroupId))
        {
            response.ErrorCode = ErrorCodes.GroupAuthorizationFailed;
            return new(response);
        }
        if (groups.CheckCoordinator(request.GroupId) is var notHere and not GroupError.None)
        {
            // v0 and v1 have no top-level error: each partition asked carries it (Kafka's own answer).
            response.ErrorCode = GroupErrors.ToErrorCode(notHere);
            foreach (var topic in request.Topics ?? [])
            {
                response.Topics.Add(new OffsetFetchResponse.OffsetFetchResponseTopic
                {
                    Name = topic.Name,
                    Partitions = topic.PartitionIndexes.Select(p => new OffsetFetchResponse.OffsetFetchResponsePartition
                    {
                        PartitionIndex = p, CommittedOffset = -1, CommittedLeaderEpoch = -1, Metadata = "", ErrorCode = response.ErrorCode,
                    }).ToList(),
                });
            }
            return new(response);
        }
        foreach (var topic in Describable(context, groups.FetchOffsets(request.GroupId, topics)).GroupBy(o => o.Topic))
        {
            response.Topics.Add(new OffsetFetchResponse.OffsetFetchResponseTopic
            {
                Name = topic.Key,
                Partitions = topic.Select(o => new OffsetFetchResponse.OffsetFetchResponsePartition
                {
                    PartitionIndex = o.Partition,
                    ErrorCode = unstablePartitions?.Contains((o.Topic, o.Partition)) == true ? ErrorCodes.UnstableOffsetCommit : ErrorCodes.None,
                    CommittedOffset = o.Offset?.Offset ?? -1,
                    CommittedLeaderEpoch = o.Offset?.LeaderEpoch ?? -1,
                    Metadata = o.Offset is null ? "" : o.Offset.Metadata,
                }).ToList(),
            });
        }
        return new(response);
    }

    /// <summary>Offsets of topics the principal may not DESCRIBE are left out, as Kafka leaves them out.</summary>
    private IEnumerable<(string Topic, int Partition, CommittedOffset? Offset)> Describable(KafkaRequestContext context,
        IEnumerable<(string Topic, int Partition, CommittedOffset? Offset)> offsets) =>
        !authorizer.Enabled ? offsets : offsets.Where(o => authorizer.Allowed(context, AclOperation.Describe, AclResourceType.Topic, o.Topic));
}
