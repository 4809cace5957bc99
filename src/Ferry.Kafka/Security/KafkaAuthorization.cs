using Ferry.Broker.Security.Acls;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Security;

/// <summary>
/// The one way handlers ask the <see cref="Authorizer"/>: with the connection's principal and host. A handler driven
/// without a connection (no session) is not checked. Off, each call is a field read.
/// </summary>
public static class KafkaAuthorization
{
    public static bool Allowed(this Authorizer authorizer, KafkaRequestContext context, AclOperation operation, AclResourceType type, string name) =>
        !authorizer.Enabled || context.Session is not { } session || authorizer.Authorize(session.Principal, session.Host, operation, type, name);

    public static bool AllowedOnCluster(this Authorizer authorizer, KafkaRequestContext context, AclOperation operation) =>
        authorizer.Allowed(context, operation, AclResourceType.Cluster, AclBinding.ClusterName);

    /// <summary>The authorized-operations bit field for the resource, or Kafka's "not asked" value (int.MinValue).</summary>
    public static int AuthorizedOperations(this Authorizer authorizer, KafkaRequestContext context, bool asked, AclResourceType type, string name)
    {
        if (!asked) return int.MinValue;
        if (context.Session is not { } session) return AclOperations.AllBits(type);
        return authorizer.AuthorizedOperations(session.Principal, session.Host, type, name);
    }

    /// <summary>Whether the principal may do the operation to some resource of the type (idempotent producers, KIP-679).</summary>
    public static bool AllowedOnAny(this Authorizer authorizer, KafkaRequestContext context, AclOperation operation, AclResourceType type) =>
        !authorizer.Enabled || context.Session is not { } session || authorizer.AuthorizeAny(session.Principal, session.Host, operation, type);
}
