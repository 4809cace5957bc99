using Ferry.Broker.Connections;
using Ferry.Broker.Queues;
using Ferry.Broker.Topics;
using Ferry.Configuration;
using Ferry.Hosting;
using Ferry.Metrics;
using Microsoft.Extensions.Options;

namespace Ferry.Admin;

/// <summary><c>/api/overview</c> (what <c>ferry status</c> shows) and <c>/api/connections</c>.</summary>
internal static class OverviewEndpoints
{
    private static readonly DateTimeOffset StartedAt = new(System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime());

    public static IEndpointRouteBuilder MapOverviewEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/overview", (TopicRegistry topics, QueueBroker queues, ConnectionRegistry connections, ConsumerGroups groups,
            RateSampler rates, DataDirectoryLock data, IOptions<FerryOptions> options) =>
        {
            var listeners = options.Value.Listeners;
            var counts = new OverviewCounts(topics.Topics.Count(t => !InternalTopics.IsInternal(t.Name)),
                topics.Topics.Where(t => !InternalTopics.IsInternal(t.Name)).Sum(t => t.Partitions.Count), queues.Queues.Count(),
                queues.Exchanges.Count(), connections.Count, groups.Admin?.ListGroups().Count);
            var overview = new Overview(ThisAssembly.Version, StartedAt, (DateTimeOffset.UtcNow - StartedAt).TotalSeconds, data.Directory,
                new ListenerAddresses(listeners.Kafka, listeners.Amqp, listeners.Http), counts, rates.AllTopics, rates.AllQueues);
            return AdminResults.Json(overview, FerryJsonContext.Api.Overview);
        });

        endpoints.MapGet("/api/connections", (ConnectionRegistry connections) =>
            AdminResults.Json(connections.Connections.OrderBy(c => c.ConnectedAt)
                .Select(c => new ConnectionInfo(c.Id, c.Protocol, c.RemoteEndPoint?.ToString(), c.LocalEndPoint?.ToString(), c.ConnectedAt,
                    c.ClientId, c.ClientSoftware, c.User))
                .ToList(), FerryJsonContext.Api.ListConnectionInfo));
        return endpoints;
    }
}
