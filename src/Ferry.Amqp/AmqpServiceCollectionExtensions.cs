using Ferry.Amqp.Channels;
using Ferry.Broker.Cluster;
using Ferry.Broker.Connections;
using Ferry.Broker.Queues;
using Ferry.Broker.Queues.Quorum;
using Ferry.Broker.Security.Permissions;
using Ferry.Broker.Topics;
using Ferry.Broker.VirtualHosts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ferry.Amqp;

public static class AmqpServiceCollectionExtensions
{
    /// <summary>
    /// The AMQP side of the broker: options, the queue broker (exchanges, queues, their storage) and the
    /// hosted service that loads it before connections are served and closes it cleanly at shutdown. Listen
    /// with <c>UseConnectionHandler&lt;AmqpConnectionHandler&gt;()</c>.
    /// </summary>
    public static IServiceCollection AddFerryAmqp(this IServiceCollection services, Action<AmqpOptions> configure)
    {
        services.AddOptions<AmqpOptions>().Configure(configure);
        services.AddSingleton<IMessageContentCodec, AmqpContentCodec>();
        services.TryAddSingleton<ConnectionRegistry>();
        services.AddSingleton<DirectReplyTo>();
        services.AddSingleton(sp => CreateBroker(sp, VirtualHostRegistry.Default, Path.GetFullPath(sp.GetRequiredService<IOptions<AmqpOptions>>().Value.DataDirectory)));
        // Vhost "/" is the QueueBroker singleton (what the admin API and metrics read); the others are made on demand.
        services.AddSingleton(sp => new VirtualHostRegistry(sp.GetRequiredService<QueueBroker>(),
            Path.GetFullPath(sp.GetRequiredService<IOptions<AmqpOptions>>().Value.DataDirectory), (name, directory) => CreateBroker(sp, name, directory)));
        // A cluster registers its quorum-backed catalog first; one node changes its registry directly.
        services.TryAddSingleton<IVirtualHostCatalog>(sp => new LocalVirtualHostCatalog(sp.GetRequiredService<VirtualHostRegistry>(),
            sp.GetRequiredService<IPermissionStore>()));
        services.AddHostedService<AmqpBrokerService>();
        return services;
    }

    private static QueueBroker CreateBroker(IServiceProvider sp, string virtualHost, string directory)
    {
        var options = sp.GetRequiredService<IOptions<AmqpOptions>>().Value;
        // Quorum queues live on the cluster's partitions (a single node is a cluster of one); a host without one refuses them.
        var topics = sp.GetService<TopicRegistry>();
        var quorum = topics is null ? null
            : new QuorumQueueCluster(topics, sp.GetRequiredService<IClusterView>(), sp.GetRequiredService<IMetadataController>());
        return new QueueBroker(
            new QueueBrokerOptions
            {
                DataDirectory = directory,
                QueueLogOptions = options.QueueLogOptions,
                MessagePoolBytes = options.MessagePoolBytes,
                VirtualHost = virtualHost,
                Quorum = quorum,
            },
            sp.GetRequiredService<IMessageContentCodec>(),
            sp.GetRequiredService<ILogger<QueueBroker>>());
    }
}

/// <summary>Loads queues at start (before the listener serves, see <see cref="QueueBroker.Loaded"/>) and
/// closes them cleanly at stop, after Kestrel has stopped accepting.</summary>
internal sealed class AmqpBrokerService(QueueBroker broker, VirtualHostRegistry vhosts) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        vhosts.Load();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await vhosts.DisposeAsync().ConfigureAwait(false);
        await broker.DisposeAsync().ConfigureAwait(false);
    }
}
