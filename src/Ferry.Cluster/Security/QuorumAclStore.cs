using Ferry.Broker.Security.Acls;
using Ferry.Cluster.Raft;

namespace Ferry.Cluster.Security;

/// <summary>A cluster's Kafka ACLs: read from the applied metadata image (lock-free), written through the controller.</summary>
public sealed class QuorumAclStore(QuorumSecurityClient client) : IAclStore
{
    public IReadOnlyList<AclBinding> All => client.Image.Acls;

    public long Version => client.Image.Version;

    public async ValueTask AddAsync(IReadOnlyList<AclBinding> bindings, CancellationToken cancellationToken = default) =>
        await client.ExecuteAsync(new ControllerRequest { Operation = ControllerOperation.AddAcls, Acls = [.. bindings] }, cancellationToken).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<IReadOnlyList<AclBinding>>> RemoveAsync(IReadOnlyList<AclFilter> filters, CancellationToken cancellationToken = default)
    {
        var reply = await client.ExecuteAsync(new ControllerRequest { Operation = ControllerOperation.RemoveAcls, AclFilters = [.. filters] }, cancellationToken)
            .ConfigureAwait(false);
        return SecurityRequests.Removed(reply, filters.Count);
    }
}
