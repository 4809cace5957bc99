using Ferry.Hosting;
using Microsoft.AspNetCore.Builder;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>A real Ferry host, in process, on free loopback ports, with its own data directory.</summary>
public sealed class FerryServer : IAsyncDisposable
{
    private WebApplication? _app;

    private FerryServer(string dataDirectory, Dictionary<string, string?> settings)
    {
        DataDirectory = dataDirectory;
        Settings = settings;
    }

    public string DataDirectory { get; }
    public Dictionary<string, string?> Settings { get; }
    public int KafkaPort { get; private set; }
    public int HttpPort { get; private set; }
    public string BootstrapServers => $"127.0.0.1:{KafkaPort}";

    /// <summary>The running host's services, for tests that check what it registered.</summary>
    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("The server is not running.");

    /// <summary>A free port below the ephemeral range, as <see cref="Ferry.Tests.FerryProcess.FreePort"/> explains.</summary>
    public static int FreePort() => Ferry.Tests.FerryProcess.FreePort();

    public static async Task<FerryServer> StartAsync(Dictionary<string, string?>? settings = null, string? dataDirectory = null)
    {
        Librdkafka.EnsureLoaded();
        dataDirectory ??= Path.Combine(Path.GetTempPath(), "ferry-kafka-" + Guid.NewGuid().ToString("N"));
        var server = new FerryServer(dataDirectory, settings ?? []);
        await server.StartAsync();
        return server;
    }

    /// <summary>
    /// Starts (again) on the same data directory, on fresh ports; if a port was taken between the check and the bind,
    /// starts again on others (a test that names its own listeners chose its ports and gets the error).
    /// </summary>
    public async Task StartAsync()
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await StartOnFreshPortsAsync();
                return;
            }
            catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException
                                        && !Settings.ContainsKey("Listeners:Kafka") && attempt < 5)
            {
                if (_app is not null) await _app.DisposeAsync();
                _app = null;
            }
        }
    }

    private async Task StartOnFreshPortsAsync()
    {
        KafkaPort = FreePort();
        HttpPort = FreePort();
        var flags = new Dictionary<string, string?>(Settings)
        {
            ["Data"] = DataDirectory,
            ["Listeners:Amqp"] = $"127.0.0.1:{FreePort()}",
            ["Listeners:Http"] = $"127.0.0.1:{HttpPort}",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        // Security tests give their own listener list (ports they chose); the rest get one plaintext listener.
        if (!Settings.ContainsKey("Listeners:Kafka")) flags["Listeners:Kafka"] = BootstrapServers;
        _app = FerryHost.Build(null, flags);
        await _app.StartAsync();
    }

    /// <summary>A clean stop: listeners closed, logs flushed and closed with their clean-shutdown markers.</summary>
    public async Task StopAsync()
    {
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _app = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { }
    }
}
