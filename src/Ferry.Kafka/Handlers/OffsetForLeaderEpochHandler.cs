using Ferry.Broker.Security.Acls;
using Ferry.Broker.Topics;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// OffsetForLeaderEpoch: where a leader epoch ends in this leader's log, from its leader-epoch cache
/// (KIP-101): followers truncate their divergent tail by it, consumers validate their position after a leader
/// change (KIP-320).
/// </summary>
public sealed class OffsetForLeaderEpochHandler(TopicRegistry topics, Authorizer authorizer) : KafkaHandler<OffsetForLeaderEpochRequest>
{
    public override short ApiKey => ApiKeys.OffsetForLeaderEpoch;
    public override short MinVersion => 0;
    public override short MaxVersion => 4;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, OffsetForLeaderEpochRequest request)
    {
        var response = new OffsetForLeaderEpochResponse();
        foreach (var wantedTopic in request.Topics)
        {
            var result = new OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult { Topic = wantedTopic.Topic };
            response.Topics.Add(result);
            topics.TryGet(wantedTopic.Topic, out var topic);
            // A consumer needs DESCRIBE on the topic; a replica (id >= 0) must be a broker (CLUSTER_AUTHORIZATION_FAILED otherwise, as Kafka).
            bool replica = request.ReplicaId >= 0;
            bool allowed = replica
                ? authorizer.AllowedAsPeer(context)
                : authorizer.Allowed(context, AclOperation.Describe, AclResourceType.Topic, wantedTopic.Topic);
            foreach (var wanted in wantedTopic.Partitions)
            {
                var partition = topic?.TryGetPartition(wanted.Partition);
                var epochEnd = new OffsetForLeaderEpochResponse.EpochEndOffset { Partition = wanted.Partition };
                result.Partitions.Add(epochEnd);
                if (!allowed)
                {
                    epochEnd.ErrorCode = replica ? ErrorCodes.ClusterAuthorizationFailed : ErrorCodes.TopicAuthorizationFailed;
                }
                else if (partition is null)
                {
                    epochEnd.ErrorCode = ErrorCodes.UnknownTopicOrPartition;
                }
                else if (partition.CheckLeaderEpoch(wanted.CurrentLeaderEpoch) is var epochCheck && epochCheck != EpochCheck.Ok)
                {
                    epochEnd.ErrorCode = ErrorCodes.ForEpochCheck(epochCheck);
                }
                else
                {
                    // A follower asks to the log end (it truncates its divergent tail there); a consumer only
                    // below the high watermark, which is all it can have read.
                    var (epoch, endOffset) = partition.EndOffsetForEpoch(wanted.LeaderEpoch);
                    epochEnd.LeaderEpoch = epoch;
                    epochEnd.EndOffset = request.ReplicaId >= 0 || endOffset < 0 ? endOffset : Math.Min(endOffset, partition.HighWatermark);
                }
            }
        }
        return new(response);
    }
}
