using Ferry.Broker.Security.Acls;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>What the three ACL APIs share: who may call them, and Kafka's fields read as a filter.</summary>
internal static class AclRequests
{
    /// <summary>
    /// SECURITY_DISABLED without authorization (Kafka without an authorizer has no ACLs), CLUSTER_AUTHORIZATION_FAILED
    /// without <paramref name="operation"/> on the cluster (DESCRIBE to describe, ALTER to create and delete), else null.
    /// </summary>
    public static (short Error, string Message)? Refused(Authorizer authorizer, KafkaRequestContext context, AclOperation operation)
    {
        if (!authorizer.Enabled) return (ErrorCodes.SecurityDisabled, "No authorizer is configured (Security:Authorization is false).");
        if (!authorizer.AllowedOnCluster(context, operation)) return (ErrorCodes.ClusterAuthorizationFailed, $"{operation} on the cluster is needed to manage ACLs.");
        return null;
    }

    /// <summary>A filter from the wire; v0 knows no pattern types, so its names are literal.</summary>
    public static AclFilter Filter(KafkaRequestContext context, sbyte resourceType, string? resourceName, sbyte patternType,
        string? principal, string? host, sbyte operation, sbyte permission) =>
        new((AclResourceType)resourceType, resourceName, context.ApiVersion == 0 ? AclPatternType.Literal : (AclPatternType)patternType,
            principal, host, (AclOperation)operation, (AclPermission)permission);
}
