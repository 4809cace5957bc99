using Ferry.Broker.Security.Permissions;
using Ferry.Cluster.Raft;

namespace Ferry.Cluster.Security;

/// <summary>A cluster's AMQP permissions: read from the applied metadata image (lock-free, expressions compiled once on apply), written through the controller.</summary>
public sealed class QuorumPermissionStore(QuorumSecurityClient client) : IPermissionStore
{
    public IReadOnlyList<VhostPermission> All =>
        [.. client.Image.Permissions.Values.OrderBy(p => p.Vhost, StringComparer.Ordinal).ThenBy(p => p.User, StringComparer.Ordinal)];

    public VhostPermission? Find(string vhost, string user) => client.Image.Permissions.GetValueOrDefault((vhost, user));

    public async ValueTask PutAsync(VhostPermission permission, CancellationToken cancellationToken = default) =>
        await client.ExecuteAsync(new ControllerRequest
        {
            Operation = ControllerOperation.PutPermission, Vhost = permission.Vhost, UserName = permission.User,
            Configure = permission.Configure, Write = permission.Write, Read = permission.Read,
        }, cancellationToken).ConfigureAwait(false);

    public async ValueTask<bool> DeleteAsync(string vhost, string user, CancellationToken cancellationToken = default) =>
        QuorumSecurityClient.Found(await client.ExecuteAsync(new ControllerRequest
        {
            Operation = ControllerOperation.DeletePermission, Vhost = vhost, UserName = user,
        }, cancellationToken).ConfigureAwait(false));
}
