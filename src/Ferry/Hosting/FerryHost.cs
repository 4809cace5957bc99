using Ferry.Admin;
using Ferry.Amqp;
using Ferry.Broker.Resources;
using Ferry.Configuration;
using Ferry.Hosting.Tls;
using Ferry.Kafka;
using Ferry.Metrics;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Ferry.Hosting;

/// <summary>Builds the broker process: configuration, logging, the broker service and the Kestrel listeners.</summary>
public static class FerryHost
{
    /// <param name="configureServices">Last word on the services (tests; where the consumer-group coordinator's <see cref="IConsumerGroupAdmin"/> adapter can be registered).</param>
    public static WebApplication Build(string? configFile, IReadOnlyDictionary<string, string?> flags, string[]? args = null,
        Action<IServiceCollection>? configureServices = null)
    {
        // The content root is the install folder, not the working directory, and config files are not watched:
        // the default would watch the working directory tree, which holds ./data, and every segment write would
        // wake the watcher (measured: a fifth of all allocations under load). Settings are read once, at start.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [.. args ?? [], "--hostBuilder:reloadConfigOnChange=false"],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddFerrySources(configFile, flags);

        // Every section read once now: a value of the wrong kind is one line naming it, not a failure deep in start-up.
        var options = SettingsCheck.Bind(() => builder.Configuration.Get<FerryOptions>());
        SettingsCheck.Bind(() => builder.Configuration.GetSection("Kafka").Get<KafkaOptions>());
        SettingsCheck.Bind(() => builder.Configuration.GetSection("Amqp").Get<AmqpOptions>());
        SettingsCheck.Bind(() => builder.Configuration.GetSection("Resources").Get<ResourceAlarmOptions>());
        SettingsCheck.CheckLogLevels(builder.Configuration);
        // In a cluster the node id is one setting: the Kafka broker id is the cluster node id.
        if (options.Cluster.NodeId is { } clusterNodeId)
            builder.Configuration.AddInMemoryCollection([new("Kafka:NodeId", clusterNodeId.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        builder.Services.AddOptions<FerryOptions>()
            .Bind(builder.Configuration)
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<FerryOptions>, FerryOptionsValidator>();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(8));

        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff ";
            o.UseUtcTimestamp = true;
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);

        var listeners = Listeners.Parse(options.Listeners);
        if (listeners.AnyTls)
        {
            builder.WebHost.UseKestrelHttpsConfiguration();
            builder.Services.AddSingleton(sp => new TlsCertificates(options.Tls, sp.GetRequiredService<ILogger<TlsCertificates>>()));
            // Loaded before anything listens: a missing or broken certificate stops the start with one line.
            builder.Services.AddHostedService(sp => new TlsCertificateCheck(sp.GetRequiredService<TlsCertificates>()));
        }
        // One cap on connections for the process, held both at the accept (the transport) and after it (the listeners).
        builder.Services.AddSingleton(sp => new ConnectionCap(options.Security.MaxConnections,
            () => sp.GetRequiredService<ILoggerFactory>().CreateLogger("Ferry.Hosting.ConnectionCap")));
        builder.Services.Replace(ServiceDescriptor.Singleton<IConnectionListenerFactory>(sp => new CappedConnectionListenerFactory(
            new SocketTransportFactory(sp.GetRequiredService<IOptions<SocketTransportOptions>>(), sp.GetRequiredService<ILoggerFactory>()),
            sp.GetRequiredService<ConnectionCap>())));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            Listeners.Bind(kestrel, listeners, TimeSpan.FromSeconds(options.Tls.HandshakeTimeoutSeconds), kestrel.ApplicationServices.GetRequiredService<ConnectionCap>(),
                options.Security.MaxConnectionsPerAddress);
            kestrel.AddServerHeader = false;
            // Protocol connections bound their own requests (Kafka: socket.request.max.bytes; AMQP: frame_max).
            // Kestrel's default 1 MiB read buffer would stall a larger request that is read whole.
            kestrel.Limits.MaxRequestBufferSize = null;
            // Admin API bodies: a produce of a few records, a definition; never more than this.
            kestrel.Limits.MaxRequestBodySize = options.Admin.MaxRequestBodyBytes;
        });
        builder.Services.AddOptions<KafkaOptions>()
            .Bind(builder.Configuration.GetSection("Kafka"))
            .PostConfigure(o => o.AuthenticationTimeout = TimeSpan.FromSeconds(options.Security.AuthenticationTimeoutSeconds))
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<KafkaOptions>, KafkaOptionsValidator>();
        builder.Services.AddFerryKafka();
        builder.Services.AddSingleton<LargeBlockMemoryPoolFactory>();
        builder.Services.AddSingleton<IMemoryPoolFactory<byte>>(sp => sp.GetRequiredService<LargeBlockMemoryPoolFactory>());
        builder.Services.AddHostedService<IdleMemoryTrimmer>();

