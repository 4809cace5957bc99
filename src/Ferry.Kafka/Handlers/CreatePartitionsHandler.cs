using Ferry.Broker.Topics;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>CreatePartitions: grows a topic to a new partition count.</summary>
public sealed class CreatePartitionsHandler(TopicRegistry topics) : KafkaHandler<CreatePartitionsRequest>
{
    public override short ApiKey => ApiKeys.CreatePartitions;
    public override short MinVersion => 0;
    public override short MaxVersion => 3;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, CreatePartitionsRequest request)
    {
        var response = new CreatePartitionsResponse();
        foreach (var wanted in request.Topics)
        {
            var outcome = topics.CreatePartitions(wanted.Name, wanted.Count, request.ValidateOnly);
            response.Results.Add(new CreatePartitionsResponse.CreatePartitionsTopicResult
            {
                Name = wanted.Name,
                ErrorCode = TopicErrors.ToErrorCode(outcome.Error),
                ErrorMessage = outcome.Message,
            });
        }
        return new(response);
    }
}
