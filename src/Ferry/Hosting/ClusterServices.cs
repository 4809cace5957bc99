using System.Net;
using Ferry.Broker.Cluster;
using Ferry.Broker.Topics;
using Ferry.Cluster;
using Ferry.Cluster.Raft;
using Ferry.Configuration;
using Ferry.Kafka;

namespace Ferry.Hosting;

/// <summary>
/// With <c>--voters</c>: this node joins the metadata quorum, and the quorum-backed controller is the cluster view
/// and the metadata controller every handler uses. Without it nothing here is registered (a cluster of one).
/// </summary>
internal static class ClusterServices
{
    public static bool IsClustered(FerryOptions options) => !string.IsNullOrWhiteSpace(options.Cluster.Voters);

    /// <summary>Checks the cluster settings and registers the controller; a bad setting is a <see cref="FormatException"/> (one line, exit 2).</summary>
    public static IServiceCollection AddFerryCluster(this IServiceCollection services, FerryOptions options, KafkaOptions kafka,
        IPEndPoint kafkaListener, IPEndPoint httpListener)
    {
        var settings = options.Cluster;
        var voters = Voter.ParseList(settings.Voters!);
        if (settings.NodeId is not { } nodeId) throw new FormatException("--voters needs --node-id (Cluster:NodeId): which of the voters this node is.");
        if (voters.FirstOrDefault(v => v.NodeId == nodeId) is not { } self)
            throw new FormatException($"Node id {nodeId} is not in the voter list '{settings.Voters}'.");
        if (string.IsNullOrEmpty(settings.Secret))
            throw new FormatException("A cluster needs a shared secret: set Cluster:Secret in the config file or FERRY_CLUSTER__SECRET, the same on every node.");

        // Peers and clients need addresses they can dial: a wildcard listener advertises the host of this node's voter entry.
        string Host(IPEndPoint listener) => listener.Address.Equals(IPAddress.Any) || listener.Address.Equals(IPAddress.IPv6Any)
            ? self.EndPoint.Address.ToString()
            : listener.Address.ToString();
        var clusterOptions = new ClusterOptions
        {
            NodeId = nodeId,
            Voters = voters,
            Secret = settings.Secret,
            ClusterId = kafka.ClusterId,
            Directory = Path.Combine(Path.GetFullPath(options.Data), "cluster"),
            KafkaHost = kafka.AdvertisedHost ?? Host(kafkaListener),
            KafkaPort = kafka.AdvertisedPort ?? kafkaListener.Port,
            HttpEndPoint = $"http://{Host(httpListener)}:{httpListener.Port}",
            SessionTimeout = TimeSpan.FromMilliseconds(settings.SessionTimeoutMs),
            LowerElectionTimeoutMs = settings.ElectionTimeoutMs,
            UpperElectionTimeoutMs = settings.ElectionTimeoutMs * 2,
        };
        services.AddSingleton(sp => new RaftClusterController(clusterOptions, sp.GetRequiredService<TopicRegistry>(), sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton<IClusterView>(sp => sp.GetRequiredService<RaftClusterController>());
        services.AddSingleton<IMetadataController>(sp => sp.GetRequiredService<RaftClusterController>());
        services.AddHostedService<ClusterService>();
        return services;
    }
}

/// <summary>
/// Joins the quorum before the listeners open (hosted services start before Kestrel binds), after the broker has
/// opened its logs, so that replayed metadata finds them. The container stops it (disposes the controller) before
/// the topics close.
/// </summary>
internal sealed class ClusterService(RaftClusterController controller) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => controller.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
