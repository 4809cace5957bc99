using Ferry.Broker.VirtualHosts;
using Ferry.Cluster.Raft;

namespace Ferry.Cluster.Security;

/// <summary>
/// A cluster's vhosts: created and deleted through the controller; every node's <see cref="VirtualHostFollower"/> makes
/// its registry match on apply, so the vhost exists (or is gone) here when the call completes. A vhost's queues and
/// exchanges stay node-local.
/// </summary>
public sealed class QuorumVirtualHostCatalog(QuorumSecurityClient client) : IVirtualHostCatalog
{
    public async ValueTask<bool> AddAsync(string name, CancellationToken cancellationToken = default) =>
        !(await client.ExecuteAsync(new ControllerRequest { Operation = ControllerOperation.PutVhost, Vhost = name }, cancellationToken).ConfigureAwait(false)).Existed;

    public async ValueTask<bool> DeleteAsync(string name, CancellationToken cancellationToken = default) =>
        QuorumSecurityClient.Found(await client.ExecuteAsync(new ControllerRequest { Operation = ControllerOperation.DeleteVhost, Vhost = name },
            cancellationToken).ConfigureAwait(false));
}
