using Ferry.Broker.Queues;

namespace Ferry.Admin;

internal static class HealthEndpoints
{
    /// <summary>
    /// <c>GET /health</c> and <c>/health/ready</c>: 200 once the broker serves. Kestrel binds every listener only
    /// after the broker's start-up (logs opened, metadata replayed) has finished, so an answer nearly always
    /// means ready; ready also checks that the AMQP definitions are loaded and the host is not stopping.
    /// <c>/health/live</c>: 200 while the process can answer at all (for a liveness probe that restarts it).
    /// </summary>
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/health", Ready);
        endpoints.MapGet("/health/ready", Ready);
        endpoints.MapGet("/health/live", () => Results.Json(new HealthStatus("ok", ThisAssembly.Version), FerryJsonContext.Api.HealthStatus));
        return endpoints;
    }

    private static IResult Ready(QueueBroker queues, IHostApplicationLifetime lifetime)
    {
        bool ready = queues.Loaded.IsCompletedSuccessfully && !lifetime.ApplicationStopping.IsCancellationRequested;
        return Results.Json(new HealthStatus(ready ? "ok" : "unavailable", ThisAssembly.Version), FerryJsonContext.Api.HealthStatus,
            statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }
}

internal sealed record HealthStatus(string Status, string Version);
