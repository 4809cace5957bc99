using Ferry.Broker;
using Ferry.Broker.Topics;
using Ferry.Configuration;
using Ferry.Storage;
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
            };
        });
        services.AddSingleton(sp => TopicRegistry.Open(sp.GetRequiredService<BrokerOptions>(), sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton(sp => new ProducerIdAllocator(sp.GetRequiredService<BrokerOptions>().DataDirectory));
        services.AddHostedService<BrokerService>();
        return services;
    }
}

/// <summary>
/// Opens the logs at start (hosted services start before Kestrel binds, so the ports only accept once the
/// broker can serve) and runs retention on a timer. The logs close cleanly when the container disposes
/// the registry, after the listeners have stopped.
/// </summary>
internal sealed class BrokerService(TopicRegistry topics, BrokerOptions options) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.RetentionCheckInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false)) topics.ApplyRetention();
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }
}
