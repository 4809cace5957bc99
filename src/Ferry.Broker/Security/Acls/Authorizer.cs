using System.Collections.Concurrent;

namespace Ferry.Broker.Security.Acls;

/// <summary>
/// Kafka's ACL authorizer (AclAuthorizer / StandardAuthorizer semantics): super users pass; a matching DENY wins;
/// then a matching ALLOW for the operation or one that implies it; a resource no ACL covers is denied unless
/// <see cref="AuthorizerOptions.AllowEveryoneIfNoAclFound"/>. An ACL matches a principal by name or <c>User:*</c>, a host
/// by address or <c>*</c>, a resource by literal name, literal <c>*</c> or prefix. Users tagged <c>administrator</c> are
/// super users too.
/// </summary>
/// <remarks>
/// One decision path for every handler. Off, it answers true before touching anything. On, decisions are cached by
/// (principal, host, operation, resource): a hit is one dictionary lookup on strings the connection already holds.
/// The cache starts over whenever the ACLs or the users change (their versions), and is bounded.
/// </remarks>
public sealed class Authorizer
{
    private const int MaxCachedDecisions = 100_000;
    public const string AnyPrincipal = "User:*";

    private readonly AuthorizerOptions _options;
    private readonly IAclStore _acls;
    private readonly IUserStore _users;
    private readonly HashSet<string> _superUsers;
    private volatile DecisionCache _cache;

    public Authorizer(AuthorizerOptions options, IAclStore acls, IUserStore users)
    {
        _options = options;
        _acls = acls;
        _users = users;
        _superUsers = new HashSet<string>(options.SuperUsers, StringComparer.Ordinal);
        _cache = new DecisionCache(-1, -1);
    }

    public bool Enabled => _options.Enabled;

    public IAclStore Acls => _acls;

    /// <summary>Whether <paramref name="principal"/> connecting from <paramref name="host"/> may do <paramref name="operation"/> to the resource.</summary>
    public bool Authorize(string principal, string host, AclOperation operation, AclResourceType type, string name)
    {
        if (!_options.Enabled) return true;
        var cache = Current();
        var key = new DecisionKey(principal, host, operation, type, name);
        if (cache.Decisions.TryGetValue(key, out bool allowed)) return allowed;
        allowed = Decide(principal, host, operation, type, name);
        if (cache.Decisions.Count < MaxCachedDecisions) cache.Decisions.TryAdd(key, allowed);
        return allowed;
    }

    /// <summary>
    /// The authorized-operations bit field (bit N set: operation N allowed) of the resource, as Metadata, DescribeGroups
    /// and DescribeCluster report it. Without authorization every operation of the type is allowed.
    /// </summary>
    public int AuthorizedOperations(string principal, string host, AclResourceType type, string name)
    {
        if (!_options.Enabled) return AclOperations.AllBits(type);
        int bits = 0;
        foreach (var op in AclOperations.Supported(type))
            if (Authorize(principal, host, op, type, name)) bits |= 1 << (int)op;
        return bits;
    }

    /// <summary>
    /// Whether the principal may do <paramref name="operation"/> to at least one resource of the type (Kafka's
    /// authorizeByResourceType, KIP-679: an idempotent producer needs WRITE on some topic or IDEMPOTENT_WRITE on the cluster).
    /// </summary>
    public bool AuthorizeAny(string principal, string host, AclOperation operation, AclResourceType type)
    {
        if (!_options.Enabled || IsSuperUser(principal)) return true;
        var all = _acls.All;
        foreach (var allow in all)
        {
            if (allow.Permission != AclPermission.Allow || allow.ResourceType != type || !AllowImplies(allow, operation) || !Applies(allow, principal, host)) continue;
            bool denied = false;
            foreach (var deny in all)
            {
                if (deny.Permission != AclPermission.Deny || deny.ResourceType != type || !Applies(deny, principal, host)) continue;
                if (deny.Operation != operation && deny.Operation != AclOperation.All) continue;
                // A deny that covers every name the allow could stand for shadows it.
                if (deny.PatternType == AclPatternType.Literal && deny.ResourceName == AclBinding.Wildcard
                    || deny.PatternType == AclPatternType.Prefixed && allow.ResourceName.StartsWith(deny.ResourceName, StringComparison.Ordinal)
                    || deny.PatternType == allow.PatternType && deny.ResourceName == allow.ResourceName)
                {
                    denied = true;
                    break;
                }
            }
            if (!denied) return true;
        }
        return false;
    }

    public bool IsSuperUser(string principal)
    {
        if (_superUsers.Contains(principal)) return true;
        return principal.StartsWith("User:", StringComparison.Ordinal) && _users.Find(principal[5..]) is { IsAdministrator: true };
    }

    private bool Decide(string principal, string host, AclOperation operation, AclResourceType type, string name)
    {
        if (IsSuperUser(principal)) return true;
        bool anyAcl = false, allowed = false;
        foreach (var acl in _acls.All)
        {
            if (acl.ResourceType != type || !acl.Covers(name)) continue;
            anyAcl = true;
            if (!Applies(acl, principal, host)) continue;
            if (acl.Permission == AclPermission.Deny && (acl.Operation == operation || acl.Operation == AclOperation.All)) return false;
            if (acl.Permission == AclPermission.Allow && AllowImplies(acl, operation)) allowed = true;
        }
        return allowed || (!anyAcl && _options.AllowEveryoneIfNoAclFound);
    }

    private static bool AllowImplies(AclBinding acl, AclOperation operation) => AclOperations.AllowImplies(acl.Operation, operation);

    private static bool Applies(AclBinding acl, string principal, string host) =>
        (acl.Principal == principal || acl.Principal == AnyPrincipal) && (acl.Host == AclBinding.Wildcard || acl.Host == host);

    private DecisionCache Current()
    {
        var cache = _cache;
        long acls = _acls.Version, users = _users.Version;
        if (cache.AclVersion == acls && cache.UserVersion == users) return cache;
        cache = new DecisionCache(acls, users);
        _cache = cache;
        return cache;
    }

    private readonly record struct DecisionKey(string Principal, string Host, AclOperation Operation, AclResourceType Type, string Name);

    private sealed class DecisionCache(long aclVersion, long userVersion)
    {
        public long AclVersion { get; } = aclVersion;
        public long UserVersion { get; } = userVersion;
        public ConcurrentDictionary<DecisionKey, bool> Decisions { get; } = new();
    }
}
