using Ferry.Broker;
using Ferry.Broker.Cluster;
using Ferry.Broker.Groups;
using Ferry.Broker.Security;
using Ferry.Broker.Security.Acls;
using Ferry.Broker.Security.Permissions;
using Ferry.Broker.Topics;
using Ferry.Broker.Transactions;
using Ferry.Configuration;
using Ferry.Kafka;
using Ferry.Storage;
using Ferry.Storage.Compaction;
using Ferry.Storage.Files;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Ferry.Hosting;

/// <summary>The domain's singletons, built from the host's settings, and the service that opens them before any listener accepts.</summary>
internal static class BrokerServices
{
    public static IServiceCollection AddFerryBroker(this IServiceCollection services)
    {
        services.AddSingleton(sp =>
        {
            var ferry = sp.GetRequiredService<IOptions<FerryOptions>>().Value;
            var storage = ferry.Storage;
            if (storage.MaxOpenFiles > 0) FileHandleCache.Shared.Limit = storage.MaxOpenFiles;
            return new BrokerOptions
            {
                DataDirectory = sp.GetRequiredService<DataDirectoryLock>().Directory,
                DefaultLogOptions = new LogOptions
                {
                    SegmentBytes = storage.SegmentBytes,
                    SegmentMs = storage.SegmentMs,
                    RetentionMs = storage.RetentionMs,
                    RetentionBytes = storage.RetentionBytes,
                    MaxBatchBytes = storage.MaxBatchBytes,
                    FsyncOnDurableWrite = storage.Fsync,
                },
                RetentionCheckInterval = TimeSpan.FromMilliseconds(storage.RetentionCheckIntervalMs),
                Cleaner = new CleanerOptions
                {
                    DedupeBufferBytes = storage.CleanerDedupeBufferBytes,
                    IoMaxBytesPerSecond = storage.CleanerIoMaxBytesPerSecond,
                    BackoffMs = storage.CleanerBackoffMs,
                },
                Replicated = ClusterServices.IsClustered(ferry),
            };
        });
        services.AddSingleton(sp => TopicRegistry.Open(sp.GetRequiredService<BrokerOptions>(), sp.GetRequiredService<ILoggerFactory>()));
        // Without --voters this node is a cluster of one: its own controller, leader of everything, no network.
        // (ClusterServices registers the quorum-backed view and controller first when --voters is given.)
        services.AddSingleton(sp =>
        {
            var kafka = sp.GetRequiredService<IOptions<KafkaOptions>>().Value;
            return new SingleNodeCluster(sp.GetRequiredService<TopicRegistry>(), sp.GetRequiredService<BrokerOptions>(), kafka.NodeId, kafka.ClusterId);
        });
        services.TryAddSingleton<IClusterView>(sp => sp.GetRequiredService<SingleNodeCluster>());
        services.TryAddSingleton<IMetadataController>(sp => sp.GetRequiredService<SingleNodeCluster>());
        services.AddSingleton(sp => new ProducerIdAllocator(sp.GetRequiredService<IMetadataController>()));
        services.AddSingleton(sp =>
        {
            var groups = sp.GetRequiredService<IOptions<FerryOptions>>().Value.Groups;
            var options = new GroupOptions
            {
                InitialRebalanceDelayMs = groups.InitialRebalanceDelayMs,
                MinSessionTimeoutMs = groups.MinSessionTimeoutMs,
                MaxSessionTimeoutMs = groups.MaxSessionTimeoutMs,
                OffsetsRetentionMinutes = groups.OffsetsRetentionMinutes,
                OffsetsRetentionCheckIntervalMs = groups.OffsetsRetentionCheckIntervalMs,
                OffsetMetadataMaxBytes = groups.OffsetMetadataMaxBytes,
                OffsetsTopicPartitions = groups.OffsetsTopicNumPartitions,
            };
            // Resolved after the topic registry, so the container disposes it first: groups stop before topics close.
            // A single node leads every offsets partition now; a cluster node loads those it comes to lead (BrokerService).
            var broker = sp.GetRequiredService<BrokerOptions>();
            var topics = sp.GetRequiredService<TopicRegistry>();
            var loggers = sp.GetRequiredService<ILoggerFactory>();
            return sp.GetRequiredService<IClusterView>() is SingleNodeCluster
                ? GroupCoordinator.Open(broker, options, topics, loggers)
                : GroupCoordinator.OpenClustered(broker, options, topics, loggers);
        });
        services.AddSingleton(sp =>
        {
            var settings = sp.GetRequiredService<IOptions<FerryOptions>>().Value.Transactions;
            var options = new TransactionOptions
            {
                MaxTimeoutMs = settings.MaxTimeoutMs,
                AbortTimedOutTransactionCleanupIntervalMs = settings.AbortTimedOutTransactionCleanupIntervalMs,
                TransactionalIdExpirationMs = settings.TransactionalIdExpirationMs,
                StateLogPartitions = settings.StateLogNumPartitions,
            };
            // Resolved after the group coordinator, so the container disposes it first: its markers need the groups.
            // A single node leads every state partition now; a cluster node loads those it comes to lead (BrokerService).
            var broker = sp.GetRequiredService<BrokerOptions>();
            var topics = sp.GetRequiredService<TopicRegistry>();
            var groups = sp.GetRequiredService<GroupCoordinator>();
            var cluster = sp.GetRequiredService<IClusterView>();
            return cluster is SingleNodeCluster
                ? TransactionCoordinator.Open(broker, options, topics, groups, sp.GetRequiredService<ProducerIdAllocator>(), cluster,
                    sp.GetRequiredService<ILoggerFactory>())
                : TransactionCoordinator.OpenClustered(broker, options, topics, groups, sp.GetRequiredService<ProducerIdAllocator>(), cluster,
                    sp.GetRequiredService<Ferry.Peers.KafkaTransactionMarkerChannel>(), sp.GetRequiredService<ILoggerFactory>());
        });
        services.AddSingleton(sp => new Ferry.Peers.KafkaTransactionMarkerChannel(sp.GetRequiredService<IClusterView>(),
            sp.GetService<Ferry.Peers.PeerCredentials>()));
        // KIP-890 at the partition leaders: a single node asks its own coordinator, a cluster node the id's coordinator wherever it is.
        services.AddSingleton(sp => new Ferry.Peers.KafkaTransactionVerificationChannel(sp.GetRequiredService<IClusterView>(),
            sp.GetService<Ferry.Peers.PeerCredentials>()));
        services.AddSingleton(sp =>
        {
            var cluster = sp.GetRequiredService<IClusterView>();
            return new TransactionVerifier(sp.GetRequiredService<TransactionCoordinator>(), cluster,
                cluster is SingleNodeCluster ? null : sp.GetRequiredService<Ferry.Peers.KafkaTransactionVerificationChannel>());
        });
        services.AddSingleton(sp => new TransactionMarkerWriter(sp.GetRequiredService<TopicRegistry>(), sp.GetRequiredService<GroupCoordinator>(),
            sp.GetRequiredService<BrokerOptions>().Time));
        // A cluster registers its quorum-backed stores first (ClusterServices), which seed the configured users themselves.
        services.TryAddSingleton<IUserStore>(sp =>
        {
            var store = new FileUserStore(sp.GetRequiredService<BrokerOptions>().DataDirectory);
            foreach (var user in sp.GetRequiredService<IOptions<FerryOptions>>().Value.Users)
                store.Put(Broker.Security.User.Create(user.Name, user.Password, user.Tags));
            return store;
        });
        services.TryAddSingleton<IAclStore>(sp => new FileAclStore(sp.GetRequiredService<BrokerOptions>().DataDirectory));
        services.AddSingleton(sp =>
        {
            var security = sp.GetRequiredService<IOptions<FerryOptions>>().Value.Security;
            return new Authorizer(
                new AuthorizerOptions { Enabled = security.Authorization, SuperUsers = security.SuperUsers, AllowEveryoneIfNoAclFound = security.AllowEveryoneIfNoAclFound },
                sp.GetRequiredService<IAclStore>(), sp.GetRequiredService<IUserStore>());
        });
        services.TryAddSingleton<IPermissionStore>(sp => new FilePermissionStore(sp.GetRequiredService<BrokerOptions>().DataDirectory));
        services.AddSingleton(sp => new AmqpAuthorizer(sp.GetRequiredService<IOptions<FerryOptions>>().Value.Security.Authorization,
            sp.GetRequiredService<IPermissionStore>(), sp.GetRequiredService<IUserStore>()));
        services.AddHostedService<BrokerService>();
        return services;
    }
}

