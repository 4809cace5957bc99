using Ferry.Broker.Topics;

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
}
