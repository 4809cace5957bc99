namespace Ferry.Broker.Security.Permissions;

/// <summary>
/// Every user's permissions per vhost. One node keeps them in a file (<see cref="FilePermissionStore"/>); a cluster
/// keeps them in the metadata quorum behind this same interface.
/// </summary>
public interface IPermissionStore
{
    IReadOnlyList<VhostPermission> All { get; }

    VhostPermission? Find(string vhost, string user);

    /// <summary>Sets a user's permissions in a vhost, durably before it returns.</summary>
    ValueTask PutAsync(VhostPermission permission, CancellationToken cancellationToken = default);

    /// <summary>Removes them durably; false if there were none.</summary>
    ValueTask<bool> DeleteAsync(string vhost, string user, CancellationToken cancellationToken = default);

}