        builder.Services.AddSingleton(_ => DataDirectoryLock.Acquire(options.Data));
        if (ClusterServices.IsClustered(options))
        {
            var kafkaOptions = builder.Configuration.GetSection("Kafka").Get<KafkaOptions>() ?? new KafkaOptions();
            builder.Services.AddFerryCluster(options, kafkaOptions, listeners.Kafka[0], listeners.Http[0].EndPoint);
        }
        builder.Services.AddFerryBroker();
        builder.Services.AddHostedService<StartupReporter>();
        builder.Services.AddOptions<AmqpOptions>().Bind(builder.Configuration.GetSection("Amqp"));
        builder.Services.AddOptions<ResourceAlarmOptions>().Bind(builder.Configuration.GetSection("Resources"))
            .PostConfigure(o => o.DataDirectory = Path.GetFullPath(options.Data));
        builder.Services.AddSingleton(sp => new MemoryBudget(sp.GetRequiredService<IOptions<ResourceAlarmOptions>>().Value.EffectiveMemoryLimitBytes()));
        builder.Services.AddSingleton(sp => new ResourceAlarm(
            sp.GetRequiredService<IOptions<ResourceAlarmOptions>>().Value, sp.GetRequiredService<ILogger<ResourceAlarm>>(),
            memory: sp.GetRequiredService<MemoryBudget>()));
        builder.Services.AddSingleton<MemoryPressureReclaimer>();
        builder.Services.AddFerryAmqp(o =>
        {
            o.DataDirectory = Path.Combine(Path.GetFullPath(options.Data), "amqp");
            o.Fsync = options.Storage.Fsync;
            o.LoginTimeout = TimeSpan.FromSeconds(options.Security.AuthenticationTimeoutSeconds);
        });
        if (ClusterServices.IsClustered(options)) builder.Services.AddClusterSecurityService();

        builder.Services.AddSingleton<IConsumerGroupAdmin, CoordinatorGroupAdmin>();
        builder.Services.AddSingleton<ConsumerGroups>();
        builder.Services.AddSingleton<FerryMetrics>();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<RateSampler>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RateSampler>());
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("ferry", serviceVersion: ThisAssembly.Version))
            .WithMetrics(metrics => metrics
            .AddMeter(FerryMetrics.AllMeters)
            // Latencies are in seconds; the SDK's default buckets assume milliseconds.
            .AddView(instrument => instrument is System.Diagnostics.Metrics.Histogram<double> && instrument.Unit == "s"
                ? new ExplicitBucketHistogramConfiguration { Boundaries = FerryMetrics.LatencyBuckets }
                : null)
            // No scrape cache: one scrape per interval is the norm, and a cached answer would hide fresh counts.
            .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));

        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.UseAdminErrors();
        app.UseAdminSecurity(options.Admin.AllowedHosts);
        app.MapHealthEndpoints();
        app.MapOverviewEndpoints();
        app.MapTopicEndpoints();
        app.MapRecordEndpoints();
        app.MapGroupEndpoints();
        app.MapQueueEndpoints();
        app.MapClusterEndpoints();
        app.MapUserEndpoints();
        app.MapAclEndpoints();
        app.MapVhostEndpoints();
        app.MapFallback("/api/{**path}", () => AdminResults.NotFound("No such admin API endpoint."));
        app.MapPrometheusScrapingEndpoint("/metrics");
        // The observable instruments exist once this singleton does.
        app.Services.GetRequiredService<FerryMetrics>();
        // Samples the memory budget (through the resource alarm) and gives memory back when over it, from the start.
        app.Services.GetRequiredService<MemoryPressureReclaimer>();
        return app;
    }
}
