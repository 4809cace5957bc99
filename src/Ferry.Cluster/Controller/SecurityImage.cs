using System.Collections.Immutable;
using Ferry.Broker.Security;
using Ferry.Broker.Security.Acls;
using Ferry.Broker.Security.Permissions;

namespace Ferry.Cluster.Controller;

/// <summary>
/// The committed users, Kafka ACLs, vhosts (other than <c>/</c>, which always exists) and AMQP permissions: the
/// security part of the <see cref="MetadataImage"/>. Immutable; <see cref="Apply"/> makes the next one, deterministically,
/// so every node that applies the same records holds the same users and rights.
/// </summary>
/// <param name="Version">Counts the applied changes, so caches of authorization decisions start over after each.</param>
public sealed record SecurityImage(
    ImmutableDictionary<string, User> Users,
    ImmutableArray<AclBinding> Acls,
    ImmutableSortedSet<string> Vhosts,
    ImmutableDictionary<(string Vhost, string User), VhostPermission> Permissions,
    long Version)
{
    public const string DefaultVhost = "/";

    public static readonly SecurityImage Empty = new(ImmutableDictionary.Create<string, User>(StringComparer.Ordinal), [],
        ImmutableSortedSet.Create<string>(StringComparer.Ordinal), ImmutableDictionary<(string, string), VhostPermission>.Empty, 0);

    public bool HasVhost(string name) => name == DefaultVhost || Vhosts.Contains(name);

    /// <summary>True for the record types this part of the image applies.</summary>
    public static bool Handles(MetadataRecordType type) => type is >= MetadataRecordType.PutUser and <= MetadataRecordType.DeletePermission;

    /// <summary>The image after <paramref name="record"/>, or null when it changes nothing (a stale or duplicate decision).</summary>
    public SecurityImage? Apply(MetadataRecord record)
    {
        var next = record.Type switch
        {
            MetadataRecordType.PutUser when record.UserName is { Length: > 0 } name && record.Credentials is { Count: > 0 } credentials =>
                this with { Users = Users.SetItem(name, new User(name, record.Tags ?? [], credentials)) },
            MetadataRecordType.DeleteUser when record.UserName is { } name && Users.ContainsKey(name) => this with { Users = Users.Remove(name) },
            MetadataRecordType.AddAcls when record.Acls is { } added && added.Any(a => !Acls.Contains(a)) =>
                this with { Acls = Acls.AddRange(added.Distinct().Where(a => !Acls.Contains(a))) },
            MetadataRecordType.RemoveAcls when record.Acls is { } removed && removed.Any(Acls.Contains) =>
                this with { Acls = Acls.RemoveAll(removed.Contains) },
            MetadataRecordType.PutVhost when record.Vhost is { } vhost && !HasVhost(vhost) => this with { Vhosts = Vhosts.Add(vhost) },
            MetadataRecordType.DeleteVhost when record.Vhost is { } vhost && Vhosts.Contains(vhost) => this with
            {
                Vhosts = Vhosts.Remove(vhost),
                Permissions = Permissions.RemoveRange(Permissions.Keys.Where(k => k.Vhost == vhost)),
            },
            MetadataRecordType.PutPermission when record is { Vhost: { } vhost, UserName: { } user } && HasVhost(vhost) => this with
            {
                Permissions = Permissions.SetItem((vhost, user), new VhostPermission(vhost, user, record.Configure ?? "", record.Write ?? "", record.Read ?? "")),
            },
            MetadataRecordType.DeletePermission when record is { Vhost: { } vhost, UserName: { } user } && Permissions.ContainsKey((vhost, user)) =>
                this with { Permissions = Permissions.Remove((vhost, user)) },
            _ => null,
        };
        return next is null ? null : next with { Version = Version + 1 };
    }

    public SecuritySnapshot ToSnapshot() => new(
        [.. Users.Values.OrderBy(u => u.Name, StringComparer.Ordinal).Select(u => new UserSnapshot(u.Name, [.. u.Tags], [.. u.Credentials]))],
        [.. Acls],
        [.. Vhosts],
        [.. Permissions.Values.OrderBy(p => p.Vhost, StringComparer.Ordinal).ThenBy(p => p.User, StringComparer.Ordinal)
            .Select(p => new PermissionSnapshot(p.Vhost, p.User, p.Configure, p.Write, p.Read))]);

    /// <summary>The image a snapshot holds; a snapshot written before security was in the quorum has none (empty).</summary>
    public static SecurityImage FromSnapshot(SecuritySnapshot? snapshot) => snapshot is null ? Empty : new(
        snapshot.Users.ToImmutableDictionary(u => u.Name, u => new User(u.Name, u.Tags, u.Credentials), StringComparer.Ordinal),
        [.. snapshot.Acls],
        ImmutableSortedSet.CreateRange(StringComparer.Ordinal, snapshot.Vhosts),
        snapshot.Permissions.ToImmutableDictionary(p => (p.Vhost, p.User), p => new VhostPermission(p.Vhost, p.User, p.Configure, p.Write, p.Read)),
        0);

    public sealed record SecuritySnapshot(List<UserSnapshot> Users, List<AclBinding> Acls, List<string> Vhosts, List<PermissionSnapshot> Permissions);

    public sealed record UserSnapshot(string Name, List<string> Tags, List<ScramCredential> Credentials);

    public sealed record PermissionSnapshot(string Vhost, string User, string Configure, string Write, string Read);
}
