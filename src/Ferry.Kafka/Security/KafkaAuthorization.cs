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

    /// <summary>
    /// Whether the connection may use an inter-broker API (replica Fetch and OffsetForLeaderEpoch, WriteTxnMarkers,
    /// AddPartitionsToTxn v4+): a peer that proved the cluster secret always; with authorization on, whoever holds
    /// CLUSTER_ACTION on the cluster (super users), as Kafka asks; otherwise nobody else on a listener that
    /// authenticates its clients, since an ordinary user is not a broker. A listener that authenticates nobody
    /// (PLAINTEXT, SSL) without authorization lets anyone do anything, as Kafka's does, and peers use it as such.
    /// </summary>
    public static bool AllowedAsPeer(this Authorizer authorizer, KafkaRequestContext context)
    {
        if (context.Session is not { } session || session.IsPeer) return true;
        if (authorizer.Enabled) return authorizer.AllowedOnCluster(context, AclOperation.ClusterAction);
        return !session.Listener.RequiresSasl;
    }

    /// <summary>Whether the principal may do the operation to some resource of the type (idempotent producers, KIP-679).</summary>
    public static bool AllowedOnAny(this Authorizer authorizer, KafkaRequestContext context, AclOperation operation, AclResourceType type) =>
        !authorizer.Enabled || context.Session is not { } session || authorizer.AuthorizeAny(session.Principal, session.Host, operation, type);
}
