using Ferry.Broker.Cluster;
using Ferry.Broker.Security.Acls;
using Ferry.Broker.Topics;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>Maps the broker's topic outcomes to Kafka error codes, and describes a topic's configs.</summary>
internal static class TopicErrors
{
    /// <summary>Config sources as DescribeConfigs v1+ reports them.</summary>
    public const sbyte DynamicTopicConfig = 1;
    public const sbyte DefaultConfig = 5;

    public static short ToErrorCode(TopicError error) => error switch
    {
        TopicError.None => ErrorCodes.None,
        TopicError.TopicAlreadyExists => ErrorCodes.TopicAlreadyExists,
        TopicError.UnknownTopic => ErrorCodes.UnknownTopicOrPartition,
        TopicError.InvalidTopicName => ErrorCodes.InvalidTopicException,
        TopicError.InvalidPartitions => ErrorCodes.InvalidPartitions,
        TopicError.InvalidReplicationFactor => ErrorCodes.InvalidReplicationFactor,
        TopicError.InvalidConfig => ErrorCodes.InvalidConfig,
        _ => ErrorCodes.UnknownServerError,
    };

    public static IEnumerable<(string Name, string Value, sbyte Source)> DescribeConfigs(Topic topic) =>
        TopicConfig.Known.Select(name => (name, TopicConfig.Value(topic.Options, name),
            topic.Overrides.ContainsKey(name) ? DynamicTopicConfig : DefaultConfig));

    /// <summary>
    /// ALTER_CONFIGS on the topic, or on the cluster for a broker resource: the error to answer when the principal lacks
    /// it, or null.
    /// </summary>
    public static short? AlterConfigsRefused(Authorizer authorizer, KafkaRequestContext context, sbyte resourceType, string name)
    {
        if (resourceType == DescribeConfigsHandler.TopicResource)
            return authorizer.Allowed(context, AclOperation.AlterConfigs, AclResourceType.Topic, name) ? null : ErrorCodes.TopicAuthorizationFailed;
        return authorizer.AllowedOnCluster(context, AclOperation.AlterConfigs) ? null : ErrorCodes.ClusterAuthorizationFailed;
    }

    /// <summary>
    /// Applies config changes to a topic resource for AlterConfigs and IncrementalAlterConfigs alike: only
    /// topics can be altered; the outcome comes back as the response's error code and message.
    /// </summary>
    public static async ValueTask<(short Code, string? Message)> AlterTopicConfigsAsync(IMetadataController controller, sbyte resourceType, string name,
        IReadOnlyList<(string Name, string? Value)> changes, bool replaceAll, bool validateOnly)
    {
        if (resourceType != DescribeConfigsHandler.TopicResource) return (ErrorCodes.InvalidRequest, "Only topic configs can be altered.");
        var outcome = await controller.AlterConfigsAsync(name, changes, replaceAll, validateOnly).ConfigureAwait(false);
        return (ToErrorCode(outcome.Error), outcome.Message);
    }
}
