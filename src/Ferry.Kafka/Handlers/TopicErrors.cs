using Ferry.Broker.Cluster;
using Ferry.Broker.Security.Acls;
using Ferry.Broker.Topics;
using Ferry.Storage;
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
        TopicError.InvalidReplicaAssignment => ErrorCodes.InvalidReplicaAssignment,
        TopicError.NoReassignmentInProgress => ErrorCodes.NoReassignmentInProgress,
        TopicError.UnknownPartition => ErrorCodes.UnknownTopicOrPartition,
        _ => ErrorCodes.UnknownServerError,
    };

    /// <summary>
    /// Every topic config with its effective value and source, and its synonyms in Kafka's order (the topic's
    /// override, then the broker setting the default comes from).
    /// </summary>
    public static IEnumerable<DescribedConfig> DescribeConfigs(Topic topic, LogOptions defaults) =>
        TopicConfig.Definitions.Select(definition =>
        {
            string name = definition.Name;
            bool overridden = topic.Overrides.ContainsKey(name);
            var synonyms = new List<(string, string, sbyte)>(2);
            if (overridden) synonyms.Add((name, TopicConfig.Value(topic.Options, topic.Overrides, name), DynamicTopicConfig));
            if (definition.ServerSynonym is { } server) synonyms.Add((server, TopicConfig.DefaultValue(defaults, name), DefaultConfig));
            return new DescribedConfig(name, TopicConfig.Value(topic.Options, topic.Overrides, name), overridden ? DynamicTopicConfig : DefaultConfig,
                false, definition.Type, definition.Documentation, synonyms);
        });

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

/// <summary>One config as DescribeConfigs and CreateTopics report it.</summary>
internal sealed record DescribedConfig(string Name, string? Value, sbyte Source, bool ReadOnly, ConfigType Type, string Documentation,
    IReadOnlyList<(string Name, string Value, sbyte Source)> Synonyms);
