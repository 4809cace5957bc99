using Ferry.Broker.VirtualHosts;
using Ferry.Cluster.Controller;
using Ferry.Cluster.Raft;
using Microsoft.Extensions.Logging;

namespace Ferry.Cluster.Security;

/// <summary>
/// Makes this node's <see cref="VirtualHostRegistry"/> hold the vhosts the metadata quorum has: each applied PutVhost
/// creates the vhost's local broker, each DeleteVhost deletes it with its queues; after a restart or an installed
/// snapshot the registry is reconciled with the image (a vhost deleted while this node was down goes then).
/// </summary>
/// <remarks>
/// Vhosts this node had in its own list and the quorum does not are removed only once the one-time import of the
/// node's file-stored state is done (<see cref="AllowRemovalAsync"/>): until then they are imported, not deleted.
/// </remarks>
public sealed partial class VirtualHostFollower(VirtualHostRegistry vhosts, ControllerRequestSender controller, ILogger<VirtualHostFollower> logger)
{
    private volatile bool _removeUnknown;

    /// <summary>Follows every applied vhost record from now on, and catches up with what was applied before.</summary>
    public async ValueTask AttachAsync()
    {
        controller.Applier.SecurityApplied = OnAppliedAsync;
        controller.Applier.SecurityRestored = ReconcileAsync;
        await ReconcileAsync().ConfigureAwait(false);
    }

    /// <summary>From now on a local vhost the quorum does not have is deleted (the import is done); reconciles at once.</summary>
    public ValueTask AllowRemovalAsync()
    {
        _removeUnknown = true;
        return ReconcileAsync();
    }

    private async ValueTask OnAppliedAsync(MetadataRecord record)
    {
        switch (record.Type)
        {
            case MetadataRecordType.PutVhost when record.Vhost is { } name:
                Add(name);
                break;
            case MetadataRecordType.DeleteVhost when record.Vhost is { } name:
                await DeleteAsync(name).ConfigureAwait(false);
                break;
        }
    }

    private async ValueTask ReconcileAsync()
    {
        var image = controller.Image.Security;
        foreach (string name in image.Vhosts) Add(name);
        if (!_removeUnknown) return;
        foreach (string name in vhosts.Names)
        {
            if (!image.HasVhost(name)) await DeleteAsync(name).ConfigureAwait(false);
        }
    }

    private void Add(string name)
    {
        if (vhosts.Add(name)) VhostCreated(logger, name);
    }

    private async ValueTask DeleteAsync(string name)
    {
        if (await vhosts.DeleteAsync(name).ConfigureAwait(false)) VhostDeleted(logger, name);
    }

    [LoggerMessage(EventId = 9101, Level = LogLevel.Information, Message = "Vhost {Vhost} created on this node, as the metadata quorum has it")]
    private static partial void VhostCreated(ILogger logger, string vhost);

    [LoggerMessage(EventId = 9102, Level = LogLevel.Information, Message = "Vhost {Vhost} deleted on this node with its queues, as the metadata quorum has it")]
    private static partial void VhostDeleted(ILogger logger, string vhost);
}
