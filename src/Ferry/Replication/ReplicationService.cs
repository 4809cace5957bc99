using Ferry.Broker.Cluster;
using Ferry.Broker.Topics;
using Ferry.Cluster.Replication;

namespace Ferry.Replication;

/// <summary>
/// Starts the replica manager once the node has joined the quorum (registered after the cluster service, and
/// hosted services start in order), so that the replayed roles find every local log open; stops fetchers
/// before the logs close.
/// </summary>
/// <remarks>
/// <c>Cluster:ReplicaLagTimeMaxMs</c> sets Kafka's <c>replica.lag.time.max.ms</c> (default 30000): how long a
/// follower may stay behind before it leaves the ISR.
/// </remarks>
internal sealed class ReplicationService(TopicRegistry topics, IClusterView view, IMetadataController controller,
    IConfiguration configuration, ILoggerFactory loggerFactory, Ferry.Peers.PeerCredentials credentials) : IHostedService, IAsyncDisposable
{
    private readonly KafkaReplicaTransport _transport = new(view, credentials);
    private ReplicaManager? _manager;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var options = new ReplicationOptions();
        if (configuration.GetValue<int?>("Cluster:ReplicaLagTimeMaxMs") is { } lagMs and > 0)
            options = new ReplicationOptions { ReplicaLagTimeMax = TimeSpan.FromMilliseconds(lagMs) };
        _manager = new ReplicaManager(topics, view, controller, _transport, options, loggerFactory);
        _manager.Start();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_manager is not null) await _manager.DisposeAsync().ConfigureAwait(false);
        _manager = null;
        _transport.Dispose();
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None).ConfigureAwait(false);
}
