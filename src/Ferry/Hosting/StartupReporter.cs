using Ferry.Configuration;
using Microsoft.Extensions.Options;

namespace Ferry.Hosting;

/// <summary>Takes the data directory lock before anything listens, and logs the listeners once serving.</summary>
internal sealed partial class StartupReporter(
    DataDirectoryLock dataLock,
    IHostApplicationLifetime lifetime,
    IOptions<FerryOptions> options,
    ILogger<StartupReporter> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() =>
        {
            // Kestrel lists every listener as http://; only some of them are.
            var listeners = Listeners.Parse(options.Value.Listeners);
            string kafka = string.Join(", ", listeners.Kafka), amqp = string.Join(", ", listeners.Amqp), http = string.Join(", ", listeners.Http);
            Serving(logger, ThisAssembly.Version, dataLock.Directory, kafka, amqp, http);
        });
        lifetime.ApplicationStopping.Register(() => Stopping(logger));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Ferry {Version} serving data in {DataDirectory}: Kafka on {Kafka}, AMQP on {Amqp}, HTTP on {Http}")]
    private static partial void Serving(ILogger logger, string version, string dataDirectory, string kafka, string amqp, string http);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Ferry shutting down")]
    private static partial void Stopping(ILogger logger);
}
