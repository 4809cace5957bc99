using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ferry.Cluster.Tests.Harness;
using Ferry.Kafka.Tests.Integration;

namespace Ferry.Cluster.Tests.Integration;

/// <summary>
/// The control plane on three real processes, seen through Confluent.Kafka's admin client: the cluster forms, every
/// node lists every node, topics are placed with their replication factor, the controller's death elects another and
/// moves partition leadership within the ISR, and committed metadata survives every node being SIGKILLed at once.
/// </summary>
public sealed class ClusterMetadataTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    public ClusterMetadataTests() => Librdkafka.EnsureLoaded();

    private static IAdminClient Admin(string bootstrap) => new AdminClientBuilder(new AdminClientConfig
    {
        BootstrapServers = bootstrap,
        SocketTimeoutMs = 10_000,
    }).Build();

    [Fact]
    public async Task ThreeNodesFormOneClusterAndEveryNodeListsAllThree()
    {
        await using var cluster = await ClusterHarness.StartAsync(3);
        int controller = await ControllerAgreedAsync(cluster);
        foreach (var node in cluster.Nodes)
        {
            using var admin = Admin(node.BootstrapServers);
            var metadata = admin.GetMetadata(Timeout);
            Assert.Equal([1, 2, 3], metadata.Brokers.Select(b => b.BrokerId).Order());
            Assert.All(metadata.Brokers, b => Assert.Equal(cluster.Node(b.BrokerId).KafkaPort, b.Port));
            var described = await admin.DescribeClusterAsync(new DescribeClusterOptions { RequestTimeout = Timeout });
            Assert.Equal(controller, described.Controller.Id);
            Assert.Equal(3, described.Nodes.Count);

            var (exitCode, stdout, stderr) = await Ferry.Tests.FerryProcess.RunAsync(null, "cluster", "status", "--server", node.Http);
            Assert.True(exitCode == 0, stderr);
            Assert.Contains($"controller {controller}", stdout, StringComparison.Ordinal);
            foreach (var other in cluster.Nodes) Assert.Contains(other.BootstrapServers, stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task DefaultReplicationFactorComesFromTheVoters_ACreationBeforeTheThirdRegistersIsRefusedNotPlacedOnTwo()
    {
        await using var cluster = await ClusterHarness.StartAsync(3, running: 2);
        await ControllerAgreedAsync(cluster);
        using var admin = Admin(cluster.Node(1).BootstrapServers);
        // No replication factor given: the default is min(3, voters) = 3, which two live nodes cannot hold.
        var refused = await Assert.ThrowsAsync<CreateTopicsException>(() =>
            admin.CreateTopicsAsync([new TopicSpecification { Name = "early", NumPartitions = 1 }]));
        Assert.Equal(ErrorCode.InvalidReplicationFactor, refused.Results[0].Error.Code);

        await cluster.Node(3).StartAsync();
        await cluster.WaitUntilAsync("the third node has registered", async () =>
            await ClusterHarness.StatusAsync(cluster.Node(1)) is { } status && status["nodes"]!.AsArray().Count(n => n!["alive"]!.GetValue<bool>()) == 3);
        await admin.CreateTopicsAsync([new TopicSpecification { Name = "early", NumPartitions = 1 }]);
        Assert.Equal(3, admin.GetMetadata("early", Timeout).Topics[0].Partitions[0].Replicas.Length);
        // The offsets topic the nodes asked for at start waited for the third node too.
        await cluster.WaitUntilAsync("the offsets topic exists", () => Task.FromResult(
            admin.GetMetadata(Timeout).Topics.Any(t => t.Topic == Ferry.Broker.Groups.OffsetsTopic.Name)));
        Assert.All(admin.GetMetadata(Ferry.Broker.Groups.OffsetsTopic.Name, Timeout).Topics[0].Partitions, p => Assert.Equal(3, p.Replicas.Length));
    }

    [Fact]
    public async Task TopicCreatedWithReplicationFactorThreeHasThreeReplicasOnEveryNode()
    {
        await using var cluster = await ClusterHarness.StartAsync(3);
        await ControllerAgreedAsync(cluster);
        using (var admin = Admin(cluster.Node(1).BootstrapServers))
        {
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "replicated", NumPartitions = 3, ReplicationFactor = 3 }]);
            var refused = await Assert.ThrowsAsync<CreateTopicsException>(() =>
                admin.CreateTopicsAsync([new TopicSpecification { Name = "too-many", NumPartitions = 1, ReplicationFactor = 4 }]));
            Assert.Equal(ErrorCode.InvalidReplicationFactor, refused.Results[0].Error.Code);
        }
        foreach (var node in cluster.Nodes)
        {
            using var admin = Admin(node.BootstrapServers);
            // A follower of a loaded machine may fall out of the ISR for a moment and come back: wait for the full set.
            var topic = await TopicAsync(admin, "replicated", t => t.Partitions.Count == 3
                && t.Partitions.All(p => p.InSyncReplicas.Length == 3 && p.Replicas.Contains(p.Leader)));
            Assert.All(topic.Partitions, p =>
            {
                Assert.Equal([1, 2, 3], p.Replicas.Order());
                Assert.Equal([1, 2, 3], p.InSyncReplicas.Order());
                Assert.Contains(p.Leader, p.Replicas);
            });
            // Leaders spread over the nodes: each partition's preferred (first) replica differs.
            Assert.Equal(3, topic.Partitions.Select(p => p.Replicas[0]).Distinct().Count());
        }
    }

    [Fact]
    public async Task KillingTheControllerElectsANewOneAndItsPartitionsGetLeadersFromTheIsr()
    {
        await using var cluster = await ClusterHarness.StartAsync(3);
        int controller = await ControllerAgreedAsync(cluster);
        using (var admin = Admin(cluster.Node(controller).BootstrapServers))
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "failover", NumPartitions = 3, ReplicationFactor = 3 }]);
        var survivor = cluster.Nodes.First(n => n.NodeId != controller);
        Metadata before;
        using (var admin = Admin(survivor.BootstrapServers))
        {
            await TopicAsync(admin, "failover", t => t.Partitions.Count == 3 && t.Partitions.All(p => p.InSyncReplicas.Length == 3));
            before = admin.GetMetadata("failover", Timeout);
        }
        var led = before.Topics[0].Partitions.Where(p => p.Leader == controller).Select(p => p.PartitionId).ToList();
        Assert.NotEmpty(led);

        await cluster.Node(controller).KillAsync();

        int next = -1;
        await cluster.WaitUntilAsync("the survivors agree on a new controller", async () =>
        {
            next = await cluster.ControllerAsync();
            return next > 0 && next != controller;
        });
        using (var admin = Admin(survivor.BootstrapServers))
        {
            var topic = await TopicAsync(admin, "failover", t => t.Partitions.All(p => p.Leader > 0 && p.Leader != controller));
            foreach (var partition in topic.Partitions.Where(p => led.Contains(p.PartitionId)))
            {
                // The new leader was in the ISR; the dead node left it.
                Assert.Contains(partition.Leader, before.Topics[0].Partitions[partition.PartitionId].InSyncReplicas);
                Assert.DoesNotContain(controller, partition.InSyncReplicas);
            }
            // Listed no longer once its session would have timed out on Kafka (9 s after fencing); meanwhile it leads nothing.
            await cluster.WaitUntilAsync("the dead node leaves the metadata", () =>
                Task.FromResult(!admin.GetMetadata(Timeout).Brokers.Select(b => b.BrokerId).Contains(controller)), TimeSpan.FromSeconds(30));
        }

        await cluster.Node(controller).StartAsync();
        using (var admin = Admin(cluster.Node(controller).BootstrapServers))
        {
            await cluster.WaitUntilAsync("the restarted node is listed again", () =>
                Task.FromResult(admin.GetMetadata(Timeout).Brokers.Count == 3));
            var topic = await TopicAsync(admin, "failover", t => t.Partitions.Count == 3);
            Assert.All(topic.Partitions, p => Assert.Equal([1, 2, 3], p.Replicas.Order()));
        }
    }

    [Fact]
    public async Task CommittedMetadataSurvivesEveryNodeSigkilledAtOnce()
    {
        await using var cluster = await ClusterHarness.StartAsync(3);
        await ControllerAgreedAsync(cluster);
        using (var admin = Admin(cluster.Node(2).BootstrapServers))
        {
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "durable", NumPartitions = 4, ReplicationFactor = 3 }]);
            await admin.CreatePartitionsAsync([new PartitionsSpecification { Topic = "durable", IncreaseTo = 6 }]);
        }
        TopicMetadata before;
        using (var admin = Admin(cluster.Node(3).BootstrapServers)) before = await TopicAsync(admin, "durable", t => t.Partitions.Count == 6);

        await Task.WhenAll(cluster.Nodes.Select(n => n.KillAsync()));
        await Task.WhenAll(cluster.Nodes.Select(n => n.StartAsync()));

        await ControllerAgreedAsync(cluster);
        foreach (var node in cluster.Nodes)
        {
            using var admin = Admin(node.BootstrapServers);
            var after = await TopicAsync(admin, "durable", t => t.Partitions.Count == 6);
            Assert.Equal(before.Partitions.Select(p => string.Join(',', p.Replicas)), after.Partitions.Select(p => string.Join(',', p.Replicas)));
        }
    }

    private static async Task<int> ControllerAgreedAsync(ClusterHarness cluster)
    {
        int controller = -1;
        await cluster.WaitUntilAsync("the nodes agree on a controller", async () => (controller = await cluster.ControllerAsync()) > 0);
        return controller;
    }

    /// <summary>The topic's metadata once <paramref name="ready"/> holds for it (metadata reaches each node as it applies it).</summary>
    private static async Task<TopicMetadata> TopicAsync(IAdminClient admin, string name, Func<TopicMetadata, bool> ready)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        TopicMetadata? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = admin.GetMetadata(name, Timeout).Topics.FirstOrDefault(t => t.Topic == name);
            if (last is { Error.IsError: false } && ready(last)) return last;
            await Task.Delay(200);
        }
        throw new TimeoutException($"Topic {name} never became ready; last seen: {(last is null ? "none" : string.Join("; ", last.Partitions.Select(p => $"{p.PartitionId}: leader {p.Leader} replicas {string.Join(',', p.Replicas)} isr {string.Join(',', p.InSyncReplicas)}")))}");
    }
}
