using Ferry.Hosting;
using Microsoft.AspNetCore.Builder;
using RabbitMQ.Client;

namespace Ferry.Amqp.Tests.Integration;

/// <summary>An in-process Ferry (the real host, <see cref="FerryHost.Build"/>) on free loopback ports.</summary>
internal sealed class FerryServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FerryServer(WebApplication app, string dataDirectory, int amqpPort)
    {
        _app = app;
        DataDirectory = dataDirectory;
        AmqpPort = amqpPort;
    }

    public string DataDirectory { get; }

    public int AmqpPort { get; }

    /// <summary>A free port below the ephemeral range, as <see cref="Ferry.Tests.FerryProcess.FreePort"/> explains.</summary>
    public static int FreePort() => Ferry.Tests.FerryProcess.FreePort();

    public static string NewDataDirectory()
    {
        string path = Path.Combine(Path.GetTempPath(), "ferry-amqp-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    public IServiceProvider Services => _app.Services;

    public static async Task<FerryServer> StartAsync(string? dataDirectory = null, IReadOnlyDictionary<string, string?>? settings = null)
    {
        dataDirectory ??= NewDataDirectory();
        int amqp = FreePort();
        var flags = new Dictionary<string, string?>
        {
            ["Data"] = dataDirectory,
            ["Listeners:Amqp"] = $"127.0.0.1:{amqp}",
            ["Listeners:Kafka"] = $"127.0.0.1:{FreePort()}",
            ["Listeners:Http"] = $"127.0.0.1:{FreePort()}",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) flags[key] = value;
        // A test that lists its own listeners names its plain one first.
        if (settings?.GetValueOrDefault("Listeners:Amqp") is { } listeners) amqp = int.Parse(listeners.Split(',')[0].Split(':')[^1], System.Globalization.CultureInfo.InvariantCulture);
        var app = FerryHost.Build(null, flags);
        await app.StartAsync();
        return new FerryServer(app, dataDirectory, amqp);
    }

    public ConnectionFactory Factory() => new()
    {
        HostName = "127.0.0.1",
        Port = AmqpPort,
        AutomaticRecoveryEnabled = false,
        TopologyRecoveryEnabled = false,
    };

    public Task<IConnection> ConnectAsync() => Factory().CreateConnectionAsync();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>One broker shared by a test class; tests use distinct queue and exchange names.</summary>
public sealed class FerryServerFixture : IAsyncLifetime
{
    internal FerryServer Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await FerryServer.StartAsync();

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}
