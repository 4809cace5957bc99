using Ferry.Broker.Cluster;
using Ferry.Broker.Security.Acls;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>IncrementalAlterConfigs: SET and DELETE of topic configs, each resource all or nothing.</summary>
public sealed class IncrementalAlterConfigsHandler(IMetadataController controller, Authorizer authorizer) : KafkaHandler<IncrementalAlterConfigsRequest>
{
    private const sbyte Set = 0;
    private const sbyte Delete = 1;

    public override short ApiKey => ApiKeys.IncrementalAlterConfigs;
    public override short MinVersion => 0;
    public override short MaxVersion => 1;

    protected override async ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, IncrementalAlterConfigsRequest request)
    {
        var response = new IncrementalAlterConfigsResponse();
        foreach (var resource in request.Resources)
        {
            var result = new IncrementalAlterConfigsResponse.AlterConfigsResourceResponse
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
            if (resource.ResourceType == DescribeConfigsHandler.TopicResource && resource.Configs.Any(c => c.ConfigOperation is not (Set or Delete)))
            {
                result.ErrorCode = ErrorCodes.InvalidConfig;
                result.ErrorMessage = "APPEND and SUBTRACT apply to list configs; Ferry's topic configs are single values.";
                continue;
            }
            var changes = resource.Configs.Select(c => (c.Name, c.ConfigOperation == Delete ? null : c.Value)).ToList();
            (result.ErrorCode, result.ErrorMessage) = await TopicErrors.AlterTopicConfigsAsync(controller, resource.ResourceType,
                resource.ResourceName, changes, replaceAll: false, request.ValidateOnly).ConfigureAwait(false);
        }
        return response;
    }
}
