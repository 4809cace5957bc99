using System.Net;
using Ferry.Broker.Cluster;
using Ferry.Broker.Topics;
using Ferry.Cluster;
using Ferry.Cluster.Observer;
using Ferry.Cluster.Raft;
using Ferry.Broker;
using Ferry.Broker.Security;
using Ferry.Broker.Security.Acls;
using Ferry.Broker.Security.Permissions;
using Ferry.Broker.VirtualHosts;
using Ferry.Cluster.Security;
using Microsoft.Extensions.Options;
using Ferry.Configuration;
using Ferry.Hosting.Tls;
using Ferry.Kafka;
using Ferry.Peers;

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
        ListenerAddress kafkaAddress, IPEndPoint httpListener)
    {
        var kafkaListener = kafkaAddress.EndPoint;
        var settings = options.Cluster;
        var voters = Voter.ParseList(settings.Voters!);
        if (settings.NodeId is not { } nodeId) throw new FormatException("--voters needs --node-id (Cluster:NodeId): which of the voters this node is.");
        // A node id outside the voter list is a broker-only node (KRaft's broker role): it needs a running node to join.
        var self = voters.FirstOrDefault(v => v.NodeId == nodeId);
        var join = JoinList(settings.Join);
        if (self is null && join.Count == 0)
            throw new FormatException($"Node id {nodeId} is not in the voter list '{settings.Voters}': a broker-only node needs --join URL (Cluster:Join), the HTTP address of a running node.");
        if (nodeId < 0) throw new FormatException($"Node id {nodeId} is negative.");
        string secret = settings.Secret ?? "";
        if (secret.Length == 0)
        {
            // The contract starts a cluster with --node-id and --voters alone, so a missing secret cannot be refused.
            // Every node derives the same one from the voter list: peers must still know the list, but anyone who
            // does can join, hence the warning.
            secret = "voters:" + string.Join(",", voters.OrderBy(v => v.NodeId).Select(v => $"{v.NodeId}@{v.EndPoint}"));
            Console.Error.WriteLine("ferry: warning: no Cluster:Secret (FERRY_CLUSTER__SECRET) set: the cluster port authenticates peers only by the voter list; set the same secret on every node.");
        }

        // Peers and clients need addresses they can dial: a wildcard listener advertises the host of this node's voter entry.
        // (A broker-only node has no voter entry: its machine's name.)
        string Host(IPEndPoint listener) => listener.Address.Equals(IPAddress.Any) || listener.Address.Equals(IPAddress.IPv6Any)
            ? self?.EndPoint.Address.ToString() ?? Dns.GetHostName()
            : listener.Address.ToString();
        var clusterOptions = new ClusterOptions
        {
            NodeId = nodeId,
            Voters = voters,
            Secret = secret,
            ClusterId = kafka.ClusterId,
            Directory = Path.Combine(Path.GetFullPath(options.Data), "cluster"),
            KafkaHost = kafka.AdvertisedHost ?? Host(kafkaListener),
            KafkaPort = kafka.AdvertisedPort ?? kafkaListener.Port,
            KafkaSecurityProtocol = kafkaAddress.Scheme,
            HttpEndPoint = settings.AdvertisedHttp is { Length: > 0 } advertisedHttp
                ? "http://" + EndPointSetting(advertisedHttp, "Cluster:AdvertisedHttp")
                : $"http://{Host(httpListener)}:{httpListener.Port}",
            ListenEndPoint = settings.ListenAddress is { Length: > 0 } listen
                ? IPEndPoint.Parse(EndPointSetting(listen, "Cluster:ListenAddress (--cluster-listen)"))
                : null,
            SessionTimeout = TimeSpan.FromMilliseconds(settings.SessionTimeoutMs),
            LowerElectionTimeoutMs = settings.ElectionTimeoutMs,
            UpperElectionTimeoutMs = settings.ElectionTimeoutMs * 2,
            Join = self is null ? join : [],
        };
        // A directory of another cluster, node or voter list is refused here, before anything opens.
        ClusterIdentity.CheckOrCreate(clusterOptions);
        // The Kafka links between nodes authenticate as the cluster's peer principal, derived from the same secret.
        var peer = PeerPrincipal.FromSecret(secret);
        services.AddSingleton(peer);
        services.AddSingleton(sp => sp.GetService<TlsCertificates>() is { } tls
            ? new PeerCredentials(peer, tls.IsTrustedPeer, () => tls.Certificate)
            : new PeerCredentials(peer, null, null));
        services.AddSingleton(clusterOptions);
        if (self is not null)
        {
            services.AddSingleton(sp => new RaftClusterController(clusterOptions, sp.GetRequiredService<TopicRegistry>(), sp.GetRequiredService<ILoggerFactory>()));
            services.AddSingleton<IClusterMember>(sp => sp.GetRequiredService<RaftClusterController>());
            services.AddSingleton<IClusterView>(sp => sp.GetRequiredService<RaftClusterController>());
            services.AddSingleton<IMetadataController>(sp => sp.GetRequiredService<RaftClusterController>());
            services.AddSingleton<ControllerRequestSender>(sp => sp.GetRequiredService<RaftClusterController>());
        }
        else
        {
            services.AddSingleton(sp => new BrokerOnlyMember(clusterOptions, sp.GetRequiredService<TopicRegistry>(), sp.GetRequiredService<ILoggerFactory>()));
            services.AddSingleton<IClusterMember>(sp => sp.GetRequiredService<BrokerOnlyMember>());
            services.AddSingleton<IClusterView>(sp => sp.GetRequiredService<BrokerOnlyMember>());
            services.AddSingleton<IMetadataController>(sp => sp.GetRequiredService<BrokerOnlyMember>());
            services.AddSingleton<ControllerRequestSender>(sp => sp.GetRequiredService<BrokerOnlyMember>());
        }
        services.AddHostedService<ClusterService>();
        // After the cluster service: replica roles are replayed from metadata the controller has applied.
        services.AddHostedService<Ferry.Replication.ReplicationService>();
        AddQuorumSecurity(services, clusterOptions.Directory);
        return services;
    }

    /// <summary><c>--join</c>: comma-separated <c>HOST:PORT</c> or <c>http://HOST:PORT</c> of running nodes' admin listeners.</summary>
    private static List<string> JoinList(string? value)
    {
        var urls = new List<string>();
        foreach (var entry in (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string url = entry.Contains("://", StringComparison.Ordinal) ? entry : "http://" + entry;
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Port <= 0
                || uri.AbsolutePath != "/" || string.IsNullOrEmpty(uri.Host))
                throw new FormatException($"--join '{entry}' (Cluster:Join) is not HOST:PORT or http://HOST:PORT.");
            urls.Add($"{uri.Scheme}://{uri.Authority}");
        }
        return urls;
    }

    /// <summary>
    /// Users, ACLs, vhosts and permissions from the metadata quorum instead of this node's files (registered before
    /// the single-node stores, which are then not made). <see cref="ClusterSecurityService"/> follows the vhosts, imports
    /// the files once and seeds the configured users.
    /// </summary>
    private static void AddQuorumSecurity(IServiceCollection services, string clusterDirectory)
    {
        services.AddSingleton(sp => new QuorumSecurityClient(sp.GetRequiredService<ControllerRequestSender>()));
        services.AddSingleton(sp => new QuorumUserStore(sp.GetRequiredService<QuorumSecurityClient>(),
            sp.GetRequiredService<IOptions<FerryOptions>>().Value.Users.Select(u => User.Create(u.Name, u.Password, u.Tags))));
        services.AddSingleton<IUserStore>(sp => sp.GetRequiredService<QuorumUserStore>());
        services.AddSingleton<IAclStore>(sp => new QuorumAclStore(sp.GetRequiredService<QuorumSecurityClient>()));
        services.AddSingleton<IPermissionStore>(sp => new QuorumPermissionStore(sp.GetRequiredService<QuorumSecurityClient>()));
        services.AddSingleton<IVirtualHostCatalog>(sp => new QuorumVirtualHostCatalog(sp.GetRequiredService<QuorumSecurityClient>()));
        services.AddSingleton(sp => new VirtualHostFollower(sp.GetRequiredService<VirtualHostRegistry>(), sp.GetRequiredService<ControllerRequestSender>(),
            sp.GetRequiredService<ILogger<VirtualHostFollower>>()));
        services.AddSingleton(sp => new FileSecurityImport(sp.GetRequiredService<BrokerOptions>().DataDirectory, clusterDirectory,
            sp.GetRequiredService<ILogger<FileSecurityImport>>()));
    }

    /// <summary>Starts following the quorum's vhosts, after the AMQP broker has loaded this node's (call after <c>AddFerryAmqp</c>).</summary>
    public static IServiceCollection AddClusterSecurityService(this IServiceCollection services) => services.AddHostedService<ClusterSecurityService>();

    /// <summary>A <c>HOST:PORT</c> setting with an IP address (the inter-node addresses are dialled as given).</summary>
    private static string EndPointSetting(string value, string name) =>
        IPEndPoint.TryParse(value, out var endPoint) && endPoint.Port != 0
            ? value
            : throw new FormatException($"{name} '{value}' is not IP:PORT.");
}