/// <summary>
/// Opens the logs and the group coordinator at start (hosted services start before Kestrel binds, so the
/// ports only accept once the broker can serve) and runs retention on a timer. The logs close cleanly when
/// the container disposes the registry and the coordinator, after the listeners have stopped.
/// </summary>
internal sealed class BrokerService : BackgroundService
{
    private readonly TopicRegistry _topics;
    private readonly BrokerOptions _options;
    private readonly GroupCoordinator _groups;
    private readonly IClusterView _cluster;
    private readonly IMetadataController _controller;
    private readonly TransactionCoordinator _transactions;

    public BrokerService(TopicRegistry topics, BrokerOptions options, GroupCoordinator groups, TransactionCoordinator transactions,
        IUserStore users, Authorizer authorizer, IHostApplicationLifetime lifetime, IClusterView cluster, IMetadataController controller)
    {
        _groups = groups;
        _transactions = transactions;
        _cluster = cluster;
        _controller = controller;
        // Opened (and the configured users written, the ACLs read, the transaction log replayed) before any listener accepts.
        GC.KeepAlive(users);
        GC.KeepAlive(authorizer);
        GC.KeepAlive(transactions);
        _topics = topics;
        _options = options;
        // JoinGroup and SyncGroup can wait for minutes; answer them as soon as stopping begins, so that Kestrel,
        // which stops before this service, can close their connections instead of waiting for them.
        lifetime.ApplicationStopping.Register(groups.Stop);
    }

    /// <summary>
    /// On a cluster the coordinators follow this node's roles in <c>__consumer_offsets</c> and <c>__transaction_state</c> from here: this service starts
    /// after the cluster and replication services, so each partition already leads when its groups load.
    /// </summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (_cluster is not SingleNodeCluster)
        {
            _groups.StartClustered(_cluster, _controller);
            _transactions.StartClustered(_controller);
        }
        return base.StartAsync(cancellationToken);
    }

    // The cleaner of compacted topics runs on a thread of its own beside the retention and checkpoint timers.
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_topics.Cleaner.RunAsync(stoppingToken),
            EveryAsync(_options.RetentionCheckInterval, () => _topics.ApplyRetention(), stoppingToken),
            _options.Replicated
                ? EveryAsync(_options.HighWatermarkCheckpointInterval, _topics.CheckpointHighWatermarks, stoppingToken)
                : Task.CompletedTask);

    private static async Task EveryAsync(TimeSpan interval, Action action, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false)) action();
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }
}
