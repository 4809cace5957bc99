using Ferry.Broker.Cluster;
using Ferry.Broker.Topics;
using Ferry.Cluster;
using Ferry.Cluster.Raft;

namespace Ferry.Admin;

/// <summary>
/// <c>GET /api/cluster</c> (what <c>ferry cluster status</c> shows: nodes, controller, partitions with leader, replicas
/// and ISR) on every node; and, in a cluster, the inter-node endpoint where peers forward controller requests to the
/// metadata leader and where broker-only nodes fetch the committed metadata, open only to callers presenting the
/// cluster's shared secret.
/// </summary>
internal static class ClusterEndpoints
{
    public static IEndpointRouteBuilder MapClusterEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/cluster", (IClusterView cluster, TopicRegistry topics, IServiceProvider services) =>
        {
            var live = cluster.Nodes.Where(n => n.Alive).Select(n => n.Id).ToHashSet();
            var partitions = new List<ClusterPartitionInfo>();
            int under = 0, offline = 0;
            foreach (var topic in topics.Topics.OrderBy(t => t.Name, StringComparer.Ordinal))
            {
                foreach (var partition in topic.Partitions)
                {
                    if (cluster.GetPartition(topic.Name, partition.Index) is not { } state) continue;
                    bool hasLeader = state.HasLeader && live.Contains(state.Leader);
                    if (!hasLeader) offline++;
                    if (state.IsUnderReplicated || state.Replicas.Any(r => !live.Contains(r))) under++;
                    partitions.Add(new ClusterPartitionInfo(topic.Name, partition.Index, hasLeader ? state.Leader : -1, state.LeaderEpoch, state.Replicas, state.Isr));
                }
            }
            // The metadata role: the quorum leader (controller), another voter, or a broker-only node (not in the quorum).
            var voters = services.GetService<ClusterOptions>()?.Voters.Select(v => v.NodeId).ToHashSet();
            var nodes = cluster.Nodes.Select(n => new ClusterNodeInfo(n.Id, n.KafkaHost is null ? "" : $"{n.KafkaHost}:{n.KafkaPort}", n.Alive,
                n.Id == cluster.ControllerId ? "controller" : voters is null || voters.Contains(n.Id) ? "voter" : "broker")).ToList();
            string mode = services.GetService<IClusterMember>() is null ? "single-node" : "raft";
            return AdminResults.Json(new ClusterStatus(cluster.ClusterId, cluster.LocalNodeId, cluster.ControllerId, mode, nodes, partitions, under, offline),
                FerryJsonContext.Api.ClusterStatus);
        });

        if (endpoints.ServiceProvider.GetService<RaftClusterController>() is { } controller)
        {
            endpoints.MapPost(ControllerClient.ControllerPath, async Task<IResult> (HttpRequest request) =>
            {
                if (!controller.IsPeerSecret(request.Headers[ControllerClient.SecretHeader].FirstOrDefault()))
                    return Results.StatusCode(StatusCodes.Status401Unauthorized);
                ControllerRequest? body;
                try
                {
                    body = await request.ReadFromJsonAsync(ControllerJsonContext.Default.ControllerRequest, request.HttpContext.RequestAborted).ConfigureAwait(false);
                }
                catch (System.Text.Json.JsonException)
                {
                    return AdminResults.BadRequest("Not a controller request.");
                }
                if (body is null) return AdminResults.BadRequest("Not a controller request.");
                var reply = await controller.HandleAsLeaderAsync(body, request.HttpContext.RequestAborted).ConfigureAwait(false);
                return Results.Json(reply, ControllerJsonContext.Default.ControllerReply);
            });
            // Broker-only nodes fetch the committed metadata here (long-polled); 503 while this voter cannot say.
            endpoints.MapGet(ControllerClient.MetadataPath, async Task<IResult> (HttpRequest request, long? after) =>
            {
                if (!controller.IsPeerSecret(request.Headers[ControllerClient.SecretHeader].FirstOrDefault()))
                    return Results.StatusCode(StatusCodes.Status401Unauthorized);
                if (after is not >= 0) return AdminResults.BadRequest("after must be a log index (0 or more).");
                var reply = await controller.ReadMetadataAsync(after.Value, request.HttpContext.RequestAborted).ConfigureAwait(false);
                return reply is null
                    ? Results.StatusCode(StatusCodes.Status503ServiceUnavailable)
                    : Results.Json(reply, Ferry.Cluster.Controller.MetadataFeedJsonContext.Default.MetadataFeedReply);
            });
        }
        return endpoints;
    }
}
