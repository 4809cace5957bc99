using Ferry.Broker.Topics;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// DescribeProducers (KIP-664): the idempotent and transactional producers a partition's leader knows, with their
/// epoch, last sequence and timestamp and the first offset of their open transaction (-1: none), which is how
/// operators find the producer holding a partition's last stable offset back.
/// </summary>
public sealed class DescribeProducersHandler(TopicRegistry topics) : KafkaHandler<DescribeProducersRequest>
{
    public override short ApiKey => ApiKeys.DescribeProducers;
    public override short MinVersion => 0;
    public override short MaxVersion => 0;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, DescribeProducersRequest request)
    {
        var response = new DescribeProducersResponse();
        foreach (var topicRequest in request.Topics)
        {
            var topicResponse = new DescribeProducersResponse.TopicResponse { Name = topicRequest.Name };
            response.Topics.Add(topicResponse);
            topics.TryGet(topicRequest.Name, out var topic);
            foreach (int index in topicRequest.PartitionIndexes)
            {
                var result = new DescribeProducersResponse.PartitionResponse { PartitionIndex = index };
                topicResponse.Partitions.Add(result);
                var partition = topic?.TryGetPartition(index);
                if (partition is null)
                {
                    result.ErrorCode = ErrorCodes.UnknownTopicOrPartition;
                    continue;
                }
                if (!partition.IsLeader)
                {
                    result.ErrorCode = ErrorCodes.NotLeaderOrFollower;
                    continue;
                }
                foreach (var producer in partition.Producers.OrderBy(p => p.ProducerId))
                {
                    result.ActiveProducers.Add(new DescribeProducersResponse.ProducerState
                    {
                        ProducerId = producer.ProducerId,
                        ProducerEpoch = producer.Epoch,
                        LastSequence = producer.LastSequence,
                        LastTimestamp = producer.LastTimestamp,
                        CoordinatorEpoch = producer.CurrentTransactionStartOffset >= 0 ? 0 : -1,
                        CurrentTxnStartOffset = producer.CurrentTransactionStartOffset,
                    });
                }
            }
        }
        return new(response);
    }
}
