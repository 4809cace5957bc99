using System.Diagnostics;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ferry.Cluster.Tests.Harness;
using Ferry.Kafka.Tests.Integration;
using Ferry.Tests;

namespace Ferry.Cluster.Tests.Integration;

/// <summary>
/// Growing the cluster (issue 13): a broker-only node (<c>--node-id 4</c>, not in <c>--voters</c>, <c>--join</c> a
/// running node) fetches the committed metadata from the voters, registers and heartbeats, takes partitions moved
/// onto it under load (kafkajs AlterPartitionReassignments), leads and follows, is fenced when killed and rejoins
/// the ISR when restarted; and refuses to start without a way in, or while another process holds its id.
/// </summary>
public sealed class BrokerOnlyNodeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    public BrokerOnlyNodeTests() => Librdkafka.EnsureLoaded();

    [Fact]
    public async Task BrokerOnlyNodeJoins_PartitionMovedOntoItUnderLoad_LosesNothingAcknowledged()
    {
        const string topic = "growing";
        var kafkajs = NodeScript.InstalledDirectory("kafkajs", "reassign.js", "kafkajs");
        if (kafkajs is null) Assert.Skip("kafkajs is not installed (.ci/run runs npm ci in tests/kafkajs).");

        await using var cluster = await ClusterHarness.StartAsync(3);
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = 1, ReplicationFactor = 3 }]);
        await cluster.WaitUntilAsync("the topic has a leader and a full ISR", () =>
            Task.FromResult(admin.GetMetadata(topic, Timeout).Topics[0] is { Error.IsError: false, Partitions: [{ Leader: > 0, InSyncReplicas.Length: 3 }] }));

        var checker = new Checker();
        using var producer = Clients.Producer(cluster.BootstrapServers, Acks.All, idempotent: true, TimeSpan.FromSeconds(60));
        await Clients.ProduceAsync(producer, topic, "before", 1000, checker);
        using var stop = new CancellationTokenSource();
        var load = Clients.LoadAsync(producer, topic, checker, stop.Token);

        var node4 = await cluster.AddBrokerOnlyAsync(4);
        await cluster.WaitUntilAsync("Metadata from every node lists broker 4", () => Task.FromResult(cluster.Running.All(node =>
        {
            using var one = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = node.BootstrapServers }).Build();
            return one.GetMetadata(TimeSpan.FromSeconds(5)).Brokers.Any(b => b.BrokerId == 4);
        })), TimeSpan.FromSeconds(20));
        var status = await ClusterHarness.StatusAsync(node4);
        var roles = status!["nodes"]!.AsArray().ToDictionary(n => n!["id"]!.GetValue<int>(), n => n!["role"]!.GetValue<string>());
        Assert.Equal("broker", roles[4]);
        Assert.All([1, 2, 3], id => Assert.Contains(roles[id], new[] { "voter", "controller" }));
        Assert.Contains("joined as a broker-only node", node4.Output);

        // Definitions from the quorum reach it too: a vhost made through a voter exists on the broker-only node.
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) })
        {
            using var put = new HttpRequestMessage(HttpMethod.Put, $"{cluster.Node(1).Http}/api/vhosts/grown")
            {
                Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json"),
            };
            Assert.True((await http.SendAsync(put)).IsSuccessStatusCode);
            await cluster.WaitUntilAsync("node 4 has the vhost made through node 1", async () =>
                (await http.GetAsync($"{node4.Http}/api/vhosts/grown")).IsSuccessStatusCode, TimeSpan.FromSeconds(10));
        }

        // Node 4 first among the target replicas: once in sync, the move completes and leadership goes to it (preferred).
        var (exit, output, error) = await NodeScript.RunAsync(kafkajs, "reassign.js", TimeSpan.FromMinutes(1), cluster.BootstrapServers, topic, "0", "4,2,3");
        Assert.True(exit == 0, $"reassign.js exited {exit}: {error}\n{output}\n{cluster.Logs()}");
        TestContext.Current.TestOutputHelper?.WriteLine($"reassignment onto node 4: {output.Split('\n').Last(l => l.StartsWith("done ", StringComparison.Ordinal))} ms");
        await cluster.WaitUntilAsync("every node's Metadata shows the partition on 2, 3 and 4, led by 4", () => Task.FromResult(cluster.Running.All(node =>
        {
            using var one = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = node.BootstrapServers }).Build();
            return one.GetMetadata(topic, TimeSpan.FromSeconds(5)).Topics[0].Partitions[0] is { Leader: 4 } p
                && p.Replicas.Order().SequenceEqual([2, 3, 4]) && p.InSyncReplicas.Order().SequenceEqual([2, 3, 4]);
        })), TimeSpan.FromSeconds(20));

        await Task.Delay(500);
        await stop.CancelAsync();
        await load.WaitAsync(TimeSpan.FromMinutes(1));
        await Clients.ProduceAsync(producer, topic, "after", 200, checker);
        var read = Checker.ReadAll(cluster.BootstrapServers, topic, TimeSpan.FromMinutes(1));
        Assert.True(checker.Verify(read) is null, $"{checker.Verify(read)}\n{output}\n{cluster.Logs()}");
    }

    [Fact]
    public async Task BrokerOnlyLeaderSigkilled_IsFencedWithinTheSession_AndRejoinsTheIsrWhenRestarted()
    {
        const string topic = "led-by-4";
        await using var cluster = await ClusterHarness.StartAsync(3);
        var node4 = await cluster.AddBrokerOnlyAsync(4);
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = 1, ReplicationFactor = -1, ReplicasAssignments = new() { [0] = [4, 1, 2] } }]);
        await cluster.WaitUntilAsync("node 4 leads the topic with a full ISR", () =>
            Task.FromResult(admin.GetMetadata(topic, Timeout).Topics[0] is { Error.IsError: false, Partitions: [{ Leader: 4, InSyncReplicas.Length: 3 }] }));

        var checker = new Checker();
        using var producer = Clients.Producer(cluster.BootstrapServers, Acks.All, idempotent: true, TimeSpan.FromSeconds(60));
        await Clients.ProduceAsync(producer, topic, "before", 1000, checker);
        using var stop = new CancellationTokenSource();
        var load = Clients.LoadAsync(producer, topic, checker, stop.Token);
        await Task.Delay(300);

        var voter = cluster.Node(1);
        var clock = Stopwatch.StartNew();
        await node4.KillAsync();
        await cluster.WaitUntilAsync("node 4 is fenced: a new leader from the ISR", async () =>
            await ClusterHarness.PartitionAsync(voter, topic) is { Leader: 1 or 2 } p && !p.Isr.Contains(4), TimeSpan.FromSeconds(10));
        var fenced = clock.Elapsed;
        // Session timeout 2 s; a killed process's Kafka port refuses connections, so it goes sooner (about 1 s).
        TestContext.Current.TestOutputHelper?.WriteLine($"node 4 fenced and replaced as leader {fenced.TotalMilliseconds:0} ms after its SIGKILL");
        Assert.True(fenced < TimeSpan.FromSeconds(3), $"fenced after {fenced.TotalMilliseconds:0} ms\n{cluster.Logs()}");
        int before = checker.Count;
        await cluster.WaitUntilAsync("produce goes on without node 4", () => Task.FromResult(checker.Count > before + 200), TimeSpan.FromSeconds(20));

        await node4.StartAsync();
        await cluster.WaitUntilAsync("node 4 is back in the ISR", async () =>
            await ClusterHarness.PartitionAsync(voter, topic) is { } p && p.Isr.Contains(4), TimeSpan.FromSeconds(20));
        await stop.CancelAsync();
        await load.WaitAsync(TimeSpan.FromMinutes(1));
        await Clients.ProduceAsync(producer, topic, "after", 200, checker);
        // Registered again after the restart (its output keeps both runs).
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(node4.Output, "joined as a broker-only node"));
        var read = Checker.ReadAll(cluster.BootstrapServers, topic, TimeSpan.FromMinutes(1));
        Assert.True(checker.Verify(read) is null, $"{checker.Verify(read)}\nfenced after {fenced.TotalMilliseconds:0} ms\n{cluster.Logs()}");
    }

    [Fact]
    public async Task BrokerOnlyNode_WithoutAWayInOrADuplicateId_RefusesToStart()
    {
        await using var cluster = await ClusterHarness.StartAsync(3);
        var first = await cluster.AddBrokerOnlyAsync(4);

        var noJoin = await cluster.AddBrokerOnlyAsync(5, join: null, start: false);
        var nowhere = await cluster.AddBrokerOnlyAsync(6, join: "127.0.0.1:" + FerryProcess.FreePort(), start: false);
        var duplicate = await cluster.AddBrokerOnlyAsync(4, start: false);
        var failures = await Task.WhenAll(new[] { noJoin, nowhere, duplicate }.Select(n => Assert.ThrowsAsync<InvalidOperationException>(n.StartAsync)));

        Assert.Contains("exited with 2", failures[0].Message);
        Assert.Contains("a broker-only node needs --join", failures[0].Message);
        Assert.Contains("exited with 2", failures[1].Message);
        Assert.Contains("No --join node answered", failures[1].Message);
        Assert.Contains("exited with 2", failures[2].Message);
        Assert.Contains("registered by another live process", failures[2].Message);

        // The first node 4 kept its registration throughout: alive on every voter, never fenced.
        foreach (var voter in cluster.Nodes.Take(3))
        {
            var status = await ClusterHarness.StatusAsync(voter);
            Assert.True(status!["nodes"]!.AsArray().Single(n => n!["id"]!.GetValue<int>() == 4)!["alive"]!.GetValue<bool>());
            Assert.DoesNotContain(status["nodes"]!.AsArray(), n => n!["id"]!.GetValue<int>() is 5 or 6);
        }
        Assert.DoesNotContain("Node 4 unreachable", cluster.Logs());
        Assert.True(first.IsRunning);

        // The metadata a voter serves broker-only nodes is for holders of the cluster secret only.
        using var http = new HttpClient();
        using var anonymous = await http.GetAsync($"{cluster.Node(1).Http}/internal/cluster/metadata?after=0", TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{cluster.Node(1).Http}/internal/cluster/metadata?after=0");
        request.Headers.Add("Ferry-Cluster-Secret", "not-the-secret");
        using var wrong = await http.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, wrong.StatusCode);
    }
}
