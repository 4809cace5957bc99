
namespace Ferry.Admin;

internal static class HealthEndpoints
{
    /// <summary>
    /// <c>GET /health</c>: 200 once the host is serving. Kestrel binds every listener only after the broker's
    /// start-up (logs opened, metadata replayed) has finished, so any answer at all means ready.
    /// </summary>
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/health", () => Results.Json(new HealthStatus("ok", ThisAssembly.Version), FerryJsonContext.Default.HealthStatus));
        return endpoints;
    }
}

internal sealed record HealthStatus(string Status, string Version);
