namespace Ferry.Cluster;

/// <summary>This node's part in the cluster, as the host starts and stops it: a voter of the metadata quorum or a broker-only node.</summary>
public interface IClusterMember
{
    /// <summary>Returns once this node holds the committed metadata (and, broker-only, is registered): its listeners may open.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Kafka's controlled shutdown: the controller moves this node's leaderships away before it stops.</summary>
    Task ShutDownAsync(TimeSpan timeout);

    /// <summary>True when <paramref name="presented"/> is the cluster's shared secret (constant time).</summary>
    bool IsPeerSecret(string? presented);
}
