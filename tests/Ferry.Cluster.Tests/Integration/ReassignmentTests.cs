using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ferry.Cluster.Tests.Harness;
using Ferry.Kafka.Tests.Integration;
using Ferry.Tests;

namespace Ferry.Cluster.Tests.Integration;

/// <summary>
/// Moving a partition onto other brokers under load (KIP-455), driven by kafkajs's admin client (Confluent.Kafka has no
/// reassignment API): a partition on node 1 alone moves to nodes 2 and 3 while an idempotent acks=all producer keeps
/// writing. The move is listed while it runs, completes once the new replicas are in sync, leadership leaves node 1,
/// and the checker finds every acknowledged record once, in order, at its offset.
/// </summary>
public sealed class ReassignmentTests
{
    private const string Topic = "moving";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    public ReassignmentTests() => Librdkafka.EnsureLoaded();

    [Fact]
    public async Task PartitionMovedToOtherBrokersUnderLoad_LosesNothingAcknowledged()
    {
        var kafkajs = NodeScript.InstalledDirectory("kafkajs", "reassign.js", "kafkajs");
        if (kafkajs is null) Assert.Skip("kafkajs is not installed (.ci/run runs npm ci in tests/kafkajs).");

        await using var cluster = await ClusterHarness.StartAsync(3);
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = Topic, NumPartitions = 1, ReplicationFactor = -1, ReplicasAssignments = new() { [0] = [1] } }]);
        await cluster.WaitUntilAsync("node 1 leads the topic", () =>
            Task.FromResult(admin.GetMetadata(Topic, Timeout).Topics[0] is { Error.IsError: false, Partitions: [{ Leader: 1 }] }));

        var checker = new Checker();
        using var producer = Clients.Producer(cluster.BootstrapServers, Acks.All, idempotent: true, TimeSpan.FromSeconds(60));
        await Clients.ProduceAsync(producer, Topic, "before", 2000, checker);

        using var stop = new CancellationTokenSource();
        var load = Clients.LoadAsync(producer, Topic, checker, stop.Token);
        var (exit, output, error) = await NodeScript.RunAsync(kafkajs, "reassign.js", TimeSpan.FromMinutes(2),
            cluster.BootstrapServers, Topic, "0", "2,3");
        Assert.True(exit == 0, $"reassign.js exited {exit}: {error}\n{output}\n{cluster.Logs()}");
        // The listing right after the move began: the whole set, with 2 and 3 being added and 1 being removed.
        var listed = output.Split('\n').First(l => l.StartsWith("listed ", StringComparison.Ordinal));
        Assert.Contains("\"addingReplicas\":[2,3]", listed);
        Assert.Contains("\"removingReplicas\":[1]", listed);
        Assert.Contains("done ", output);

        // The controller has completed the move; the node the admin client asks may apply that commit a moment later.
        await cluster.WaitUntilAsync("Metadata shows the partition on nodes 2 and 3 alone", () =>
            Task.FromResult(admin.GetMetadata(Topic, Timeout).Topics[0].Partitions[0] is { } p
                && p.Replicas.Order().SequenceEqual([2, 3]) && p.InSyncReplicas.Order().SequenceEqual([2, 3]) && p.Leader is 2 or 3),
            TimeSpan.FromSeconds(10));

        await Task.Delay(500);
        await stop.CancelAsync();
        await load.WaitAsync(TimeSpan.FromMinutes(1));
        await Clients.ProduceAsync(producer, Topic, "after", 200, checker);
        Assert.Contains("no longer a replica", cluster.Node(1).Output);
        // Node 1's copy is gone: its log for the partition holds no records any more, while node 2's holds them.
        static long SegmentBytes(ClusterNodeProcess node) => Directory.GetFiles(node.DataDirectory, "*.log", SearchOption.AllDirectories)
            .Where(f => f.Contains(Topic + "-0", StringComparison.Ordinal)).Sum(f => new FileInfo(f).Length);
        Assert.Equal(0, SegmentBytes(cluster.Node(1)));
        Assert.True(SegmentBytes(cluster.Node(2)) > 0);

        var read = Checker.ReadAll(cluster.BootstrapServers, Topic, TimeSpan.FromMinutes(1));
        Assert.True(checker.Verify(read) is null, $"{checker.Verify(read)}\n{output}\n{cluster.Logs()}");
    }
}
