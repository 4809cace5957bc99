namespace Ferry.Broker.Topics;

/// <summary>Outcomes of topic administration, mapped by each protocol to its own error codes.</summary>
public enum TopicError
{
    None,
    TopicAlreadyExists,
    UnknownTopic,
    InvalidTopicName,
    InvalidPartitions,
    InvalidReplicationFactor,
    InvalidConfig,
}

public readonly record struct TopicResult(TopicError Error, string? Message = null)
{
    public static TopicResult Ok => default;
    public bool Succeeded => Error == TopicError.None;
}