/// <summary>
/// On a cluster: the local vhosts follow the quorum's from before the listeners open; then, in the background once a
/// controller answers, this node's file-stored security state is imported (once) and the configured users are created
/// if the cluster lacks them. Until then the configured users are accepted as configured (<see cref="QuorumUserStore"/>).
/// </summary>
internal sealed partial class ClusterSecurityService(VirtualHostFollower follower, FileSecurityImport import, QuorumUserStore users, IAclStore acls,
    IPermissionStore permissions, IVirtualHostCatalog catalog, VirtualHostRegistry vhosts, ILogger<ClusterSecurityService> logger) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _seeding = Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await follower.AttachAsync().ConfigureAwait(false);
        _seeding = SeedAsync(_stopping.Token);
    }

    private async Task SeedAsync(CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            try
            {
                // Each request waits up to the controller's deadline for a quorum; no quorum yet is one more round.
                await import.RunAsync(users, acls, permissions, catalog, vhosts, token).ConfigureAwait(false);
                await users.SeedAsync(token).ConfigureAwait(false);
                await follower.AllowRemovalAsync().ConfigureAwait(false);
                Seeded(logger);
                return;
            }
            catch (SecurityChangeRefusedException refused) when (refused.Unavailable)
            {
                StillWaiting(logger, refused.Message);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _seeding.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose() => _stopping.Dispose();

    [LoggerMessage(EventId = 9105, Level = LogLevel.Information, Message = "Configured users are in the metadata quorum; users, ACLs, vhosts and permissions come from it alone")]
    private static partial void Seeded(ILogger logger);

    [LoggerMessage(EventId = 9106, Level = LogLevel.Information, Message = "Configured users not yet seeded through the metadata quorum: {Reason}; retrying")]
    private static partial void StillWaiting(ILogger logger, string reason);
}

/// <summary>
/// Joins the quorum before the listeners open (hosted services start before Kestrel binds), after the broker has
/// opened its logs, so that replayed metadata finds them. The container stops it (disposes the controller) before
/// the topics close.
/// </summary>
internal sealed class ClusterService(IClusterMember controller, IHostApplicationLifetime lifetime) : IHostedService
{
    /// <summary>How long a stopping node waits for the controller to move its leaderships before it stops anyway.</summary>
    private static readonly TimeSpan ControlledShutdownTimeout = TimeSpan.FromSeconds(5);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // On SIGTERM, before the listeners close and the replicas stop: hand the leaderships over first, so that
        // clients find a new leader at once instead of after the session timeout.
        lifetime.ApplicationStopping.Register(() => controller.ShutDownAsync(ControlledShutdownTimeout).GetAwaiter().GetResult());
        return controller.StartAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
