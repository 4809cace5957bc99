namespace Ferry.Broker.Security.Acls;

/// <summary>
/// What DescribeAcls and DeleteAcls select (Kafka's AclBindingFilter): null strings and ANY match everything; the
/// pattern type ANY matches both pattern types by exact name, MATCH every binding that applies to the named resource
/// (its literal name, the literal <c>*</c>, and every prefix of it).
/// </summary>
public sealed record AclFilter(
    AclResourceType ResourceType, string? ResourceName, AclPatternType PatternType,
    string? Principal, string? Host, AclOperation Operation, AclPermission Permission)
{
    public static readonly AclFilter Everything = new(AclResourceType.Any, null, AclPatternType.Any, null, null, AclOperation.Any, AclPermission.Any);

    /// <summary>Why this filter is unusable, or null.</summary>
    public string? Invalid()
    {
        if (ResourceType == AclResourceType.Unknown || !Enum.IsDefined(ResourceType)) return "Invalid resource type filter";
        if (PatternType == AclPatternType.Unknown || !Enum.IsDefined(PatternType)) return "Invalid pattern type filter";
        if (Operation == AclOperation.Unknown || !Enum.IsDefined(Operation)) return "Invalid operation filter";
        if (Permission == AclPermission.Unknown || !Enum.IsDefined(Permission)) return "Invalid permission type filter";
        return null;
    }

    public bool Matches(AclBinding binding)
    {
        if (ResourceType != AclResourceType.Any && ResourceType != binding.ResourceType) return false;
        if (Principal is not null && !string.Equals(Principal, binding.Principal, StringComparison.Ordinal)) return false;
        if (Host is not null && !string.Equals(Host, binding.Host, StringComparison.Ordinal)) return false;
        if (Operation != AclOperation.Any && Operation != binding.Operation) return false;
        if (Permission != AclPermission.Any && Permission != binding.Permission) return false;
        return PatternType switch
        {
            AclPatternType.Any => ResourceName is null || string.Equals(ResourceName, binding.ResourceName, StringComparison.Ordinal),
            AclPatternType.Match => ResourceName is null || binding.Covers(ResourceName),
            _ => PatternType == binding.PatternType && (ResourceName is null || string.Equals(ResourceName, binding.ResourceName, StringComparison.Ordinal)),
        };
    }
}
