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
    /// <summary>A reassignment names no replicas, a replica twice, or a node that is not registered.</summary>
    InvalidReplicaAssignment,
    /// <summary>A reassignment was cancelled where none runs.</summary>
    NoReassignmentInProgress,
    /// <summary>The partition does not exist in a topic that does.</summary>
    UnknownPartition,
}

public readonly record struct TopicResult(TopicError Error, string? Message = null)
{
    public static TopicResult Ok => default;
    public bool Succeeded => Error == TopicError.None;
}
