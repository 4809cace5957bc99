namespace Ferry.Broker.Security.Acls;

/// <summary>Kafka authorization (the host's <c>Security</c> section).</summary>
public sealed class AuthorizerOptions
{
    /// <summary>Check ACLs on every Kafka request (<c>Security:Authorization</c>, default false: everyone may do everything).</summary>
    public bool Enabled { get; init; }

    /// <summary>Principals (<c>User:alice</c>, <c>User:CN=admin,O=Example</c>) that pass every check, Kafka's <c>super.users</c>.</summary>
    public IReadOnlyCollection<string> SuperUsers { get; init; } = [];

    /// <summary>Allow an operation on a resource that no ACL names (Kafka's allow.everyone.if.no.acl.found, default false).</summary>
    public bool AllowEveryoneIfNoAclFound { get; init; }
}
