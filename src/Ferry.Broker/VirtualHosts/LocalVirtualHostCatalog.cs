using Ferry.Broker.Security.Permissions;

namespace Ferry.Broker.VirtualHosts;

/// <summary>A single node's vhosts: its own registry, and its own permission store cleared of a deleted vhost.</summary>
public sealed class LocalVirtualHostCatalog(VirtualHostRegistry vhosts, IPermissionStore permissions) : IVirtualHostCatalog
{
    public ValueTask<bool> AddAsync(string name, CancellationToken cancellationToken = default) => new(vhosts.Add(name));

    public async ValueTask<bool> DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        if (!await vhosts.DeleteAsync(name).ConfigureAwait(false)) return false;
        foreach (var permission in permissions.All.Where(p => p.Vhost == name).ToList())
            await permissions.DeleteAsync(permission.Vhost, permission.User, cancellationToken).ConfigureAwait(false);
        return true;
    }
}
