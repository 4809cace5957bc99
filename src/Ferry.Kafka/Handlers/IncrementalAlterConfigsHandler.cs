using Ferry.Broker.Cluster;
using Ferry.Broker.Topics;
using Ferry.Broker.Security.Acls;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// IncrementalAlterConfigs: SET, DELETE, and APPEND/SUBTRACT on list configs (<c>cleanup.policy</c>, the throttled
/// replica lists) of topic configs, each resource all or nothing.
/// </summary>
public sealed class IncrementalAlterConfigsHandler(IMetadataController controller, TopicRegistry topics, Authorizer authorizer) : KafkaHandler<IncrementalAlterConfigsRequest>
{
    private const sbyte Set = 0;
    private const sbyte Delete = 1;
    private const sbyte Append = 2;
    private const sbyte Subtract = 3;

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
            if (!TryResolve(resource, out var changes, out var error))
            {
                result.ErrorCode = ErrorCodes.InvalidConfig;
                result.ErrorMessage = error;
                continue;
            }
            (result.ErrorCode, result.ErrorMessage) = await TopicErrors.AlterTopicConfigsAsync(controller, resource.ResourceType,
                resource.ResourceName, changes, replaceAll: false, request.ValidateOnly).ConfigureAwait(false);
        }
        return response;
    }

    /// <summary>
    /// Turns the operations into values: APPEND and SUBTRACT work on the config's current value (the topic's
    /// override, else its default), and later operations on the same name see earlier ones.
    /// </summary>
    private bool TryResolve(IncrementalAlterConfigsRequest.AlterConfigsResource resource, out List<(string Name, string? Value)> changes, out string? error)
    {
        changes = [];
        error = null;
        Topic? topic = null;
        if (resource.ResourceType == DescribeConfigsHandler.TopicResource) topics.TryGet(resource.ResourceName, out topic);
        foreach (var config in resource.Configs)
        {
            switch (config.ConfigOperation)
            {
                case Set:
                    changes.Add((config.Name, config.Value));
                    break;
                case Delete:
                    changes.Add((config.Name, null));
                    break;
                case Append or Subtract when topic is not null:
                    string current = changes.FindLast(c => c.Name == config.Name) is { Name: not null } earlier
                        ? earlier.Value ?? TopicConfig.DefaultValue(topics.Defaults, config.Name)
                        : TopicConfig.IsKnown(config.Name) ? TopicConfig.Value(topic.Options, topic.Overrides, config.Name) : "";
                    if (!TopicConfig.TryCombineList(config.Name, current, config.Value ?? "", config.ConfigOperation == Append, out var combined, out error))
                        return false;
                    changes.Add((config.Name, combined));
                    break;
                case Append or Subtract:
                    // An unknown topic: the controller answers UNKNOWN_TOPIC_OR_PARTITION for the resource.
                    changes.Add((config.Name, config.Value));
                    break;
                default:
                    error = $"Unknown config operation {config.ConfigOperation} for {config.Name}.";
                    return false;
            }
        }
        return true;
    }
}
