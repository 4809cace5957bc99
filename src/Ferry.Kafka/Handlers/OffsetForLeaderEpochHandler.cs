using Ferry.Broker.Topics;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// OffsetForLeaderEpoch: consumers validate their position after a leader change (KIP-320). A single node
/// has one epoch, 0, which ends at the log end.
/// </summary>
public sealed class OffsetForLeaderEpochHandler(TopicRegistry topics) : KafkaHandler<OffsetForLeaderEpochRequest>
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
            foreach (var wanted in wantedTopic.Partitions)
            {
                var partition = topic?.TryGetPartition(wanted.Partition);
                var epochEnd = new OffsetForLeaderEpochResponse.EpochEndOffset { Partition = wanted.Partition };
                result.Partitions.Add(epochEnd);
                if (partition is null)
                {
                    epochEnd.ErrorCode = ErrorCodes.UnknownTopicOrPartition;
                }
                else if (wanted.CurrentLeaderEpoch > partition.LeaderEpoch)
                {
                    epochEnd.ErrorCode = ErrorCodes.UnknownLeaderEpoch;
                }
                else
                {
                    epochEnd.LeaderEpoch = partition.LeaderEpoch;
                    epochEnd.EndOffset = wanted.LeaderEpoch > partition.LeaderEpoch ? -1 : partition.HighWatermark;
                }
            }
        }
        return new(response);
    }
}
