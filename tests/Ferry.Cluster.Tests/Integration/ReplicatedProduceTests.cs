using System.Diagnostics;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ferry.Cluster.Tests.Harness;
using Ferry.Kafka.Tests.Integration;

namespace Ferry.Cluster.Tests.Integration;

/// <summary>
/// The data plane on three real processes with Confluent.Kafka: an idempotent acks=all producer keeps writing
/// while the partition's leader is SIGKILLed; a new leader from the ISR takes over and a checker compares what the
/// producer was told with what a consumer reads: nothing acknowledged lost, nothing duplicated, nothing reordered.
/// </summary>
public sealed class ReplicatedProduceTests
{
    private const string Topic = "acked";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    public ReplicatedProduceTests() => Librdkafka.EnsureLoaded();

    [Fact]
    public async Task LeaderSigkilledUnderIdempotentAcksAll_NothingAcknowledgedIsLostDuplicatedOrReordered()
    {
        await using var cluster = await ClusterHarness.StartAsync(3);
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build())
        {
            await admin.CreateTopicsAsync([new TopicSpecification { Name = Topic, NumPartitions = 1, ReplicationFactor = 3 }]);
            await cluster.WaitUntilAsync("the topic has a leader and a full ISR", () =>
                Task.FromResult(admin.GetMetadata(Topic, Timeout).Topics[0] is { Error.IsError: false, Partitions: [{ Leader: > 0, InSyncReplicas.Length: 3 }] }));
        }
        int leader = LeaderOf(cluster.BootstrapServers);

        var acknowledged = new List<(int Value, long Offset)>();
        var sent = 0;
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            MessageTimeoutMs = 120_000,
            LingerMs = 5,
        }).Build();

        async Task ProduceAsync(int count)
        {
            var inFlight = new List<Task>();
            for (int i = 0; i < count; i++)
            {
                int value = sent++;
                inFlight.Add(producer.ProduceAsync(Topic, new Message<Null, string> { Value = value.ToString(System.Globalization.CultureInfo.InvariantCulture) })
                    .ContinueWith(t =>
                    {
                        if (t.IsCompletedSuccessfully) lock (acknowledged) acknowledged.Add((value, t.Result.Offset.Value));
                    }, TaskScheduler.Default));
                if (inFlight.Count >= 20)
                {
                    await Task.WhenAll(inFlight);
                    inFlight.Clear();
                }
            }
            await Task.WhenAll(inFlight);
        }

        await ProduceAsync(300);
        Assert.Equal(300, acknowledged.Count);

        // SIGKILL the leader in the middle of a stream of sends, just after both followers were frozen for a moment
        // (shorter than the session timeout): whatever the leader took then is on no other node, so it must not
        // have been acknowledged. The producer rides through to the new leader and resends it.
        var load = ProduceAsync(600);
        await Task.Delay(300);
        var followers = cluster.Nodes.Where(n => n.NodeId != leader).ToList();
        foreach (var follower in followers) follower.Pause();
        await Task.Delay(700);
        await cluster.Node(leader).KillAsync();
        foreach (var follower in followers) follower.Resume();
        var killed = Stopwatch.StartNew();
        await load.WaitAsync(TimeSpan.FromMinutes(3));
        // Metadata reaches each node as it applies it: the node asked may answer a moment behind the one that elected.
        int survivorLeader = leader;
        await cluster.WaitUntilAsync("Metadata names a surviving leader", () => Task.FromResult((survivorLeader = LeaderOf(cluster.BootstrapServers)) != leader),
            TimeSpan.FromSeconds(15));
        Assert.NotEqual(leader, survivorLeader);
        await ProduceAsync(100);
        killed.Stop();

        // Read everything back from the survivors and check it against what the producer was told.
        var read = new List<(int Value, long Offset)>();
        using (var consumer = new ConsumerBuilder<Ignore, string>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = "checker",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build())
        {
            consumer.Assign(new TopicPartitionOffset(Topic, 0, Offset.Beginning));
            long end = acknowledged.Max(a => a.Offset);
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while ((read.Count == 0 || read[^1].Offset < end) && DateTime.UtcNow < deadline)
            {
                var result = consumer.Consume(TimeSpan.FromSeconds(1));
                if (result is { IsPartitionEOF: false, Message: not null })
                    read.Add((int.Parse(result.Message.Value, System.Globalization.CultureInfo.InvariantCulture), result.Offset.Value));
            }
        }

        var readValues = read.Select(r => r.Value).ToList();
        var lost = acknowledged.Where(a => !readValues.Contains(a.Value)).Select(a => a.Value).ToList();
        var duplicated = readValues.GroupBy(v => v).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        var reordered = readValues.Zip(readValues.Skip(1)).Count(p => p.Second < p.First);
        var misplaced = acknowledged.Where(a => read.FirstOrDefault(r => r.Value == a.Value) is var r && r.Offset != a.Offset && readValues.Contains(a.Value)).ToList();
        Assert.True(lost.Count == 0 && duplicated.Count == 0 && reordered == 0 && misplaced.Count == 0,
            $"acknowledged {acknowledged.Count} of {sent}; lost {lost.Count} [{string.Join(',', lost.Take(20))}], duplicated {duplicated.Count}, " +
            $"reordered {reordered}, acknowledged at another offset {misplaced.Count}\n{cluster.Logs()}");
        Assert.Equal(1000, acknowledged.Count); // every send was eventually acknowledged (message timeout 120 s)
    }

    private static int LeaderOf(string bootstrap)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        return admin.GetMetadata(Topic, Timeout).Topics[0].Partitions[0].Leader;
    }
}
