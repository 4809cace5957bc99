using System.Diagnostics;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ferry.Cluster.Tests.Harness;
using Ferry.Kafka.Tests.Integration;

namespace Ferry.Cluster.Tests.Integration;

/// <summary>
/// Scenario 2 of issue 13, measured: the time from the partition leader's SIGKILL to the first acknowledged
/// idempotent acks=all produce on the new leader. The bound asserted is loose (the machine running tests is
/// shared); the figure is written to the test output.
/// </summary>
public sealed class FailoverTimeTests(ITestOutputHelper output)
{
    private const string Topic = "failover-time";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task FirstAcknowledgedProduceAfterTheLeadersSigkillComesWithinSeconds()
    {
        Librdkafka.EnsureLoaded();
        await using var cluster = await ClusterHarness.StartAsync(3);
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = Topic, NumPartitions = 1, ReplicationFactor = 3 }]);
        await cluster.WaitUntilAsync("the topic has a leader and a full ISR", () =>
            Task.FromResult(admin.GetMetadata(Topic, Timeout).Topics[0] is { Error.IsError: false, Partitions: [{ Leader: > 0, InSyncReplicas.Length: 3 }] }));
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            MessageTimeoutMs = 60_000,
            LingerMs = 0,
            TopicMetadataRefreshIntervalMs = 1000,
            RetryBackoffMs = 50,
            RetryBackoffMaxMs = 200,
        }).Build();
        for (int i = 0; i < 20; i++) await producer.ProduceAsync(Topic, new Message<Null, string> { Value = "before" });

        int leader = admin.GetMetadata(Topic, Timeout).Topics[0].Partitions[0].Leader;
        await cluster.Node(leader).KillAsync();
        var sinceKill = Stopwatch.StartNew();
        var result = await producer.ProduceAsync(Topic, new Message<Null, string> { Value = "after" });
        var failover = sinceKill.Elapsed;

        Assert.Equal(PersistenceStatus.Persisted, result.Status);
        int next = admin.GetMetadata(Topic, Timeout).Topics[0].Partitions[0].Leader;
        Assert.NotEqual(leader, next);
        output.WriteLine($"failover: leader {leader} SIGKILLed, new leader {next}, first acks=all acknowledgement after {failover.TotalMilliseconds:F0} ms");
        Assert.True(failover < TimeSpan.FromSeconds(30), $"first acknowledgement after {failover}");
    }
}
