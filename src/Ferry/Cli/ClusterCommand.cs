using System.CommandLine;
using Ferry.Admin;
using static Ferry.Cli.ClientCommand;

namespace Ferry.Cli;

/// <summary><c>ferry cluster status</c>: nodes, the metadata leader, and every partition's leader, replicas and ISR.</summary>
internal static class ClusterCommand
{
    public static Command Create()
    {
        var status = new Command("status", "Show the cluster's nodes, controller and partitions (leader, replicas, ISR)").WithAction(async (_, context, ct) =>
        {
            var cluster = await context.Client.GetAsync("api/cluster", FerryJsonContext.Api.ClusterStatus, ct).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(cluster, FerryJsonContext.Api.ClusterStatus);
                return ExitCodes.Ok;
            }
            context.WriteLine($"Cluster {cluster.ClusterId} ({cluster.Mode})  asked node {cluster.NodeId}  controller {cluster.ControllerId}  " +
                $"under-replicated {cluster.UnderReplicatedPartitions}  offline {cluster.OfflinePartitions}");
            var nodes = NewTable("NODE", "KAFKA", "ALIVE", "ROLE");
            foreach (var n in cluster.Nodes) nodes.Row(n.Id, n.Kafka, n.Alive ? "yes" : "no", n.Role);
            context.Write(nodes);
            var partitions = NewTable("TOPIC", "PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR");
            foreach (var p in cluster.Partitions)
                partitions.Row(p.Topic, p.Partition, p.Leader, p.LeaderEpoch, string.Join(',', p.Replicas), string.Join(',', p.Isr));
            context.Write(partitions);
            return ExitCodes.Ok;
        });
        return new Command("cluster", "Inspect the cluster") { status };
    }
}
