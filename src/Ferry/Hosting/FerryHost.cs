using Ferry.Admin;
using Ferry.Configuration;

namespace Ferry.Hosting;

/// <summary>Builds the broker process: configuration, logging, the broker service and the Kestrel listeners.</summary>
public static class FerryHost
{
    public static WebApplication Build(string? configFile, IReadOnlyDictionary<string, string?> flags, string[]? args = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args ?? [] });
        builder.Configuration.AddFerrySources(configFile, flags);

        var options = builder.Configuration.Get<FerryOptions>() ?? new FerryOptions();
        builder.Services.AddOptions<FerryOptions>()
            .Bind(builder.Configuration)
            .ValidateDataAnnotations()
            .ValidateOnStart();
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

        var http = EndPointParser.Parse(options.Listeners.Http, "Listeners:Http");
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(http);
            kestrel.AddServerHeader = false;
        });

        builder.Services.AddSingleton(_ => DataDirectoryLock.Acquire(options.Data));
        builder.Services.AddHostedService<StartupReporter>();

        var app = builder.Build();
        app.MapHealthEndpoints();
        return app;
    }
}
