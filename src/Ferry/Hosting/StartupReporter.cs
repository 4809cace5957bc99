using Ferry.Configuration;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Ferry.Hosting;

/// <summary>Takes the data directory lock before anything listens, and logs the listeners once serving.</summary>
internal sealed partial class StartupReporter(
    DataDirectoryLock dataLock,
    IServer server,
    IHostApplicationLifetime lifetime,
    IOptions<FerryOptions> options,
    ILogger<StartupReporter> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            Serving(logger, ThisAssembly.Version, dataLock.Directory, addresses);
        });
        lifetime.ApplicationStopping.Register(() => Stopping(logger));
        _ = options.Value;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Ferry {Version} serving data in {DataDirectory} on {Addresses}")]
    private static partial void Serving(ILogger logger, string version, string dataDirectory, ICollection<string> addresses);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Ferry shutting down")]
    private static partial void Stopping(ILogger logger);
}
