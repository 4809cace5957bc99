namespace Ferry.Broker.VirtualHosts;

/// <summary>
/// Where vhosts are created and deleted. One node changes its <see cref="VirtualHostRegistry"/> directly
/// (<see cref="LocalVirtualHostCatalog"/>); a cluster asks the metadata quorum, and every node's registry follows what
/// the quorum applied. Either way the change has taken effect on this node when the call completes.
/// </summary>
public interface IVirtualHostCatalog
{
    /// <summary>Creates a vhost; false if it exists.</summary>
    ValueTask<bool> AddAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Deletes a vhost with everything in it and every permission in it; false if there is none.</summary>
    ValueTask<bool> DeleteAsync(string name, CancellationToken cancellationToken = default);
}
