using Ferry.Broker.Security;
using Ferry.Broker.Security.Acls;
using Ferry.Broker.Security.Permissions;
using Ferry.Broker.VirtualHosts;

namespace Ferry.Cluster.Controller;

public enum SecurityError
{
    None,
    /// <summary>The request itself is wrong (a reserved or empty name, an unknown tag, an invalid ACL or expression...).</summary>
    Invalid,
    /// <summary>What it deletes (or the vhost it names) does not exist.</summary>
    NotFound,
}

/// <summary>
/// What the controller decided: the outcome, the record to commit (null: nothing changes), whether the thing was there
/// already, and for an ACL removal the bindings each filter matched.
/// </summary>
public sealed record SecurityDecision(SecurityError Error, string? Message, MetadataRecord? Record, bool Existed = false,
    List<List<AclBinding>>? Removed = null)
{
    public static SecurityDecision Refused(SecurityError error, string message) => new(error, message, null);
}

/// <summary>
/// The controller's decisions on users, ACLs, vhosts and permissions: checked against the committed
/// <see cref="SecurityImage"/> and turned into records, with no clock, randomness or I/O (a SCRAM credential's salt is
/// drawn by the node that took the password, before it asks), so they are tested without a quorum.
/// </summary>
public static class SecurityDecisions
{
    /// <param name="ifAbsent">Create only: a user that exists is kept as it is (how configured users are seeded on a cluster).</param>
    public static SecurityDecision PutUser(SecurityImage image, string name, IReadOnlyList<string> tags, IReadOnlyList<ScramCredential> credentials,
        bool ifAbsent = false)
    {
        if (name.Length == 0) return SecurityDecision.Refused(SecurityError.Invalid, "A user name must not be empty.");
        if (PeerPrincipal.IsReserved(name)) return SecurityDecision.Refused(SecurityError.Invalid, $"User name '{name}' is reserved for the cluster's own links.");
        if (tags.FirstOrDefault(t => !User.KnownTags.Contains(t, StringComparer.Ordinal)) is { } unknown)
            return SecurityDecision.Refused(SecurityError.Invalid, $"Unknown tag '{unknown}': one of {string.Join(", ", User.KnownTags)}.");
        if (credentials.Count == 0) return SecurityDecision.Refused(SecurityError.Invalid, "A user needs at least one SCRAM credential.");
        if (credentials.Select(c => c.Mechanism).Distinct().Count() != credentials.Count)
            return SecurityDecision.Refused(SecurityError.Invalid, "A user has at most one credential per SCRAM mechanism.");
        if (credentials.Any(c => c.Iterations <= 0 || c.Salt.Length == 0 || c.StoredKey.Length != ScramCredential.HashSize(c.Mechanism)
            || c.ServerKey.Length != ScramCredential.HashSize(c.Mechanism)))
            return SecurityDecision.Refused(SecurityError.Invalid, "A SCRAM credential needs a salt, a positive iteration count and keys of its hash's size.");
        bool existed = image.Users.ContainsKey(name);
        if (existed && ifAbsent) return new SecurityDecision(SecurityError.None, null, null, Existed: true);
        return new SecurityDecision(SecurityError.None, null,
            new MetadataRecord { Type = MetadataRecordType.PutUser, UserName = name, Tags = [.. tags.Distinct(StringComparer.Ordinal)], Credentials = [.. credentials] },
            existed);
    }

    public static SecurityDecision DeleteUser(SecurityImage image, string name) =>
        image.Users.ContainsKey(name)
            ? new SecurityDecision(SecurityError.None, null, new MetadataRecord { Type = MetadataRecordType.DeleteUser, UserName = name }, Existed: true)
            : SecurityDecision.Refused(SecurityError.NotFound, $"No user '{name}'.");

    /// <summary>All or none: one invalid binding refuses the request. Bindings there already (or repeated) are kept once.</summary>
    public static SecurityDecision AddAcls(SecurityImage image, IReadOnlyList<AclBinding> bindings)
    {
        foreach (var binding in bindings)
        {
            if (binding.Invalid() is { } invalid) return SecurityDecision.Refused(SecurityError.Invalid, invalid);
        }
        var added = bindings.Distinct().Where(b => !image.Acls.Contains(b)).ToList();
        return new SecurityDecision(SecurityError.None, null,
            added.Count == 0 ? null : new MetadataRecord { Type = MetadataRecordType.AddAcls, Acls = added }, Existed: added.Count == 0);
    }

    /// <summary>Resolves each filter against the committed ACLs: the record removes exactly the bindings matched.</summary>
    public static SecurityDecision RemoveAcls(SecurityImage image, IReadOnlyList<AclFilter> filters)
    {
        foreach (var filter in filters)
        {
            if (filter.Invalid() is { } invalid) return SecurityDecision.Refused(SecurityError.Invalid, invalid);
        }
        var removed = filters.Select(f => image.Acls.Where(f.Matches).ToList()).ToList();
        var all = removed.SelectMany(r => r).Distinct().ToList();
        return new SecurityDecision(SecurityError.None, null,
            all.Count == 0 ? null : new MetadataRecord { Type = MetadataRecordType.RemoveAcls, Acls = all }, Removed: removed);
    }

    public static SecurityDecision PutVhost(SecurityImage image, string name)
    {
        if (!VirtualHostRegistry.IsValidName(name)) return SecurityDecision.Refused(SecurityError.Invalid, "A vhost name is 1 to 255 characters.");
        if (image.HasVhost(name)) return new SecurityDecision(SecurityError.None, null, null, Existed: true);
        return new SecurityDecision(SecurityError.None, null, new MetadataRecord { Type = MetadataRecordType.PutVhost, Vhost = name });
    }

    public static SecurityDecision DeleteVhost(SecurityImage image, string name)
    {
        if (name == SecurityImage.DefaultVhost) return SecurityDecision.Refused(SecurityError.Invalid, "The default vhost / cannot be deleted.");
        if (!image.Vhosts.Contains(name)) return SecurityDecision.Refused(SecurityError.NotFound, $"Vhost '{name}' does not exist.");
        return new SecurityDecision(SecurityError.None, null, new MetadataRecord { Type = MetadataRecordType.DeleteVhost, Vhost = name }, Existed: true);
    }

    public static SecurityDecision PutPermission(SecurityImage image, string vhost, string user, string configure, string write, string read)
    {
        if (!image.HasVhost(vhost)) return SecurityDecision.Refused(SecurityError.NotFound, $"Vhost '{vhost}' does not exist.");
        if (!image.Users.ContainsKey(user)) return SecurityDecision.Refused(SecurityError.Invalid, $"No user '{user}'.");
        foreach (string pattern in new[] { configure, write, read })
        {
            if (VhostPermission.Invalid(pattern) is { } invalid) return SecurityDecision.Refused(SecurityError.Invalid, $"'{pattern}' is no regular expression: {invalid}");
        }
        return new SecurityDecision(SecurityError.None, null, new MetadataRecord
        {
            Type = MetadataRecordType.PutPermission, Vhost = vhost, UserName = user, Configure = configure, Write = write, Read = read,
        }, Existed: image.Permissions.ContainsKey((vhost, user)));
    }

    public static SecurityDecision DeletePermission(SecurityImage image, string vhost, string user) =>
        image.Permissions.ContainsKey((vhost, user))
            ? new SecurityDecision(SecurityError.None, null, new MetadataRecord { Type = MetadataRecordType.DeletePermission, Vhost = vhost, UserName = user },
                Existed: true)
            : SecurityDecision.Refused(SecurityError.NotFound, "No such permission.");
}
