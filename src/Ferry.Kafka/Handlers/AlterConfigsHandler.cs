using Ferry.Broker.Topics;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>AlterConfigs (the older, replace-everything form): the given configs become the topic's overrides.</summary>
public sealed class AlterConfigsHandler(TopicRegistry topics) : KafkaHandler<AlterConfigsRequest>
{
    public override short ApiKey => ApiKeys.AlterConfigs;
    public override short MinVersion => 0;
    public override short MaxVersion => 2;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, AlterConfigsRequest request)
    {
        var response = new AlterConfigsResponse();
        foreach (var resource in request.Resources)
        {
            var result = new AlterConfigsResponse.AlterConfigsResourceResponse
            {
                ResourceType = resource.ResourceType,
                ResourceName = resource.ResourceName,
                ErrorMessage = null,
            };
            response.Responses.Add(result);
            if (resource.ResourceType != DescribeConfigsHandler.TopicResource)
            {
                result.ErrorCode = ErrorCodes.InvalidRequest;
                result.ErrorMessage = "Only topic configs can be altered.";
                continue;
            }
            var changes = resource.Configs.Select(c => (c.Name, c.Value)).ToList();
            var outcome = topics.AlterConfigs(resource.ResourceName, changes, replaceAll: true, request.ValidateOnly);
            result.ErrorCode = TopicErrors.ToErrorCode(outcome.Error);
            result.ErrorMessage = outcome.Message;
        }
        return new(response);
    }
}
