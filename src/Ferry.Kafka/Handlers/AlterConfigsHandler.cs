using Ferry.Broker.Cluster;
using Ferry.Broker.Security.Acls;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>AlterConfigs (the older, replace-everything form): the given configs become the topic's overrides.</summary>
public sealed class AlterConfigsHandler(IMetadataController controller, Authorizer authorizer) : KafkaHandler<AlterConfigsRequest>
{
    public override short ApiKey => ApiKeys.AlterConfigs;
    public override short MinVersion => 0;
    public override short MaxVersion => 2;

    protected override async ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, AlterConfigsRequest request)
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
            if (TopicErrors.AlterConfigsRefused(authorizer, context, resource.ResourceType, resource.ResourceName) is { } refused)
            {
                result.ErrorCode = refused;
                continue;
            }
            var changes = resource.Configs.Select(c => (c.Name, c.Value)).ToList();
            (result.ErrorCode, result.ErrorMessage) = await TopicErrors.AlterTopicConfigsAsync(controller, resource.ResourceType,
                resource.ResourceName, changes, replaceAll: true, request.ValidateOnly).ConfigureAwait(false);
        }
        return response;
    }
}
