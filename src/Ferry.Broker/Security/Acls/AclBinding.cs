namespace Ferry.Broker.Security.Acls;

/// <summary>Kafka's resource types, with the numbers its ACL messages carry (org.apache.kafka.common.resource.ResourceType).</summary>
public enum AclResourceType : sbyte
{
    Unknown = 0,
    Any = 1,
    Topic = 2,
    Group = 3,
    Cluster = 4,
    TransactionalId = 5,
    DelegationToken = 6,
    User = 7,
}

/// <summary>How an ACL's resource name matches (PatternType): ANY and MATCH only in filters.</summary>
public enum AclPatternType : sbyte
{
    Unknown = 0,
    Any = 1,
    Match = 2,
    Literal = 3,
    Prefixed = 4,
}

/// <summary>Kafka's ACL operations (AclOperation); the authorized-operations bit fields use these numbers as bit positions.</summary>
public enum AclOperation : sbyte
{
    Unknown = 0,
    Any = 1,
    All = 2,
    Read = 3,
    Write = 4,
    Create = 5,
    Delete = 6,
    Alter = 7,
    Describe = 8,
    ClusterAction = 9,
    DescribeConfigs = 10,
    AlterConfigs = 11,
    IdempotentWrite = 12,
    CreateTokens = 13,
    DescribeTokens = 14,
}

/// <summary>ALLOW or DENY (AclPermissionType); ANY only in filters.</summary>
public enum AclPermission : sbyte
{
    Unknown = 0,
    Any = 1,
    Deny = 2,
    Allow = 3,
}

/// <summary>
/// One Kafka ACL: who (<c>User:NAME</c> or <c>User:*</c>) from which host (an IP address or <c>*</c>) may or may not do
/// what to which resources (a literal name, <c>*</c>, or a prefix).
/// </summary>
public sealed record AclBinding(
    AclResourceType ResourceType, string ResourceName, AclPatternType PatternType,
    string Principal, string Host, AclOperation Operation, AclPermission Permission)
{
    /// <summary>The name of the one cluster resource, as Kafka has it.</summary>
    public const string ClusterName = "kafka-cluster";

    public const string Wildcard = "*";

    /// <summary>Why this binding cannot be stored, or null if it can (what CreateAcls answers INVALID_REQUEST with).</summary>
    public string? Invalid()
    {
        if (ResourceType is AclResourceType.Unknown or AclResourceType.Any || !Enum.IsDefined(ResourceType)) return "Invalid resource type";
        if (PatternType is not (AclPatternType.Literal or AclPatternType.Prefixed)) return "Invalid resource pattern type";
        if (Operation is AclOperation.Unknown or AclOperation.Any || !Enum.IsDefined(Operation)) return "Invalid operation";
        if (Permission is not (AclPermission.Allow or AclPermission.Deny)) return "Invalid permission type";
        if (ResourceName.Length == 0) return "Resource name must not be empty";
        if (ResourceType == AclResourceType.Cluster && (ResourceName != ClusterName || PatternType != AclPatternType.Literal))
            return "The only valid name for the CLUSTER resource is " + ClusterName;
        int colon = Principal.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == Principal.Length - 1) return "Invalid principal " + Principal + " (expected TYPE:NAME, such as User:alice)";
        if (Host.Length == 0) return "Host must not be empty (use * for any host)";
        if (Operation != AclOperation.All && !AclOperations.Supported(ResourceType).Contains(Operation))
            return $"Operation {Operation} does not apply to resource type {ResourceType}";
        return null;
    }

    /// <summary>Whether this binding's pattern covers the resource <paramref name="name"/> (literal, <c>*</c>, or prefix).</summary>
    public bool Covers(string name) => PatternType switch
    {
        AclPatternType.Literal => ResourceName == Wildcard || string.Equals(ResourceName, name, StringComparison.Ordinal),
        AclPatternType.Prefixed => name.StartsWith(ResourceName, StringComparison.Ordinal),
        _ => false,
    };
}
